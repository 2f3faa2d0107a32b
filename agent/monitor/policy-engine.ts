/**
 * The real PolicyEngine: core/policy's parser and evaluators. Each contract's manifests are
 * parsed (every problem collected, paths like `[2].spec.ingress[0].ports[0].port`) and
 * compiled once per contract set into an evaluator that owns its memo tables, never per flow.
 */
import { err, ok, type Problem } from '../../core/common/index.js';
import { createEvaluator, parseNetworkPolicy, type NetworkPolicy, type PolicyEvaluator } from '../../core/policy/index.js';
import type { PolicyEngine } from './ports.js';

/**
 * Side results each contract's evaluator may keep memoised. Core's default (65,536 results,
 * about 1 KB each with their reasons) is far more than an agent with many contracts under a
 * cardinality flood may use. The pipeline's VerdictMemo answers repeated connections before
 * the evaluator is asked, so this memo only serves first sightings; the benchmark's 20
 * contracts over the captures hold about 40 results in all. Kept small so that, under a
 * flood, its entries die young instead of filling V8's old space.
 */
export const AGENT_MEMO_BUDGET = 64;

export const networkPolicyEngine: PolicyEngine<PolicyEvaluator> = {
  compile(manifests) {
    const problems: Problem[] = [];
    const policies: NetworkPolicy[] = [];
    manifests.forEach((raw, i) => {
      const r = parseNetworkPolicy(raw, `[${i}]`);
      if (r.ok) policies.push(r.value);
      else problems.push(...r.error);
    });
    if (problems.length > 0) return err(problems);
    try {
      return ok(createEvaluator(policies, { memoBudget: AGENT_MEMO_BUDGET }));
    } catch (e) {
      return err([{ path: '', message: `compile failed: ${e instanceof Error ? e.message : String(e)}` }]);
    }
  },
  // The Evaluation is returned as is (no copy on the hot path); it carries egress and ingress.
  evaluate: (evaluator, flow, sides) => evaluator.evaluate(flow, sides),
};
