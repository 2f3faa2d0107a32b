import { describe, expect, it } from 'vitest';
import type { AppliedStage } from '../../../core/rollout/applied-stage.js';
import { desiredPolicies, policyRefs, selectedByContract, wantsEnrolled } from '../../../controlplane/actuation/desired-state.js';
import { enrollLabelKey } from '../../../controlplane/contracts/labels.js';
import { selectorMatches } from '../../../core/policy/index.js';
import { enrollmentBucket } from '../../../core/contract/index.js';

const policies = [
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'shop', labels: { team: 'a' } }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'api', namespace: 'pay' },
    spec: { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] },
  },
];
const stage = (over: Partial<AppliedStage>): AppliedStage => ({
  contract: 'c1',
  revision: 3,
  stageIndex: 1,
  stageName: 'canary',
  mode: 'percent',
  percent: 10,
  namespaces: [],
  policies,
  complete: false,
  ...over,
});
const owner = { name: 'c1', uid: 'u-1' };

describe('desired state of a stage on the cluster', () => {
  it('monitor applies nothing; percent adds the Exists requirement, labels, annotations and owner, peers untouched', () => {
    expect(desiredPolicies(stage({ mode: 'monitor', percent: 0 }), owner)).toEqual([]);
    const [deny, api] = desiredPolicies(stage({}), owner);
    expect(deny!.manifest).toMatchObject({
      metadata: {
        name: 'deny',
        namespace: 'shop',
        labels: { team: 'a', 'app.kubernetes.io/managed-by': 'rampart', 'rampart.dev/contract': 'c1' },
        annotations: { 'rampart.dev/revision': '3', 'rampart.dev/stage': 'canary' },
        ownerReferences: [{ apiVersion: 'rampart.dev/v1alpha1', kind: 'RampContract', name: 'c1', uid: 'u-1', controller: true, blockOwnerDeletion: false }],
      },
      spec: { podSelector: { matchExpressions: [{ key: 'enroll.rampart.dev/c1', operator: 'Exists' }] } },
    });
    expect((api!.manifest.spec as { podSelector: unknown; ingress: unknown }).podSelector).toEqual({ matchLabels: { app: 'api' }, matchExpressions: [{ key: 'enroll.rampart.dev/c1', operator: 'Exists' }] });
    expect((api!.manifest.spec as { ingress: unknown }).ingress).toEqual(policies[1]!.spec.ingress);
    // The contract's own manifests are not mutated.
    expect(policies[0]!.spec.podSelector).toEqual({});
  });

  it('namespaces stages apply the listed namespaces as written; Complete applies all as written without an owner', () => {
    const ns = desiredPolicies(stage({ mode: 'namespaces', percent: 0, namespaces: ['pay'] }), owner);
    expect(ns.map((d) => d.name)).toEqual(['api']);
    expect((ns[0]!.manifest.spec as { podSelector: unknown }).podSelector).toEqual({ matchLabels: { app: 'api' } });
    const done = desiredPolicies(stage({ percent: 100, complete: true }), owner);
    expect(done.map((d) => d.name)).toEqual(['deny', 'api']);
    for (const d of done) {
      const meta = d.manifest.metadata as Record<string, unknown>;
      expect(meta.ownerReferences).toBeUndefined();
      expect((meta.annotations as Record<string, string>)['rampart.dev/stage']).toBe('Complete');
      expect((meta.labels as Record<string, string>)['rampart.dev/contract']).toBe('c1');
    }
  });

  it('enrolls only pods a contract policy selects, by the core enrollment hash, monotonic in the percent', () => {
    const names = Array.from({ length: 200 }, (_, i) => `web-${i}`);
    let before = new Set<string>();
    for (const p of [10, 50, 100]) {
      const now = new Set(names.filter((n) => wantsEnrolled(stage({ percent: p }), { namespace: 'shop', name: n, labels: { app: 'web' } })));
      expect([...before].every((n) => now.has(n))).toBe(true);
      for (const n of names) expect(now.has(n)).toBe(p >= 100 || enrollmentBucket('c1', 'shop', n) < p);
      before = now;
    }
    expect(before.size).toBe(200);
    // pay/api selects app=api only; other namespaces are never selected.
    expect(selectedByContract(stage({}), { namespace: 'pay', name: 'x', labels: { app: 'web' } })).toBe(false);
    expect(selectedByContract(stage({}), { namespace: 'pay', name: 'x', labels: { app: 'api' } })).toBe(true);
    expect(selectedByContract(stage({}), { namespace: 'other', name: 'x', labels: {} })).toBe(false);
    expect(wantsEnrolled(stage({ percent: 100, complete: true }), { namespace: 'shop', name: 'x', labels: {} })).toBe(false);
  });

  it('Cilium policies get the enrollment requirement on every endpointSelector, a CCNP no namespace', () => {
    const key = 'enroll.rampart.dev/c';
    const stage = {
      contract: 'c', revision: 1, stageIndex: 1, stageName: 'half', mode: 'percent' as const, percent: 50, namespaces: [], complete: false,
      policies: [
        { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p', namespace: 'shop' }, specs: [{ endpointSelector: { matchLabels: { app: 'api' } }, ingress: [{}] }, { endpointSelector: {}, egress: [{}] }] },
        { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'cc' }, spec: { endpointSelector: { matchLabels: { 'k8s:app': 'db' } }, ingress: [{}] } },
      ],
    };
    const out = desiredPolicies(stage, null);
    expect(out.map((d) => [d.kind, d.namespace, d.name])).toEqual([['CiliumNetworkPolicy', 'shop', 'p'], ['CiliumClusterwideNetworkPolicy', '', 'cc']]);
    const specs = (out[0]!.manifest as { specs: { endpointSelector: { matchExpressions: unknown[] } }[] }).specs;
    expect(specs.map((s) => s.endpointSelector.matchExpressions)).toEqual([[{ key, operator: 'Exists' }], [{ key, operator: 'Exists' }]]);
    expect((out[1]!.manifest as { metadata: Record<string, unknown> }).metadata['namespace']).toBeUndefined();
    // Pods selected by a Cilium policy are enrolled: the CNP's `app: api` in shop, the CCNP's `k8s:app: db` anywhere.
    expect(selectedByContract(stage, { namespace: 'shop', name: 'a', labels: { app: 'api' } })).toBe(true);
    expect(selectedByContract(stage, { namespace: 'other', name: 'd', labels: { app: 'db' } })).toBe(true);
    expect(selectedByContract(stage, { namespace: 'other', name: 'w', labels: { app: 'web' } })).toBe(false);
  });

  it('policy refs default the namespace and skip nameless manifests', () => {
    expect(policyRefs({ contract: 'c', policies: [{ metadata: { name: 'a' } }, { metadata: {} }, 'junk'] })).toEqual([{ kind: 'NetworkPolicy', namespace: 'default', name: 'a', index: 0, writes: 'a', replaced: false }]);
  });

  it('label selectors: matchLabels and every operator, exactly', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches(undefined, labels)).toBe(false);
    expect(selectorMatches({ matchLabels: { app: 'web' } }, labels)).toBe(true);
    expect(selectorMatches({ matchLabels: { app: 'api' } }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'x'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'gone', operator: 'NotIn', values: ['a'] }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, labels)).toBe(true);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, labels)).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'app', operator: 'Bogus' }] }, labels)).toBe(false);
  });

  it('enrollment label keys stay valid (name part ≤ 63) and distinct for long contract names', () => {
    expect(enrollLabelKey('shop-lockdown')).toBe('enroll.rampart.dev/shop-lockdown');
    const a = enrollLabelKey(`${'a'.repeat(70)}.x`);
    const b = enrollLabelKey(`${'a'.repeat(70)}.y`);
    expect(a).not.toBe(b);
    for (const k of [a, b]) {
      const name = k.slice('enroll.rampart.dev/'.length);
      expect(name.length).toBeLessThanOrEqual(63);
      expect(name).toMatch(/^[a-z0-9]([-a-z0-9_.]*[a-z0-9])?$/);
    }
  });
});
