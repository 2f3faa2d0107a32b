/**
 * Properties over random clusters and traffic (fast-check):
 * - suggest, then evaluate over the same flows, never denies, and every rule admits a flow;
 * - a fix unblocks exactly its edges: every denied flow it was given is allowed after it, and
 *   any flow whose verdict changes lies on one of the fixed edges (same workloads, port,
 *   protocol), so nothing else is opened; existing policies are left as they were.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BOTH_SIDES, ObservationSet, smallestFix, suggestFromObservations } from '../../../../core/authoring/index.js';
import { flowEdge, type Flow, type PodEndpoint } from '../../../../core/flow/index.js';
import { createEvaluator } from '../../../../core/policy/index.js';
import { aFlow, aPod, anExternal, tcp, udp } from '../../../support/builders.js';
import { judge, parsePolicies } from './support.js';

const NAMESPACES = ['a', 'b', 'c'];

interface World {
  readonly pods: readonly PodEndpoint[];
}

/** Workloads with distinct app labels, sometimes a per-pod label, and a kube-dns server. */
const worldArb: fc.Arbitrary<World> = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...NAMESPACES), fc.integer({ min: 0, max: 20 }), fc.boolean()), { minLength: 2, maxLength: 8, selector: ([ns, n]) => `${ns}/${n}` })
  .map((ws) => ({
    pods: [
      ...ws.map(([ns, n, perPod]) =>
        aPod({
          namespace: ns,
          name: `w${n}-0`,
          labels: perPod ? { app: `w${n}`, 'statefulset.kubernetes.io/pod-name': `w${n}-0` } : { app: `w${n}`, tier: n % 2 === 0 ? 'even' : 'odd' },
          workloads: [{ name: `w${n}`, kind: perPod ? 'StatefulSet' : 'Deployment' }],
        }),
      ),
      aPod({ namespace: 'kube-system', name: 'coredns-0', labels: { 'k8s-app': 'kube-dns' }, workloads: [{ name: 'coredns', kind: 'Deployment' }] }),
    ],
  }));

type Conn = { from: number; to: number | 'external' | 'dns'; port: number; udp: boolean; ip: number };
const connArb = fc.record({ from: fc.nat(), to: fc.oneof(fc.nat(), fc.constant('external' as const), fc.constant('dns' as const)), port: fc.constantFrom(80, 443, 5432, 8080, 9000), udp: fc.boolean(), ip: fc.integer({ min: 1, max: 6 }) });

let sport = 30000;
function toFlow(world: World, c: Conn): Flow {
  const apps = world.pods.slice(0, -1);
  const src = apps[c.from % apps.length]!;
  sport = sport >= 60000 ? 30000 : sport + 1;
  if (c.to === 'dns') return aFlow({ source: src, destination: world.pods.at(-1)!, l4: udp(53, sport), ip: { source: '10.0.0.1', destination: '10.0.9.9', version: 4 } });
  if (c.to === 'external') return aFlow({ source: src, destination: anExternal(), l4: tcp(c.port, { sourcePort: sport }), ip: { source: '10.0.0.1', destination: `198.51.100.${c.ip}`, version: 4 } });
  const dst = apps[c.to % apps.length]!;
  return aFlow({ source: src, destination: dst, l4: c.udp ? udp(c.port, sport) : tcp(c.port, { sourcePort: sport }), ip: { source: '10.0.0.1', destination: '10.0.0.2', version: 4 } });
}

const edgeKey = (f: Flow): string => {
  const e = flowEdge(f);
  return `${e.from}|${e.to}|${e.port}|${e.protocol}`;
};

describe('authoring properties', () => {
  it('suggest then evaluate is always clean, and every rule admits a flow', () => {
    fc.assert(
      fc.property(worldArb, fc.array(connArb, { minLength: 1, maxLength: 40 }), (world, conns) => {
        const flows = conns.map((c) => toFlow(world, c));
        const obs = new ObservationSet();
        for (const f of flows) obs.addFlow(f);
        const r = suggestFromObservations(obs, {});
        // suggest's own checks (no deny, every rule used) return an error, never a contract.
        if (!r.ok) throw new Error(JSON.stringify(r.error));
        const policies = parsePolicies(r.value.policies);
        expect(judge(policies, flows).deny).toBe(0);
        const ev = createEvaluator(policies);
        for (const f of flows) expect(ev.evaluate(f, BOTH_SIDES).verdict).not.toBe('deny');
      }),
      { numRuns: 60 },
    );
  });

  it('a fix unblocks exactly its edges and nothing else', () => {
    fc.assert(
      fc.property(worldArb, fc.array(connArb, { minLength: 1, maxLength: 25 }), fc.array(connArb, { minLength: 1, maxLength: 25 }), fc.array(connArb, { minLength: 1, maxLength: 40 }), (world, known, later, probe) => {
        // The policies under test: suggested from the first traffic only.
        const obs = new ObservationSet();
        const knownFlows = known.map((c) => toFlow(world, c));
        for (const f of knownFlows) obs.addConnection(f);
        const s = suggestFromObservations(obs, {});
        if (!s.ok) throw new Error(JSON.stringify(s.error));
        const policies = s.value.parsed;
        const before = createEvaluator(policies);
        const laterFlows = later.map((c) => toFlow(world, c));
        const denied = laterFlows.filter((f) => before.evaluate(f, BOTH_SIDES).verdict === 'deny');
        const fix = smallestFix(policies, denied, knownFlows);
        if (!fix.ok) throw new Error(JSON.stringify(fix.error));
        expect(fix.value.unfixable).toEqual([]);
        const after = createEvaluator([...policies, ...fix.value.parsed]);
        for (const f of denied) expect(after.evaluate(f, BOTH_SIDES).verdict).toBe('allow');
        const fixed = new Set(denied.map(edgeKey));
        for (const f of probe.map((c) => toFlow(world, c))) {
          const a = before.evaluate(f, BOTH_SIDES);
          const b = after.evaluate(f, BOTH_SIDES);
          if (a.egress !== b.egress || a.ingress !== b.ingress) expect(fixed.has(edgeKey(f)), `changed ${edgeKey(f)}`).toBe(true);
        }
        // New policies only: names never collide with existing ones.
        const names = new Set(policies.map((p) => `${p.namespace}/${p.name}`));
        for (const p of fix.value.parsed) expect(names.has(`${p.namespace}/${p.name}`)).toBe(false);
      }),
      { numRuns: 60 },
    );
  });
});
