/**
 * What a stage of a contract that replaces and removes policies means on the cluster, pure
 * (product.md "Changes to what is enforced"): the replaced policy's new text as a managed
 * copy with the enrollment requirement until Complete, pods the originals select enrolled too,
 * and the exclusion entry that an original carries, added and taken out exactly.
 */
import { describe, expect, it } from 'vitest';
import { desiredPolicies, policyRefs, usesEnrollment, wantsEnrolled } from '../../../controlplane/actuation/desired-state.js';
import { copyName, ownerManifest, ownerSelector, podSelectorsOf, selectorParts, withExclusion, withoutExclusion, withSelectorParts } from '../../../controlplane/contracts/originals.js';
import { originalRefs } from '../../../controlplane/actuation/original-policies.js';
import type { AppliedStage } from '../../../core/rollout/index.js';

const np = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop' }, spec });
const base = (o: Partial<AppliedStage>): AppliedStage => ({
  contract: 'narrow',
  revision: 1,
  stageIndex: 1,
  stageName: 'half',
  mode: 'percent',
  percent: 50,
  namespaces: [],
  policies: [np('allow-frontend', { podSelector: { matchLabels: { app: 'api' } } }), np('new-one', { podSelector: {} })],
  replaces: [{ kind: 'NetworkPolicy', namespace: 'shop', name: 'allow-frontend' }],
  removes: [{ kind: 'NetworkPolicy', namespace: 'shop', name: 'legacy' }],
  ...o,
});
const KEY = 'enroll.rampart.dev/narrow';

describe('desired state of a contract that replaces and removes', () => {
  it('writes the replaced policy as a managed copy with the Exists requirement; at Complete not at all (the original gets the text)', () => {
    const refs = policyRefs(base({}));
    expect(refs.map((r) => [r.name, r.writes, r.replaced])).toEqual([
      ['allow-frontend', copyName('narrow', 'allow-frontend'), true],
      ['new-one', 'new-one', false],
    ]);
    const half = desiredPolicies(base({}), null);
    expect(half.map((d) => d.name)).toEqual([copyName('narrow', 'allow-frontend'), 'new-one']);
    expect((half[0]!.manifest['spec'] as { podSelector: unknown }).podSelector).toEqual({ matchLabels: { app: 'api' }, matchExpressions: [{ key: KEY, operator: 'Exists' }] });
    expect(desiredPolicies(base({ complete: true, percent: 100 }), null).map((d) => d.name)).toEqual(['new-one']);
    expect(copyName('narrow', 'allow-frontend')).toMatch(/^allow-frontend-rampart-[0-9a-f]{8}$/);
    expect(copyName('narrow', 'x'.repeat(253)).length).toBeLessThanOrEqual(253);
  });

  it('enrolls pods the originals select, and uses labels on namespaces stages too', () => {
    const pod = { namespace: 'shop', name: 'batch-1', labels: { app: 'batch' } };
    const all = base({ percent: 100 });
    // new-one selects every pod of shop; without it only the original's selector picks batch pods.
    const only = { ...all, policies: [np('allow-frontend', { podSelector: { matchLabels: { app: 'api' } } })] };
    expect(wantsEnrolled(only, pod)).toBe(false);
    expect(wantsEnrolled(only, pod, [{ kind: 'NetworkPolicy', namespace: 'shop', selectors: [{ matchLabels: { app: 'batch' } }] }])).toBe(true);
    const byNamespace = base({ mode: 'namespaces', percent: 0, namespaces: ['shop'] });
    expect(usesEnrollment(byNamespace)).toBe(true);
    expect(wantsEnrolled(byNamespace, pod)).toBe(true);
    expect(wantsEnrolled({ ...byNamespace, namespaces: ['other'] }, pod)).toBe(false);
    expect(usesEnrollment(base({ mode: 'namespaces', replaces: undefined, removes: undefined }))).toBe(false);
  });

  it('the exclusion entry is added once, after the owner\'s, and taken out to the owner\'s selector exactly', () => {
    const owners = { matchLabels: { app: 'api' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }] };
    const excluded = withExclusion(owners, 'narrow');
    expect(excluded).toEqual({ matchLabels: { app: 'api' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a'] }, { key: KEY, operator: 'DoesNotExist' }] });
    expect(withExclusion(excluded, 'narrow')).toEqual(excluded);
    expect(withoutExclusion(excluded, 'narrow')).toEqual(owners);
    // An owner's selector without expressions gets no empty list back.
    expect(withoutExclusion(withExclusion({ matchLabels: { app: 'api' } }, 'narrow'), 'narrow')).toEqual({ matchLabels: { app: 'api' } });
    // Another contract's entry stays when this one's is taken out; the baseline's view drops both.
    const two = withExclusion(excluded, 'other');
    expect(withoutExclusion(two, 'narrow')['matchExpressions']).toEqual([{ key: 'tier', operator: 'In', values: ['a'] }, { key: 'enroll.rampart.dev/other', operator: 'DoesNotExist' }]);
    expect(ownerSelector(two)).toEqual(owners);
    const manifest = np('x', { podSelector: two, ingress: [] });
    expect(ownerManifest(manifest)).toEqual(np('x', { podSelector: owners, ingress: [] }));
    expect(ownerManifest(np('y', { podSelector: owners }))).toEqual(np('y', { podSelector: owners }));
  });

  it('Cilium originals: the entry goes on spec.endpointSelector and every specs[i].endpointSelector, and the baseline sees the owner\'s text', () => {
    const cnp = {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'legacy', namespace: 'shop' },
      spec: { endpointSelector: { matchLabels: { app: 'api' } }, ingress: [{}] },
      specs: [{ endpointSelector: {}, egress: [{ toEntities: ['world'] }] }, { endpointSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] }, ingress: [{}] }],
    };
    const parts = selectorParts(cnp.kind, cnp, (s) => withExclusion(s, 'narrow'));
    // The apply body: the (atomic) endpointSelector of spec, and the whole (atomic) specs list, peers untouched.
    expect(parts).toEqual({
      spec: { endpointSelector: { matchLabels: { app: 'api' }, matchExpressions: [{ key: KEY, operator: 'DoesNotExist' }] } },
      specs: [
        { endpointSelector: { matchExpressions: [{ key: KEY, operator: 'DoesNotExist' }] }, egress: [{ toEntities: ['world'] }] },
        { endpointSelector: { matchExpressions: [{ key: 'tier', operator: 'Exists' }, { key: KEY, operator: 'DoesNotExist' }] }, ingress: [{}] },
      ],
    });
    const live = withSelectorParts(cnp, parts);
    expect(live.spec.ingress).toEqual([{}]);
    expect(podSelectorsOf(cnp.kind, live)).toHaveLength(3);
    // Taken out again: the owner's object exactly; the baseline's view of the live object is the owner's too.
    expect(withSelectorParts(live, selectorParts(cnp.kind, live, (s) => withoutExclusion(s, 'narrow')))).toEqual(cnp);
    expect(ownerManifest(live)).toEqual(cnp);
    expect(ownerManifest(cnp)).toBe(cnp);
    // A NetworkPolicy's selector part is its podSelector alone.
    expect(selectorParts('NetworkPolicy', np('x', { podSelector: { matchLabels: { a: 'b' } }, ingress: [] }), (s) => withExclusion(s, 'narrow'))).toEqual({
      spec: { podSelector: { matchLabels: { a: 'b' }, matchExpressions: [{ key: KEY, operator: 'DoesNotExist' }] } },
    });
  });

  it('Cilium originals\' selectors enroll pods (a CCNP across namespaces), and each original is named by its path', () => {
    const pod = { namespace: 'shop', name: 'batch-1', labels: { app: 'batch' } };
    const only = base({ percent: 100, policies: [], replaces: [], removes: [{ kind: 'CiliumClusterwideNetworkPolicy', namespace: '', name: 'legacy' }] });
    expect(wantsEnrolled(only, pod)).toBe(false);
    expect(wantsEnrolled(only, pod, [{ kind: 'CiliumClusterwideNetworkPolicy', namespace: '', selectors: [{ matchLabels: { app: 'batch' } }] }])).toBe(true);
    expect(wantsEnrolled(only, pod, [{ kind: 'CiliumNetworkPolicy', namespace: 'other', selectors: [{}] }])).toBe(false);
    expect(wantsEnrolled(only, pod, [{ kind: 'CiliumNetworkPolicy', namespace: 'shop', selectors: [{ matchLabels: { 'k8s:app': 'batch' } }] }])).toBe(true);
    const refs = originalRefs(base({ removes: [{ kind: 'CiliumNetworkPolicy', namespace: 'shop', name: 'a' }, { kind: 'CiliumClusterwideNetworkPolicy', namespace: '', name: 'b' }] }));
    expect(refs.map((r) => [r.kind, r.name, r.replaced, r.path])).toEqual([
      ['NetworkPolicy', 'allow-frontend', true, 'spec.replaces[0]'],
      ['CiliumNetworkPolicy', 'a', false, 'spec.removes[0]'],
      ['CiliumClusterwideNetworkPolicy', 'b', false, 'spec.removes[1]'],
    ]);
    expect(originalRefs(base({}), 'CiliumNetworkPolicy')).toEqual([]);
  });
});
