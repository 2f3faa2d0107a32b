/**
 * Properties of NetworkPolicy semantics that must hold for any policy set (fast-check):
 * order independence, additivity, namespace scoping, and sides evaluated independently;
 * and of brownfield verdicts (baseline alone vs baseline ∪ proposed).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Flow } from '../../../../core/flow/index.js';
import { createChangeEvaluator, createEvaluator, identityKey, identityOf, parseNetworkPolicy, sideChange, type Evaluation, type NetworkPolicy } from '../../../../core/policy/index.js';
import { referenceSide } from './reference.js';
import { aFlow, aPod, anExternal, icmpv4, sctp, tcp, udp } from '../../../support/builders.js';

const NAMESPACES = ['shop', 'other'] as const;

const PODS = [
  aPod({ namespace: 'shop', labels: { app: 'web', tier: 'front' }, namespaceLabels: { team: 'a' }, identity: 101 }),
  aPod({ namespace: 'shop', labels: { app: 'api', tier: 'back' }, namespaceLabels: { team: 'a' }, identity: 102 }),
  aPod({ namespace: 'shop', labels: { app: 'db' }, namespaceLabels: { team: 'a' }, identity: 103 }),
  aPod({ namespace: 'other', labels: { app: 'web' }, namespaceLabels: { team: 'b' }, identity: 201 }),
  aPod({ namespace: 'other', labels: { app: 'api', tier: 'back' }, namespaceLabels: { team: 'b', env: 'prod' }, identity: 202 }),
  aPod({ namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, identity: 301 }),
];
const EXTERNAL_IPS = ['10.1.2.3', '10.200.0.1', '192.0.2.10', '10.1.0.0', '10.1.255.255', '10.255.255.255', '10.1.2.255', '11.0.0.0', '9.255.255.255'];

const podSelectorArb = fc.constantFrom<Record<string, unknown>>(
  {},
  { matchLabels: { app: 'web' } },
  { matchLabels: { app: 'api' } },
  { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['back'] }] },
  { matchExpressions: [{ key: 'tier', operator: 'Exists' }] },
);
const nsSelectorArb = fc.constantFrom<Record<string, unknown>>(
  {},
  { matchLabels: { team: 'a' } },
  { matchExpressions: [{ key: 'env', operator: 'DoesNotExist' }] },
  { matchLabels: { 'kubernetes.io/metadata.name': 'other' } },
);
const peerArb = fc.oneof(
  podSelectorArb.map((podSelector) => ({ podSelector })),
  nsSelectorArb.map((namespaceSelector) => ({ namespaceSelector })),
  fc.tuple(podSelectorArb, nsSelectorArb).map(([podSelector, namespaceSelector]) => ({ podSelector, namespaceSelector })),
  fc.constantFrom({ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }, { ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '10.1.2.0/24' } }),
);
const portArb = fc.constantFrom<Record<string, unknown>>({ port: 80 }, { port: 8000, endPort: 8080 }, { protocol: 'UDP' }, { port: 53, protocol: 'UDP' }, {}, { protocol: 'SCTP', port: 3868 });
const ruleArb = (peersKey: 'from' | 'to'): fc.Arbitrary<Record<string, unknown>> =>
  fc.record({ peers: fc.option(fc.array(peerArb, { maxLength: 2 }), { nil: undefined }), ports: fc.option(fc.array(portArb, { maxLength: 2 }), { nil: undefined }) }).map(({ peers, ports }) => ({
    ...(peers === undefined ? {} : { [peersKey]: peers }),
    ...(ports === undefined ? {} : { ports }),
  }));

interface SpecParts {
  readonly podSelector: Record<string, unknown>;
  readonly policyTypes: readonly string[] | undefined;
  readonly ingress: readonly Record<string, unknown>[] | undefined;
  readonly egress: readonly Record<string, unknown>[] | undefined;
}
const specArb: fc.Arbitrary<SpecParts> = fc.record({
  podSelector: podSelectorArb,
  policyTypes: fc.option(fc.constantFrom(['Ingress'], ['Egress'], ['Ingress', 'Egress']), { nil: undefined }),
  ingress: fc.option(fc.array(ruleArb('from'), { maxLength: 2 }), { nil: undefined }),
  egress: fc.option(fc.array(ruleArb('to'), { maxLength: 2 }), { nil: undefined }),
});

let counter = 0;
function build(namespace: string, spec: SpecParts): NetworkPolicy {
  const raw = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `p${counter++}`, namespace }, spec: JSON.parse(JSON.stringify(spec)) as unknown };
  const r = parseNetworkPolicy(raw, '');
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}
const policyArb = fc.tuple(fc.constantFrom(...NAMESPACES), specArb).map(([ns, spec]) => build(ns, spec));
const policiesArb = fc.array(policyArb, { maxLength: 6 });

const endpointArb = fc.oneof(
  fc.constantFrom(...PODS).map((e) => ({ endpoint: e as Flow['source'], ip: `10.244.0.${e.identity % 250}` })),
  fc.constantFrom(...EXTERNAL_IPS).map((ip) => ({ endpoint: anExternal() as Flow['source'], ip })),
);
const l4Arb = fc.constantFrom(tcp(80), tcp(8080), tcp(8000), tcp(7999), tcp(8081), tcp(8042), udp(53), udp(5353), sctp(3868), sctp(80), icmpv4());
const flowArb = fc.tuple(endpointArb, endpointArb, l4Arb).map(([s, d, l4]) =>
  aFlow({ source: s.endpoint, destination: d.endpoint, l4, ip: { source: s.ip, destination: d.ip, version: 4 } }),
);
const flowsArb = fc.array(flowArb, { minLength: 1, maxLength: 8 });

const BOTH = { egress: true, ingress: true };
const evalAll = (policies: readonly NetworkPolicy[], flows: readonly Flow[]): Evaluation[] => {
  const set = createEvaluator(policies);
  return flows.map((f) => set.evaluate(f, BOTH));
};
const shape = (e: Evaluation): string => `${e.verdict}/${e.egress}/${e.ingress}`;

describe('policy engine properties', () => {
  it('the verdict is independent of policy order', () => {
    fc.assert(
      fc.property(policiesArb, flowsArb, fc.integer(), (policies, flows, seed) => {
        const shuffled = [...policies].sort((a, b) => ((a.name.length * 31 + seed) % 7) - ((b.name.length * 17 + seed) % 5));
        const a = evalAll(policies, flows);
        const b = evalAll([...shuffled].reverse(), flows);
        expect(b.map(shape)).toEqual(a.map(shape));
        expect(b.map((e) => [...e.policies].sort())).toEqual(a.map((e) => [...e.policies].sort()));
      }),
      { numRuns: 300 },
    );
  });

  it('adding an allow policy that isolates nothing new never turns a side from allowed to denied', () => {
    const rawArb = fc.tuple(fc.constantFrom(...NAMESPACES), specArb);
    fc.assert(
      fc.property(fc.array(rawArb, { minLength: 1, maxLength: 5 }), fc.nat(), specArb, flowsArb, (raws, pick, extraSpec, flows) => {
        const policies = raws.map(([ns, spec]) => build(ns, spec));
        // Same namespace, podSelector and effective policyTypes as an existing policy: it
        // isolates exactly the same pods in the same directions, and only adds rules.
        const [twinNs, twinSpec] = raws[pick % raws.length]!;
        const twin = policies[pick % raws.length]!;
        // Cilium enforces rules of a direction missing from policyTypes (netpol.md 4.1): the
        // extra policy keeps rules only in the directions the twin already isolates.
        const twinIngress = twin.policyTypes.includes('Ingress') || (twin.unlistedIngress?.length ?? 0) > 0;
        const twinEgress = twin.policyTypes.includes('Egress') || (twin.unlistedEgress?.length ?? 0) > 0;
        const extra = build(twinNs, {
          ...extraSpec,
          podSelector: twinSpec.podSelector,
          policyTypes: twin.policyTypes,
          ...(twinIngress ? {} : { ingress: [] }),
          ...(twinEgress ? {} : { egress: [] }),
        });
        const before = evalAll(policies, flows);
        const after = evalAll([...policies, extra], flows);
        before.forEach((b, i) => {
          const a = after[i]!;
          for (const side of ['egress', 'ingress'] as const) {
            if (b[side] === 'allow') expect(a[side]).toBe('allow');
            if (b[side] !== 'deny') expect(a[side]).not.toBe('deny');
          }
        });
      }),
      { numRuns: 300 },
    );
  });

  it('a policy selecting no pod changes nothing', () => {
    fc.assert(
      fc.property(policiesArb, fc.constantFrom(...NAMESPACES), specArb, flowsArb, (policies, ns, spec, flows) => {
        const inert = build(ns, { ...spec, podSelector: { matchLabels: { app: 'no-such-app' } } });
        expect(evalAll([...policies, inert], flows).map(shape)).toEqual(evalAll(policies, flows).map(shape));
      }),
      { numRuns: 200 },
    );
  });

  it('a policy in namespace y never changes verdicts for pods in x', () => {
    fc.assert(
      fc.property(policiesArb, specArb, flowsArb, (policies, spec, flows) => {
        const elsewhere = build('elsewhere', spec);
        expect(evalAll([...policies, elsewhere], flows).map(shape)).toEqual(evalAll(policies, flows).map(shape));
      }),
      { numRuns: 200 },
    );
  });

  it('each side is decided on its own: one-side evaluations agree with the two-side one', () => {
    fc.assert(
      fc.property(policiesArb, flowsArb, (policies, flows) => {
        const set = createEvaluator(policies);
        for (const f of flows) {
          const both = set.evaluate(f, BOTH);
          const e = set.evaluate(f, { egress: true, ingress: false });
          const i = set.evaluate(f, { egress: false, ingress: true });
          expect(e.egress).toBe(both.egress);
          expect(i.ingress).toBe(both.ingress);
          const sides = [both.egress, both.ingress];
          const expected = sides.includes('deny') ? 'deny' : sides.includes('indeterminate') ? 'indeterminate' : 'allow';
          expect(both.verdict).toBe(expected);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('without reasons (the agent\'s evaluators) every verdict is the same, with no reason or policies built', () => {
    fc.assert(
      fc.property(policiesArb, policiesArb, flowsArb, (baseline, proposed, flows) => {
        const full = createEvaluator(proposed);
        const lean = createEvaluator(proposed, { reasons: false });
        const fullChange = createChangeEvaluator({ baseline, proposed });
        const leanChange = createChangeEvaluator({ baseline, proposed }, { reasons: false });
        for (const f of flows) {
          for (const sides of [BOTH, { egress: true, ingress: false }, { egress: false, ingress: true }]) {
            const a = full.evaluate(f, sides);
            const b = lean.evaluate(f, sides);
            expect(shape(b)).toBe(shape(a));
            // (No side at all is the one shared answer, reason included.)
            expect(b.policies).toEqual([]);
            expect(b.reason).toBe(a.egress === 'none' && a.ingress === 'none' ? a.reason : '');
            const c = fullChange.evaluate(f, sides);
            const d = leanChange.evaluate(f, sides);
            expect([d.change, d.egress, d.ingress, shape(d.before), shape(d.after)]).toEqual([c.change, c.egress, c.ingress, shape(c.before), shape(c.after)]);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('an isolating policy with no rules never turns a denied side into an allowed one', () => {
    fc.assert(
      fc.property(policiesArb, fc.constantFrom(...NAMESPACES), podSelectorArb, flowsArb, (policies, ns, podSelector, flows) => {
        const deny = build(ns, { podSelector, policyTypes: ['Ingress', 'Egress'], ingress: undefined, egress: undefined });
        const before = evalAll(policies, flows);
        const after = evalAll([...policies, deny], flows);
        before.forEach((b, i) => {
          for (const side of ['egress', 'ingress'] as const) if (b[side] === 'deny') expect(after[i]![side]).toBe('deny');
        });
      }),
      { numRuns: 200 },
    );
  });

  it('agrees with a plain reference reading of the spec on every side (differential)', () => {
    fc.assert(
      fc.property(policiesArb, flowsArb, (policies, flows) => {
        const set = createEvaluator(policies);
        for (const f of flows) {
          const e = set.evaluate(f, BOTH);
          expect(e.egress).toBe(referenceSide(policies, f, 'egress'));
          expect(e.ingress).toBe(referenceSide(policies, f, 'ingress'));
        }
      }),
      { numRuns: 1000 },
    );
  });
});

const sidesArb = fc.constantFrom({ egress: true, ingress: true }, { egress: true, ingress: false }, { egress: false, ingress: true });
const full = (e: Evaluation): string => `${e.verdict}/${e.egress}/${e.ingress} [${[...e.policies].sort().join(',')}] ${e.reason}`;

describe('change verdict properties', () => {
  it('with an empty baseline, the combined answer is today\'s single-set answer and nothing is already denied', () => {
    fc.assert(
      fc.property(policiesArb, fc.array(fc.tuple(flowArb, sidesArb), { minLength: 1, maxLength: 8 }), (policies, flows) => {
        const brownfield = createChangeEvaluator({ baseline: [], proposed: policies });
        const today = createEvaluator(policies);
        for (const [f, sides] of flows) {
          const r = brownfield.evaluate(f, sides);
          const t = today.evaluate(f, sides);
          expect(full(r.after)).toBe(full(t));
          for (const side of ['egress', 'ingress'] as const) {
            expect(r.before[side]).toBe(t[side] === 'none' ? 'none' : 'allow');
            // Today's deny is exactly a newly-denied side; nothing else can be denied.
            expect(r[side] === 'newly-denied').toBe(t[side] === 'deny');
            expect(['already-denied', 'newly-allowed']).not.toContain(r[side]);
          }
          expect(r.change).toBe(t.verdict === 'deny' ? 'newly-denied' : 'same');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('the combined answer equals evaluating the union set directly, and the baseline answer the baseline set', () => {
    fc.assert(
      fc.property(policiesArb, policiesArb, fc.array(fc.tuple(flowArb, sidesArb), { minLength: 1, maxLength: 8 }), (baseline, proposed, flows) => {
        const brownfield = createChangeEvaluator({ baseline: baseline, proposed: proposed });
        const union = createEvaluator([...baseline, ...proposed]);
        const alone = createEvaluator(baseline);
        for (const [f, sides] of flows) {
          const r = brownfield.evaluate(f, sides);
          const u = union.evaluate(f, sides);
          expect(shape(r.after)).toBe(shape(u));
          expect([...r.after.policies].sort()).toEqual([...u.policies].sort());
          expect(full(r.before)).toBe(full(alone.evaluate(f, sides)));
          for (const side of ['egress', 'ingress'] as const) expect(r[side]).toBe(sideChange(r.before[side], r.after[side]));
          const changes = [r.egress, r.ingress];
          expect(r.change).toBe(changes.includes('newly-denied') ? 'newly-denied' : changes.includes('newly-allowed') ? 'newly-allowed' : 'same');
        }
      }),
      { numRuns: 500 },
    );
  });

  it('with R, before is B evaluated directly and after is (B − R) ∪ P evaluated directly, in one pass', () => {
    fc.assert(
      fc.property(policiesArb, policiesArb, fc.array(fc.nat(), { maxLength: 4 }), fc.array(fc.tuple(flowArb, sidesArb), { minLength: 1, maxLength: 8 }), (baseline, proposed, picks, flows) => {
        const removed = baseline.length === 0 ? [] : picks.map((i) => identityOf(baseline[i % baseline.length]!));
        const gone = new Set(removed.map(identityKey));
        const change = createChangeEvaluator({ baseline, proposed, removed });
        const before = createEvaluator(baseline);
        const after = createEvaluator([...baseline.filter((p) => !gone.has(identityKey(identityOf(p)))), ...proposed]);
        for (const [f, sides] of flows) {
          const r = change.evaluate(f, sides);
          expect(full(r.before)).toBe(full(before.evaluate(f, sides)));
          const a = after.evaluate(f, sides);
          expect(shape(r.after)).toBe(shape(a));
          expect([...r.after.policies].sort()).toEqual([...a.policies].sort());
          for (const side of ['egress', 'ingress'] as const) expect(r[side]).toBe(sideChange(r.before[side], r.after[side]));
        }
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with the reference reading of the spec under each set (differential)', () => {
    fc.assert(
      fc.property(policiesArb, policiesArb, flowsArb, (baseline, proposed, flows) => {
        const brownfield = createChangeEvaluator({ baseline: baseline, proposed: proposed });
        for (const f of flows) {
          const r = brownfield.evaluate(f, BOTH);
          for (const side of ['egress', 'ingress'] as const) {
            const b = referenceSide(baseline, f, side);
            const c = referenceSide([...baseline, ...proposed], f, side);
            expect(r.before[side]).toBe(b);
            expect(r.after[side]).toBe(c);
            expect(r[side]).toBe(sideChange(b, c));
          }
        }
      }),
      { numRuns: 500 },
    );
  });
});
