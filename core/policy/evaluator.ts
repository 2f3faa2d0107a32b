/**
 * An evaluator per policy set: the set is compiled once when the evaluator is created, and the
 * evaluator owns everything evaluation remembers (endpoint facts, side results, combined
 * evaluations, parsed IPs, scratch space), bounded by its memo budget. Nothing is shared
 * between evaluators and nothing outside one clears its tables: dropping the evaluator drops
 * its memory.
 */
import type { Flow } from '../flow/index.js';
import { createCaches, MAX_RESULTS } from './cache.js';
import { compilePolicies } from './compile.js';
import type { Membership } from './compiled.js';
import { evaluateWith } from './evaluate.js';
import { createMatchContext, type MatchContext } from './match.js';
import type { Policy } from './policy.js';
import type { EvaluateOptions, EvaluatedSides, Evaluation } from './verdict.js';

export interface PolicyEvaluator {
  readonly policies: readonly Policy[];
  /**
   * Evaluates a connection start. `sides` says which sides this node decides (egress where
   * `source.ID` is set, ingress where `destination.ID` is set); a side is `none` when not
   * requested or when its endpoint is not a pod. Returned objects are frozen and may be shared
   * between calls.
   */
  evaluate(flow: Flow, sides: EvaluatedSides, options?: EvaluateOptions): Evaluation;
  /** memoised results held now and how often the budget dropped them */
  memoStats(): { readonly held: number; readonly releases: number };
}

export interface EvaluatorOptions {
  /**
   * Most side results memoised at once (default 65,536, about 1 KB each with their reasons);
   * over it every memo is dropped: recomputation costs CPU, never correctness. 0: no side result
   * is memoised, while each endpoint's facts and candidate policies still are (bounded).
   */
  readonly memoBudget?: number;
  /**
   * false: evaluations carry their verdicts only (`policies` empty, `reason` ''), for callers
   * that count verdicts and never show why (the agent). Saves building a reason string per side
   * result and per pair; the verdicts are the same. Default true.
   */
  readonly reasons?: boolean;
}

/** The implementation, with what baseline.ts needs beyond the public interface. */
export class CompiledEvaluator implements PolicyEvaluator {
  readonly policies: readonly Policy[];
  private readonly context: MatchContext;

  /**
   * `proposedFrom`: policies from this index on are a proposal on top of a baseline (the
   * ones before): each evaluation then also yields the baseline's own (`baselineEvaluation`).
   */
  constructor(policies: readonly Policy[], options?: EvaluatorOptions, membership?: readonly Membership[]) {
    const budget = options?.memoBudget ?? MAX_RESULTS;
    if (!Number.isInteger(budget) || budget < 0) throw new Error(`memoBudget must be a non-negative integer, got ${budget}`);
    this.policies = policies;
    this.context = createMatchContext(compilePolicies(policies, membership), createCaches(budget), options?.reasons ?? true);
  }

  /** After `evaluate` on a change set: the same connection under *before*. */
  beforeEvaluation(): Evaluation {
    const e = this.context.baseEvaluation;
    if (e === null) throw new Error('beforeEvaluation() needs a change set and a prior evaluate()');
    return e;
  }

  evaluate(flow: Flow, sides: EvaluatedSides, options?: EvaluateOptions): Evaluation {
    return evaluateWith(this.context, flow, sides, options);
  }

  memoStats(): { readonly held: number; readonly releases: number } {
    const caches = this.context.caches;
    return { held: caches.results, releases: caches.releases };
  }

}

/** Compiles `policies` (from `parseNetworkPolicy` / `parseCiliumPolicy`) into a new evaluator. Throws only on a hand-built model with an invalid CIDR. */
export function createEvaluator(policies: readonly Policy[], options?: EvaluatorOptions): PolicyEvaluator {
  return new CompiledEvaluator(policies, options);
}
