/**
 * What a stage of a contract that replaces and removes policies means on the cluster, pure
 * (product.md "Changes to what is enforced"): the replaced policy's new text as a managed
 * copy with the enrollment requirement until Complete, pods the originals select enrolled too,
 * and the exclusion entry that an original carries, added and taken out exactly.
 */
import { describe, expect, it } from 'vitest';
import { desiredPolicies, policyRefs, usesEnrollment, wantsEnrolled } from '../../../controlplane/actuation/desired-state.js';
import { copyName, ownerManifest, ownerSelector, withExclusion, withoutExclusion } from '../../../controlplane/contracts/originals.js';
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
    expect(wantsEnrolled(only, pod, [{ namespace: 'shop', podSelector: { matchLabels: { app: 'batch' } } }])).toBe(true);
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
});
