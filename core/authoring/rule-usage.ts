/**
 * Which flows each rule admits, decided by the real engine: every rule is compiled alone in a
 * policy with its owner's podSelector and that one direction, and a flow counts for the rule
 * when that policy selects the flow's pod on that side and admits it. Used to prove that every
 * suggested rule admits a flow, and by `audit` for unused, over-broad and redundant rules.
 */
import type { Flow } from '../flow/index.js';
import { policyRef, type NetworkPolicy } from '../policy/index.js';
import { evaluatorFor } from './engine.js';
import type { Direction } from './observe.js';

export interface RuleUsage {
  /** `ns/name`. */
  readonly policy: string;
  readonly direction: Direction;
  readonly index: number;
  /** Flows this rule admits. */
  count: number;
  /** Up to `maxSamples` of them. */
  readonly samples: Flow[];
}

/** The namespace whose policies can decide a flow's side. */
function sideNamespace(flow: Flow, direction: Direction): string | null {
  const e = direction === 'egress' ? flow.source : flow.destination;
  if (e.kind === 'pod') return e.namespace;
  if (e.kind === 'unknown') return e.namespace;
  return null;
}

/** Groups flows by (direction, namespace of the deciding side) so a rule only looks at flows it could decide. */
export function indexFlows(flows: Iterable<Flow>): Map<string, Flow[]> {
  const out = new Map<string, Flow[]>();
  for (const f of flows) {
    for (const d of ['egress', 'ingress'] as const) {
      const ns = sideNamespace(f, d);
      if (ns === null) continue;
      const key = `${d}\u0000${ns}`;
      const list = out.get(key) ?? [];
      list.push(f);
      out.set(key, list);
    }
  }
  return out;
}

export function ruleUsage(policies: readonly NetworkPolicy[], byNamespace: ReadonlyMap<string, readonly Flow[]>, maxSamples = 50): RuleUsage[] {
  const out: RuleUsage[] = [];
  for (const p of policies) {
    for (const direction of ['ingress', 'egress'] as const) {
      if (!p.policyTypes.includes(direction === 'ingress' ? 'Ingress' : 'Egress')) continue;
      const rules = direction === 'ingress' ? p.ingress : p.egress;
      const flows = byNamespace.get(`${direction}\u0000${p.namespace}`) ?? [];
      rules.forEach((rule, index) => {
        const alone: NetworkPolicy = {
          namespace: p.namespace,
          name: p.name,
          podSelector: p.podSelector,
          policyTypes: [direction === 'ingress' ? 'Ingress' : 'Egress'],
          ingress: direction === 'ingress' ? [rule] : [],
          egress: direction === 'egress' ? [rule] : [],
        };
        const ev = evaluatorFor([alone]);
        const ref = policyRef(p);
        const usage: RuleUsage = { policy: ref, direction, index, count: 0, samples: [] };
        const sides = { egress: direction === 'egress', ingress: direction === 'ingress' };
        for (const f of flows) {
          const e = ev.evaluate(f, sides);
          if (e.verdict === 'allow' && e.policies.includes(ref)) {
            usage.count++;
            if (usage.samples.length < maxSamples) usage.samples.push(f);
          }
        }
        out.push(usage);
      });
    }
  }
  return out;
}
