/**
 * The real PolicyEngine: core/policy's parser and evaluators. Each contract's manifests are
 * parsed (every problem collected, paths like `[2].spec.ingress[0].ports[0].port`) and
 * compiled once per contract set into an evaluator that owns its memo tables, never per flow.
 * With a baseline (the policies in force the contract did not write) the contract is
 * compiled as a change of it once per (baseline, contract) pair: *before* = the baseline,
 * *after* = the baseline less what the contract replaces or removes, plus its policies; each
 * side's outcome is that change. With none, the contract's own verdicts, exactly as before.
 */
import { err, ok, type Problem } from '../../core/common/index.js';
import {
  createChangeEvaluator,
  createEvaluator,
  isHostPolicyManifest,
  parsePolicy,
  type ChangeEvaluator,
  type Policy,
  type PolicyEvaluator,
  type SideChange,
  type SideVerdict,
} from '../../core/policy/index.js';
import type { ConnectionVerdict, PolicyEngine, SideResult } from './ports.js';

/**
 * Side results each evaluator may keep memoised: none. The pipeline's VerdictMemo answers
 * repeated connections before the evaluator is asked, so this memo would only serve first
 * sightings (the benchmark's 20 contracts over the captures hold about 40 results in all),
 * and under a flood of new pairs its per-peer tables only churned (they filled V8's old space:
 * a quarter of what a flood flow left there). Each endpoint's facts and candidate policies are
 * still kept by the evaluator (bounded), so no selector is matched twice for one identity.
 */
export const AGENT_MEMO_BUDGET = 0;

/** A contract compiled for the pipeline: alone, or on top of its baseline. */
export type ContractEvaluator = { readonly kind: 'plain'; readonly evaluator: PolicyEvaluator } | { readonly kind: 'baseline'; readonly evaluator: ChangeEvaluator };

const OUTCOMES: readonly SideResult[] = ['allow', 'deny', 'indeterminate', 'none', 'already-denied', 'newly-allowed'];
const code = (r: SideResult): number => OUTCOMES.indexOf(r);
/** Every (egress, ingress) pair as one frozen object: the hot path allocates no verdicts. */
const VERDICTS: readonly (readonly ConnectionVerdict[])[] = OUTCOMES.map((egress) => OUTCOMES.map((ingress) => Object.freeze({ egress, ingress })));
const verdictOf = (egress: SideResult, ingress: SideResult): ConnectionVerdict => VERDICTS[code(egress)]![code(ingress)]!;

/** A side's outcome for the gates: the change against the baseline, `deny` meaning newly denied. */
function outcomeOf(change: SideChange, after: SideVerdict | 'none'): SideResult {
  switch (change) {
    case 'newly-denied':
      return 'deny';
    case 'same':
      return after;
    default:
      return change;
  }
}

function parseAll(manifests: readonly unknown[], prefix: string, problems: Problem[], skip: (raw: unknown) => boolean = () => false): Policy[] {
  const policies: Policy[] = [];
  manifests.forEach((raw, i) => {
    if (skip(raw)) return;
    const r = parsePolicy(raw, `${prefix}[${i}]`);
    if (r.ok) policies.push(r.value);
    else problems.push(...r.error);
  });
  return policies;
}

export const networkPolicyEngine: PolicyEngine<ContractEvaluator> = {
  compile(manifests, baselineManifests = [], removed = []) {
    const problems: Problem[] = [];
    const policies = parseAll(manifests, '', problems);
    // A host policy in force governs no pod side: left out, it cannot block every contract.
    const baseline = parseAll(baselineManifests, 'baseline', problems, isHostPolicyManifest);
    if (problems.length > 0) return err(problems);
    try {
      // The pipeline reads the verdicts only (ConnectionVerdict): no reason strings are built.
      const options = { memoBudget: AGENT_MEMO_BUDGET, reasons: false };
      if (baselineManifests.length === 0) return ok({ kind: 'plain', evaluator: createEvaluator(policies, options) });
      return ok({ kind: 'baseline', evaluator: createChangeEvaluator({ baseline, proposed: policies, removed }, options) });
    } catch (e) {
      return err([{ path: '', message: `compile failed: ${e instanceof Error ? e.message : String(e)}` }]);
    }
  },
  evaluate(compiled, flow, sides) {
    // Without a baseline the Evaluation is returned as is (no copy on the hot path).
    if (compiled.kind === 'plain') return compiled.evaluator.evaluate(flow, sides);
    const r = compiled.evaluator.evaluate(flow, sides);
    return verdictOf(outcomeOf(r.egress, r.after.egress), outcomeOf(r.ingress, r.after.ingress));
  },
};
