/**
 * Randomised agreement between the parser and the CRD schema: contracts built from a mix of
 * valid and invalid parts (stages, durations, percents, namespaces, gates, policies,
 * replaces/removes, nulls)
 * go to parseContract and, as a server-side dry run, to the real API server. Each must be
 * accepted by both or rejected by both. Deterministic seed, bounded number of runs.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { formatProblems } from '../../core/common/index.js';
import { parseContract } from '../../core/contract/index.js';
import { GROUP, PLURAL, VERSION, customObjects, installCrd, loadKubeConfig, rejection } from '../support/kube/client.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const api = customObjects(kc);

const policy = (name: string, spec: unknown, namespace = 'shop') => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const POLICIES = [
  policy('deny', { podSelector: {} }),
  policy('deny', { podSelector: {}, policyTypes: ['Egress'] }), // same name as the first: a duplicate when both are picked
  policy('web', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 'http' }, { port: 80, endPort: 90 }] }] }, 'web'),
  policy('egress', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }] }),
  policy('bad-port', { podSelector: {}, ingress: [{ ports: [{ port: 0 }] }] }),
  policy('bad-cidr', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/40' } }] }] }),
  policy('bad-op', { podSelector: { matchExpressions: [{ key: 'a', operator: 'In', values: [] }] } }),
];

const CHANGE_REFS: unknown[] = [
  { namespace: 'shop', name: 'deny' },
  { kind: 'NetworkPolicy', namespace: 'shop', name: 'legacy' },
  { kind: 'CiliumNetworkPolicy', namespace: 'shop', name: 'legacy' },
  { kind: 'CiliumClusterwideNetworkPolicy', name: 'legacy' },
  { kind: 'CiliumClusterwideNetworkPolicy', namespace: 'shop', name: 'legacy' },
  { name: 'legacy' },
  { kind: 'Deployment', namespace: 'shop', name: 'legacy' },
  { namespace: 'shop', name: 'Bad_Name' },
  { namespace: 'shop', name: 'legacy', extra: true },
  'shop/legacy',
];

const DURATIONS: unknown[] = ['30m', '1h', '0', '1.5h', '90s', '500ms', '1h30m', '1 h', '-1m', '', '5us', 10, null];
const VALID_DURATIONS = ['30m', '1h', '0', '1.5h', '90s', '500ms', '1h30m'];
const NAMESPACES = ['x', 'y', 'z', 'w', 'v'];

/** A valid contract spec: monitor first, then increasing percents ending at 100, or disjoint namespace sets. */
const validSpec = fc
  .record({
    strategy: fc.constantFrom('percent', 'namespaces'),
    percents: fc.uniqueArray(fc.integer({ min: 1, max: 99 }), { maxLength: 3 }),
    namespaceGroups: fc.integer({ min: 1, max: 3 }),
    durations: fc.array(fc.constantFrom(...VALID_DURATIONS), { minLength: 5, maxLength: 5 }),
    policies: fc.subarray([POLICIES[0]!, POLICIES[2]!, POLICIES[3]!], { minLength: 1 }),
    gates: fc.option(
      fc.record(
        { minFlows: fc.constantFrom(0, 100), maxWouldDeny: fc.constantFrom(0, 5, null), maxWouldDenyRatio: fc.constantFrom(0, 0.5, null), maxNewlyAllowed: fc.constantFrom(0, 3, null), maxReportAge: fc.constantFrom('2m', '10s') },
        { requiredKeys: [] },
      ),
      { nil: undefined },
    ),
    advance: fc.option(fc.constantFrom('auto', 'manual'), { nil: undefined }),
  })
  .map(({ strategy, percents, namespaceGroups, durations, policies, gates, advance }) => {
    const enforcing =
      strategy === 'percent'
        ? [...[...percents].sort((a, b) => a - b), 100].map((percent, i) => ({ name: `p${i}`, percent, minDuration: durations[i + 1] }))
        : Array.from({ length: namespaceGroups }, (_, i) => ({ name: `n${i}`, namespaces: NAMESPACES.filter((_, j) => j % namespaceGroups === i), minDuration: durations[i + 1] }));
    return { policies, rollout: { strategy, stages: [{ name: 'monitor', minDuration: durations[0] }, ...enforcing] }, gates, advance } as Record<string, unknown>;
  });

type Spec = Record<string, unknown> & { rollout: { strategy: unknown; stages: Record<string, unknown>[] }; policies: unknown[] };

/** One change to a valid spec; values come from pools of valid and invalid ones. */
const mutation: fc.Arbitrary<(spec: Spec) => void> = fc.oneof(
  fc.tuple(fc.nat(), fc.constantFrom(...DURATIONS)).map(([i, v]) => (s: Spec) => { const st = s.rollout.stages[i % s.rollout.stages.length]!; st['minDuration'] = v; }),
  fc.tuple(fc.nat(), fc.constantFrom<unknown>(-1, 0, 1, 10, 50, 99, 100, 101, 12.5, '10', null)).map(([i, v]) => (s: Spec) => { const st = s.rollout.stages[i % s.rollout.stages.length]!; st['percent'] = v; }),
  fc.tuple(fc.nat(), fc.array(fc.constantFrom<unknown>('x', 'y', 'q', 'Not_A_Label', null), { maxLength: 3 })).map(([i, v]) => (s: Spec) => { const st = s.rollout.stages[i % s.rollout.stages.length]!; st['namespaces'] = v; }),
  fc.tuple(fc.nat(), fc.constantFrom<unknown>('monitor', 'p0', 'n0', 'Bad_Name', 'ok', null)).map(([i, v]) => (s: Spec) => { const st = s.rollout.stages[i % s.rollout.stages.length]!; st['name'] = v; }),
  fc.nat().map((i) => (s: Spec) => { if (s.rollout.stages.length > 1) s.rollout.stages.splice(i % s.rollout.stages.length, 1); }),
  fc.nat().map((i) => (s: Spec) => { const st = s.rollout.stages; const j = i % st.length; const k = (j + 1) % st.length; [st[j], st[k]] = [st[k]!, st[j]!]; }),
  fc.constantFrom<unknown>('percent', 'namespaces', 'canary', null).map((v) => (s: Spec) => { s.rollout.strategy = v; }),
  fc.tuple(
    fc.constantFrom('minFlows', 'maxWouldDeny', 'maxWouldDenyRatio', 'maxNewlyAllowed', 'minNodeCoverage', 'maxLostEventsRatio', 'maxReportAge'),
    fc.constantFrom<unknown>(0, 1, 100, -1, 0.5, 1.5, 2, null, '2m', '0s', 'soon'),
  ).map(([k, v]) => (s: Spec) => { s['gates'] = { ...((s['gates'] as object | undefined) ?? {}), [k]: v }; }),
  fc.constantFrom<unknown>(0, 10, 2.5, -1, null).map((v) => (s: Spec) => { s['rollback'] = { maxActualDeniesPerMinute: v }; }),
  fc.constantFrom<unknown>('auto', 'manual', 'Auto', null).map((v) => (s: Spec) => { s['advance'] = v; }),
  fc.constantFrom(...POLICIES).map((p) => (s: Spec) => { s.policies.push(p); }),
  fc.constant((s: Spec) => { s.policies = []; }),
  // spec.replaces / spec.removes: entries that name a policy of the contract, one that is not,
  // cluster-wide and namespaced kinds, with and without a namespace, bad kinds and names.
  fc.tuple(fc.constantFrom('replaces', 'removes'), fc.constantFrom<unknown>(...CHANGE_REFS)).map(([field, ref]) => (s: Spec) => { s[field] = [...((s[field] as unknown[] | undefined) ?? []), ref]; }),
  fc.tuple(fc.constantFrom('replaces', 'removes'), fc.nat()).map(([field, i]) => (s: Spec) => {
    const m = (s.policies[i % Math.max(1, s.policies.length)] as { metadata?: { name: string; namespace?: string } } | undefined)?.metadata;
    if (m !== undefined) s[field] = [...((s[field] as unknown[] | undefined) ?? []), { namespace: m.namespace ?? 'default', name: m.name }];
  }),
);

const contract = fc.tuple(validSpec, fc.array(mutation, { maxLength: 2 })).map(([spec, mutations]) => {
  const copy = structuredClone(spec) as Spec;
  for (const m of mutations) m(copy);
  return copy;
});

/** Drops undefined-valued keys so the JSON sent equals the object parsed. */
const clean = (v: unknown): unknown => JSON.parse(JSON.stringify(v)) as unknown;

describe('parser and CRD schema agree on generated contracts', () => {
  beforeAll(async () => {
    await installCrd(kc);
  });

  it('accept and reject the same contracts (300 runs, server-side dry run)', async () => {
    let accepted = 0;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(contract, async (spec) => {
        n += 1;
        const doc = clean({ apiVersion: `${GROUP}/${VERSION}`, kind: 'RampContract', metadata: { name: `generated-${n}` }, spec });
        const parsed = parseContract(doc);
        let serverOk = true;
        let serverMessage = '';
        try {
          await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: doc, dryRun: 'All', fieldValidation: 'Strict' });
        } catch {
          serverOk = false;
          serverMessage = (await rejection(() => api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: doc, dryRun: 'All', fieldValidation: 'Strict' }))).status.message ?? '';
        }
        if (serverOk) accepted += 1;
        expect(parsed.ok, `server ${serverOk ? 'accepted' : `rejected: ${serverMessage}`}\nparser: ${parsed.ok ? 'accepted' : formatProblems(parsed.error)}\n${JSON.stringify(doc)}`).toBe(serverOk);
      }),
      { numRuns: Number(process.env['RAMPART_PROPERTY_RUNS'] ?? 300), seed: Number(process.env['RAMPART_PROPERTY_SEED'] ?? 20261122), endOnFailure: true },
    );
    // The generator must produce both outcomes, or the property proves little.
    expect(accepted).toBeGreaterThan(5);
    expect(accepted).toBeLessThan(n);
  });
});
