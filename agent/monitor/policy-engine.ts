/**
 * The real PolicyEngine: core/policy's parser, compiler and evaluator. Each contract's
 * manifests are parsed (every problem collected, paths like `[2].spec.ingress[0].ports[0].port`)
 * and compiled once per contract set, never per flow.
 */
import { err, ok, type Problem } from '../../core/common/index.js';
import { parseNetworkPolicy, type NetworkPolicy } from '../../core/policy/index.js';
import { compilePolicies, type CompiledPolicySet } from '../../core/policy/compile.js';
import { evaluateConnection } from '../../core/policy/evaluate.js';
import type { PolicyEngine } from './ports.js';

/**
 * Side results the evaluator may keep memoised, summed over every compiled set the agent
 * evaluates with. Core bounds each set on its own (65,536 results, about 1 KB each with their
 * reasons): for an agent with many contracts under a cardinality flood that is far more than
 * it may use. The pipeline's VerdictMemo answers repeated connections before the evaluator is
 * asked, so this memo only serves first sightings; the benchmark's 20 contracts over the
 * captures hold about 40 results. Kept small so that, under a flood, its entries die young
 * instead of filling V8's old space.
 */
export const AGENT_MEMO_BUDGET = 256;

/**
 * Sets holding memoised results, and how many they hold together. Weakly: a set replaced by a
 * newer contract set is not kept alive by this; its results stay counted until the next
 * release, which only makes that release come sooner.
 */
let holding: WeakRef<CompiledPolicySet>[] = [];
let registered = new WeakSet<CompiledPolicySet>();
let held = 0;
let releases = 0;

/** Memoised results held now, and how often the budget made the agent drop them all. */
export function memoStats(): { readonly held: number; readonly releases: number } {
  return { held, releases };
}

/** Drops every memo (as core does at its own bound): recomputation costs CPU, never correctness. */
function releaseMemos(): void {
  for (const ref of holding) {
    const set = ref.deref();
    if (set === undefined) continue;
    set.caches.endpoints.clear();
    set.caches.results = 0;
  }
  holding = [];
  registered = new WeakSet();
  held = 0;
  releases++;
}

export const networkPolicyEngine: PolicyEngine<CompiledPolicySet> = {
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
      return ok(compilePolicies(policies));
    } catch (e) {
      return err([{ path: '', message: `compile failed: ${e instanceof Error ? e.message : String(e)}` }]);
    }
  },
  // The Evaluation is returned as is (no copy on the hot path); it carries egress and ingress.
  evaluate: (set, flow, sides) => {
    const before = set.caches.results;
    const evaluation = evaluateConnection(set, flow, sides);
    const after = set.caches.results;
    if (after !== before) {
      held += after - before;
      if (!registered.has(set)) {
        registered.add(set);
        holding.push(new WeakRef(set));
      }
      if (held > AGENT_MEMO_BUDGET) releaseMemos();
    }
    return evaluation;
  },
};
