/**
 * Helpers for the authoring tests: captures as lines, and `rampart evaluate`'s own judgement
 * (ConnectionTracker node sides + the evaluator) computed independently of core/authoring.
 */
import { ConnectionTracker, parseHubbleLine, type Flow } from '../../../../core/flow/index.js';
import { createEvaluator, parseNetworkPolicy, type NetworkPolicy, type Policy } from '../../../../core/policy/index.js';
import { ObservationSet } from '../../../../core/authoring/index.js';

export function flowsOf(lines: readonly string[]): Flow[] {
  const out: Flow[] = [];
  for (const l of lines) {
    const r = parseHubbleLine(l);
    if (r.ok && r.value.kind === 'flow') out.push(r.value.flow);
  }
  return out;
}

export function observe(flows: readonly Flow[]): ObservationSet {
  const obs = new ObservationSet();
  for (const f of flows) obs.addFlow(f);
  return obs;
}

/** What `rampart evaluate` would print for these flows, counted. */
export function judge(policies: readonly Policy[], flows: readonly Flow[]): { allow: number; deny: number; indeterminate: number; denied: Flow[] } {
  const ev = createEvaluator(policies);
  const tracker = new ConnectionTracker();
  const out = { allow: 0, deny: 0, indeterminate: 0, denied: [] as Flow[] };
  for (const f of flows) {
    const c = tracker.classify(f);
    if (c.kind === 'skip') continue;
    const e = ev.evaluate(f, c);
    out[e.verdict]++;
    if (e.verdict === 'deny') out.denied.push(f);
  }
  return out;
}

export function parsePolicies(manifests: readonly unknown[]): NetworkPolicy[] {
  return manifests.map((m, i) => {
    const r = parseNetworkPolicy(m, `[${i}]`);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    return r.value;
  });
}

type Obj = Record<string, unknown>;
/** Every matchLabels key anywhere in the manifests (podSelector and peers). */
export function selectorKeys(manifests: readonly unknown[]): Set<string> {
  const keys = new Set<string>();
  const walk = (v: unknown, parent: string): void => {
    if (Array.isArray(v)) for (const x of v) walk(x, parent);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v as Obj)) {
        if (k === 'matchLabels' && parent !== 'namespaceSelector') for (const key of Object.keys(x as Obj)) keys.add(key);
        walk(x, k);
      }
    }
  };
  walk(manifests, '');
  return keys;
}
