/**
 * Brownfield verdicts (product.md "What is already enforced: the baseline"): a contract C is
 * judged against the policies already in force. Per connection side, the verdict under the
 * baseline alone and under baseline ∪ C, and what C changes:
 * - `newly-denied` (C's would-deny): allowed under the baseline, denied under baseline ∪ C;
 * - `already-denied`: the baseline alone denies it, and so does baseline ∪ C (never C's fault);
 * - `newly-allowed`: the baseline denies it, baseline ∪ C allows it (C broadens access);
 * - `same`: allowed under both; `indeterminate`: undecided under either set; `none`: no side.
 *
 * baseline ∪ C is compiled once, when the evaluator is created, with C's policies marked; each
 * side is evaluated in one pass that yields both verdicts. Fast path: where no policy of C may
 * select the endpoint in a direction, the union's candidates for that side are the baseline's,
 * so the side is decided once and its combined verdict is the baseline's.
 */
import type { Flow } from '../flow/index.js';
import { CompiledEvaluator, type EvaluatorOptions } from './evaluator.js';
import type { Policy } from './policy.js';
import type { EvaluateOptions, EvaluatedSides, Evaluation, SideVerdict } from './verdict.js';

export type Change = 'same' | 'newly-denied' | 'newly-allowed';
export type SideChange = 'same' | 'newly-denied' | 'newly-allowed' | 'already-denied' | 'indeterminate' | 'none';

export interface BaselineEvaluation {
  /** under the baseline alone */
  readonly baseline: Evaluation;
  /** under baseline ∪ proposed */
  readonly combined: Evaluation;
  readonly egress: SideChange;
  readonly ingress: SideChange;
  /** newly-denied if any side is; else newly-allowed if any side is; else same */
  readonly change: Change;
}

export interface BaselineEvaluator {
  evaluate(flow: Flow, sides: EvaluatedSides, options?: EvaluateOptions): BaselineEvaluation;
}

/** How one side changes from the baseline alone to baseline ∪ proposed. */
export function sideChange(baseline: SideVerdict | 'none', combined: SideVerdict | 'none'): SideChange {
  // Both sets see the same endpoints, so a side is `none` under both or under neither.
  if (baseline === 'none' || combined === 'none') return 'none';
  if (baseline === 'indeterminate' || combined === 'indeterminate') return 'indeterminate';
  if (baseline === 'allow') return combined === 'allow' ? 'same' : 'newly-denied';
  return combined === 'allow' ? 'newly-allowed' : 'already-denied';
}

function judge(baseline: Evaluation, combined: Evaluation): BaselineEvaluation {
  const egress = sideChange(baseline.egress, combined.egress);
  const ingress = sideChange(baseline.ingress, combined.ingress);
  const change: Change =
    egress === 'newly-denied' || ingress === 'newly-denied' ? 'newly-denied' : egress === 'newly-allowed' || ingress === 'newly-allowed' ? 'newly-allowed' : 'same';
  return Object.freeze({ baseline, combined, egress, ingress, change });
}

/** Judgements per pair of (shared, frozen) evaluations kept before a table is cleared. */
const JUDGEMENTS_PER_BASELINE_MAX = 256;

class PairedEvaluator implements BaselineEvaluator {
  /** baseline ∪ proposed, compiled once; each evaluation also yields the baseline's own. */
  private readonly union: CompiledEvaluator;
  private readonly hasProposal: boolean;
  /** Judgements by baseline evaluation then combined evaluation (both memoised by the evaluator). */
  private readonly judged = new WeakMap<Evaluation, Map<Evaluation, BaselineEvaluation>>();

  constructor(baseline: readonly Policy[], proposed: readonly Policy[], options?: EvaluatorOptions) {
    this.union = new CompiledEvaluator([...baseline, ...proposed], options, baseline.length);
    this.hasProposal = proposed.length > 0;
  }

  evaluate(flow: Flow, sides: EvaluatedSides, options?: EvaluateOptions): BaselineEvaluation {
    const combined = this.union.evaluate(flow, sides, options);
    const baseline = this.hasProposal ? this.union.baselineEvaluation() : combined;
    let byCombined = this.judged.get(baseline);
    const hit = byCombined?.get(combined);
    if (hit !== undefined) return hit;
    const result = judge(baseline, combined);
    if (byCombined === undefined) {
      byCombined = new Map();
      this.judged.set(baseline, byCombined);
    } else if (byCombined.size >= JUDGEMENTS_PER_BASELINE_MAX) byCombined.clear();
    byCombined.set(combined, result);
    return result;
  }
}

/**
 * An evaluator of `proposed` on top of `baseline` (both from `parseNetworkPolicy`), compiled
 * once. The union is taken as given: a caller whose proposal replaces a baseline policy of the
 * same namespace/name leaves that one out of `baseline`.
 */
export function createBaselineEvaluator(baseline: readonly Policy[], proposed: readonly Policy[], options?: EvaluatorOptions): BaselineEvaluator {
  return new PairedEvaluator(baseline, proposed, options);
}
