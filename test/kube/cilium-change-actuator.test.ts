/**
 * A contract that replaces a CiliumNetworkPolicy and removes a CiliumClusterwideNetworkPolicy,
 * against the real kube-apiserver with Cilium's own CRDs (product.md "Changes to what is
 * enforced", "Cilium policies"), through the actuator Kubernetes mode runs (one per kind):
 * monitor → 10% → 50% → 100% → Complete. At each enforcing stage the originals carry only the
 * exclusion entry (on spec.endpointSelector, and on every specs[i].endpointSelector) and the
 * new text runs as a managed copy; at 50% the objects, read back, select enrolled pods by the
 * new text only and the others by the old text only. Rollback from 50% restores both
 * originals byte for byte, and so does deleting the contract while no replica leads (the
 * restore finalizer); a CCNP that selects nodes is refused with a problem naming it.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { canonicalJson, systemClock } from '../../core/common/index.js';
import { enrollmentBucket } from '../../core/contract/index.js';
import { endpointSelectorSelects, NO, policyRef, type LabelSelector } from '../../core/policy/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import { createKubernetesActuation, type KubernetesActuation } from '../../controlplane/actuation/create-actuator.js';
import { KubernetesBaselineSource } from '../../controlplane/baseline/kube-baseline-source.js';
import { copyName, RESTORE_FINALIZER } from '../../controlplane/contracts/originals.js';
import { silentLogger } from '../../io/json-logger.js';
import { installCiliumCrds } from '../support/kube/cilium-crds.js';
import { customObjects, GROUP, installCrd, loadKubeConfig, PLURAL, uniqueName, VERSION } from '../support/kube/client.js';
import { coreApi, createContract, createNamespace, createPod } from '../support/kube/objects.js';
import { rampStage } from '../support/kube/ramp-stages.js';
import { waitFor } from '../support/wait-for.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const objects = customObjects(kc);
const core = coreApi(kc);
const CNP = { group: 'cilium.io', version: 'v2', plural: 'ciliumnetworkpolicies' } as const;
const CCNP = { group: 'cilium.io', version: 'v2', plural: 'ciliumclusterwidenetworkpolicies' } as const;
const CONTRACTS = { group: GROUP, version: VERSION, plural: PLURAL } as const;
const NS_KEY = 'k8s:io.kubernetes.pod.namespace';

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}
interface Rule {
  endpointSelector?: Selector;
  nodeSelector?: Selector;
  [field: string]: unknown;
}
interface Raw {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  spec?: Rule;
  specs?: Rule[];
}

const REPLACED = 'api-from-anyone';
/** The replaced CNP as its owner wrote it: api open to anyone in the namespace on 8080. */
const replacedOriginal = (ns: string): Record<string, unknown> => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: REPLACED, namespace: ns, labels: { team: 'shop' }, annotations: { owner: 'gitops' } },
  spec: { endpointSelector: { matchLabels: { app: 'api' } }, ingress: [{ fromEndpoints: [{}], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] },
});

/** Its new text: only web, on 8080. */
const newText = (ns: string): Record<string, unknown> => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumNetworkPolicy',
  metadata: { name: REPLACED, namespace: ns },
  spec: { endpointSelector: { matchLabels: { app: 'api' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] },
});

/** The removed CCNP (a legacy batch ↔ api allow), two rules in `specs`, confined to the test's namespace. */
const removedOriginal = (ns: string, name: string): Record<string, unknown> => ({
  apiVersion: 'cilium.io/v2',
  kind: 'CiliumClusterwideNetworkPolicy',
  metadata: { name, labels: { team: 'legacy' } },
  specs: [
    {
      endpointSelector: { matchLabels: { [NS_KEY]: ns, app: 'api' } },
      ingress: [{ fromEndpoints: [{ matchLabels: { [NS_KEY]: ns, app: 'batch' } }], toPorts: [{ ports: [{ port: '9000', protocol: 'TCP' }] }] }],
    },
    { endpointSelector: { matchLabels: { [NS_KEY]: ns, app: 'batch' } }, egress: [{ toEndpoints: [{ matchLabels: { [NS_KEY]: ns, app: 'api' } }] }] },
  ],
});

interface Rig {
  readonly ns: string;
  readonly contract: string;
  readonly removed: string;
  readonly key: string;
  readonly actuation: KubernetesActuation;
  readonly baseline: KubernetesBaselineSource;
  /** The originals as the API server returned them after creation. */
  before: { cnp: Raw; ccnp: Raw };
  /** Whether this replica leads (the actuation writes only then). */
  readonly leader: { now: boolean };
}

const controllers: AbortController[] = [];
// One actuation at a time, as one leader: a leftover one would act on this test's contract too.
afterEach(() => {
  for (const c of controllers.splice(0)) c.abort();
});

const readCnp = async (ns: string, name: string): Promise<Raw | null> => (objects.getNamespacedCustomObject({ ...CNP, namespace: ns, name }) as Promise<Raw>).catch(() => null);
const readCcnp = async (name: string): Promise<Raw | null> => (objects.getClusterCustomObject({ ...CCNP, name }) as Promise<Raw>).catch(() => null);
const finalizers = async (contract: string): Promise<string[]> => ((await objects.getClusterCustomObject({ ...CONTRACTS, name: contract })) as Raw).metadata.finalizers ?? [];

async function rig(): Promise<Rig> {
  const ns = uniqueName('cchg');
  const contract = uniqueName('cnarrow');
  const removed = `${contract}-legacy`;
  await createNamespace(kc, ns);
  await Promise.all([
    ...Array.from({ length: 12 }, (_, i) => createPod(kc, ns, `api-${i}`, { app: 'api' })),
    ...Array.from({ length: 4 }, (_, i) => createPod(kc, ns, `batch-${i}`, { app: 'batch' })),
    createPod(kc, ns, 'web-0', { app: 'web' }),
  ]);
  const cnp = (await objects.createNamespacedCustomObject({ ...CNP, namespace: ns, body: replacedOriginal(ns) })) as Raw;
  const ccnp = (await objects.createClusterCustomObject({ ...CCNP, body: removedOriginal(ns, removed) })) as Raw;
  const created = await createContract(kc, contract, [newText(ns)], {
    replaces: [{ kind: 'CiliumNetworkPolicy', namespace: ns, name: REPLACED }],
    removes: [{ kind: 'CiliumClusterwideNetworkPolicy', name: removed }],
  });
  const controller = new AbortController();
  controllers.push(controller);
  const leader = { now: true };
  const actuation = createKubernetesActuation({
    kc,
    namespace: 'rampart-system',
    log: silentLogger,
    clock: systemClock,
    contractObject: (name) => (name === contract ? { metadata: { name, uid: created.uid } } : null),
    isLeader: () => leader.now,
    resyncMs: 300,
  });
  await actuation.start(controller.signal);
  const baseline = new KubernetesBaselineSource({ kc, log: silentLogger });
  await baseline.start(controller.signal);
  return { ns, contract, removed, key: `enroll.rampart.dev/${contract}`, actuation, baseline, before: { cnp, ccnp }, leader };
}

function stage(r: Rig, index: number, complete = false): AppliedStage {
  return rampStage(r.contract, [newText(r.ns)], index, {
    complete,
    replaces: [{ kind: 'CiliumNetworkPolicy', namespace: r.ns, name: REPLACED }],
    removes: [{ kind: 'CiliumClusterwideNetworkPolicy', namespace: '', name: r.removed }],
  });
}

async function applied(r: Rig, s: AppliedStage): Promise<void> {
  const a = r.actuation.actuator;
  await a.apply(s);
  await waitFor(() => a.status(r.contract).appliedKey !== null && a.status(r.contract).appliedKey === a.status(r.contract).wantedKey, { timeoutMs: 15_000, what: `stage ${s.stageName} applied` });
  await a.idle();
}

const excluded = (s: Selector | undefined, key: string): Selector => ({ ...s, matchExpressions: [...(s?.matchExpressions ?? []), { key, operator: 'DoesNotExist' }] });

/** At an enforcing stage: the owner's objects exactly, plus the one entry on every endpointSelector. */
async function expectExcluded(r: Rig): Promise<void> {
  const cnp = await readCnp(r.ns, REPLACED);
  const was = r.before.cnp;
  expect(cnp!.spec).toEqual({ ...was.spec, endpointSelector: excluded(was.spec!.endpointSelector, r.key) });
  expect(cnp!.metadata.labels).toEqual(was.metadata.labels);
  expect(cnp!.metadata.annotations).toEqual(was.metadata.annotations);
  const ccnp = await readCcnp(r.removed);
  expect(ccnp!.specs).toEqual(r.before.ccnp.specs!.map((rule) => ({ ...rule, endpointSelector: excluded(rule.endpointSelector, r.key) })));
  expect(ccnp!.spec).toBeUndefined();
  expect(ccnp!.metadata.labels).toEqual(r.before.ccnp.metadata.labels);
}

/** Byte for byte: spec and specs as the API server serialises them, and the owner's metadata. */
function expectRestored(live: Raw | null, was: Raw): void {
  expect(JSON.stringify(live?.spec)).toBe(JSON.stringify(was.spec));
  expect(JSON.stringify(live?.specs)).toBe(JSON.stringify(was.specs));
  expect(live!.metadata.labels).toEqual(was.metadata.labels);
  expect(live!.metadata.annotations).toEqual(was.metadata.annotations);
}

/** Whether one of a Cilium policy's rules selects the pod with its live labels (ns: the CNP's, null for a CCNP). */
function selects(policy: Raw, ns: string | null, pod: V1Pod): boolean {
  const rules = [...(policy.spec ? [policy.spec] : []), ...(policy.specs ?? [])];
  return rules.some((rule) => {
    const s = rule.endpointSelector ?? {};
    const selector: LabelSelector = { matchLabels: s.matchLabels ?? {}, matchExpressions: (s.matchExpressions ?? []).map((e) => ({ key: e.key, operator: e.operator as 'Exists', values: e.values ?? [] })) };
    return endpointSelectorSelects(selector, ns, pod.metadata!.namespace!, pod.metadata?.labels ?? {}) !== NO;
  });
}

const podsOf = async (r: Rig): Promise<V1Pod[]> => (await core.listNamespacedPod({ namespace: r.ns })).items;
const labelled = (pods: V1Pod[], key: string): string[] =>
  pods
    .filter((p) => p.metadata?.labels?.[key] !== undefined)
    .map((p) => p.metadata!.name!)
    .sort();

describe('a contract that replaces a CiliumNetworkPolicy and removes a CCNP', () => {
  beforeAll(async () => {
    await installCrd(kc);
    await installCiliumCrds(kc);
  }, 10 * 60_000);

  it('ramps monitor → 10% → 50% → 100% → Complete: enrolled pods get the new text only, the others the old text only', async () => {
    const r = await rig();
    const copy = copyName(r.contract, REPLACED);
    await applied(r, stage(r, 0));
    expectRestored(await readCnp(r.ns, REPLACED), r.before.cnp);
    expectRestored(await readCcnp(r.removed), r.before.ccnp);
    expect(await readCnp(r.ns, copy)).toBeNull();

    for (const index of [1, 2, 3]) {
      const s = stage(r, index);
      await applied(r, s);
      await expectExcluded(r);
      const c = (await readCnp(r.ns, copy))!;
      expect(c.spec!.endpointSelector).toEqual({ matchLabels: { app: 'api' }, matchExpressions: [{ key: r.key, operator: 'Exists' }] });
      expect(c.spec!['ingress']).toEqual((newText(r.ns)['spec'] as Rule)['ingress']);
      expect(c.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'rampart', 'rampart.dev/contract': r.contract });
      // Enrolled: the pods the new text or the originals select (api, and batch through the CCNP), by bucket.
      const pods = await podsOf(r);
      const selected = pods.filter((p) => p.metadata?.labels?.['app'] !== 'web').map((p) => p.metadata!.name!);
      expect(labelled(pods, r.key)).toEqual(selected.filter((n) => s.percent >= 100 || enrollmentBucket(r.contract, r.ns, n) < s.percent).sort());
      expect(await finalizers(r.contract)).toContain(RESTORE_FINALIZER);

      if (s.percent === 50) {
        const enrolled = new Set(labelled(pods, r.key));
        expect(enrolled.size).toBeGreaterThan(0);
        expect(enrolled.size).toBeLessThan(selected.length);
        // Read from the objects: which of them select each pod with its live labels.
        const live = { cnp: (await readCnp(r.ns, REPLACED))!, ccnp: (await readCcnp(r.removed))! };
        for (const pod of pods.filter((p) => p.metadata?.labels?.['app'] !== 'web')) {
          const name = pod.metadata!.name!;
          const governing = [selects(live.cnp, r.ns, pod) && REPLACED, selects(live.ccnp, null, pod) && r.removed, selects(c, r.ns, pod) && copy].filter((x) => x !== false);
          const old = pod.metadata?.labels?.['app'] === 'api' ? [REPLACED, r.removed] : [r.removed];
          const now = pod.metadata?.labels?.['app'] === 'api' ? [copy] : [];
          expect(governing, name).toEqual(enrolled.has(name) ? now : old);
        }
        // The agents' baseline: the originals as their owners wrote them, never with the entry.
        const base = r.baseline.snapshot().policies;
        expect((base.find((p) => p.ref === policyRef({ kind: 'CiliumNetworkPolicy', namespace: r.ns, name: REPLACED }))?.manifest as Raw).spec).toEqual(r.before.cnp.spec);
        expect((base.find((p) => p.ref === policyRef({ kind: 'CiliumClusterwideNetworkPolicy', namespace: '', name: r.removed }))?.manifest as Raw).specs).toEqual(r.before.ccnp.specs);
      }
    }

    await applied(r, stage(r, 3, true));
    const replaced = (await readCnp(r.ns, REPLACED))!;
    expect(replaced.spec).toEqual(newText(r.ns)['spec']);
    expect(replaced.metadata.labels).toEqual(r.before.cnp.metadata.labels);
    expect(replaced.metadata.annotations).toEqual(r.before.cnp.metadata.annotations);
    expect(await readCcnp(r.removed)).toBeNull();
    expect(await readCnp(r.ns, copy)).toBeNull();
    expect(labelled(await podsOf(r), r.key)).toEqual([]);
    await waitFor(async () => !(await finalizers(r.contract)).includes(RESTORE_FINALIZER), { what: 'the finalizer released' });
  });

  it('an owner edit mid-ramp is the new before; rollback from 50% restores both originals byte for byte; a CCNP that selects nodes is refused by path', async () => {
    const r = await rig();
    await applied(r, stage(r, 2));
    await expectExcluded(r);
    // The owner edits the replaced CNP mid-ramp (a whole-object update, as kubectl edit does, without the entry): port 8081.
    const ref = policyRef({ kind: 'CiliumNetworkPolicy', namespace: r.ns, name: REPLACED });
    const ownerSpec = { ...r.before.cnp.spec, ingress: [{ fromEndpoints: [{}], toPorts: [{ ports: [{ port: '8081', protocol: 'TCP' }] }] }] };
    await objects.replaceNamespacedCustomObject({ ...CNP, namespace: r.ns, name: REPLACED, body: { ...(await readCnp(r.ns, REPLACED))!, spec: ownerSpec }, fieldManager: 'kubectl-edit' });
    await waitFor(async () => canonicalJson((await readCnp(r.ns, REPLACED))!.spec) === canonicalJson({ ...ownerSpec, endpointSelector: excluded(ownerSpec.endpointSelector, r.key) }), { timeoutMs: 10_000, what: "the entry put back on the owner's edit" });
    await waitFor(() => canonicalJson((r.baseline.snapshot().policies.find((p) => p.ref === ref)?.manifest as Raw | undefined)?.spec ?? null) === canonicalJson(ownerSpec), { what: "the baseline holding the owner's edit" });
    // The new before, as the API server serialises it (the baseline's copy, which is the owner's text).
    r.before.cnp = { ...r.before.cnp, spec: (r.baseline.snapshot().policies.find((p) => p.ref === ref)!.manifest as Raw).spec! };
    await applied(r, stage(r, 0));
    expectRestored(await readCnp(r.ns, REPLACED), r.before.cnp);
    expectRestored(await readCcnp(r.removed), r.before.ccnp);
    expect(await readCnp(r.ns, copyName(r.contract, REPLACED))).toBeNull();
    expect(labelled(await podsOf(r), r.key)).toEqual([]);
    await waitFor(async () => !(await finalizers(r.contract)).includes(RESTORE_FINALIZER), { what: 'the finalizer released' });

    // A host policy: a pod label cannot split it, so the contract is blocked and it stays as written.
    const host = `${r.contract}-host`;
    const hostPolicy = { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: host }, spec: { nodeSelector: { matchLabels: { role: 'edge' } }, ingress: [{ fromEntities: ['cluster'] }] } };
    const was = (await objects.createClusterCustomObject({ ...CCNP, body: hostPolicy })) as Raw;
    const blocked = { ...stage(r, 1), policies: [], replaces: [], removes: [{ kind: 'CiliumClusterwideNetworkPolicy', namespace: '', name: host }] };
    // (The actuator's watch may see the new CCNP just after this stage is first applied: the problem follows its event.)
    await r.actuation.actuator.apply(blocked).catch(() => undefined);
    const onHost = () => r.actuation.actuator.problems(r.contract).filter((p) => p.path === 'spec.removes[0]');
    await waitFor(() => onHost().length > 0, { what: 'the host policy refused' });
    expect(onHost()).toHaveLength(1);
    expect(onHost()[0]!.message).toMatch(/CiliumClusterwideNetworkPolicy .*-host selects nodes \(spec\.nodeSelector\)/);
    await expect(r.actuation.actuator.apply(blocked)).rejects.toThrow(/selects nodes/);
    expectRestored(await readCcnp(host), was);
  });

  it('a contract deleted at 50% while no replica leads ends with both originals restored and the copy and labels gone', async () => {
    const r = await rig();
    await applied(r, stage(r, 2));
    r.leader.now = false;
    await objects.deleteClusterCustomObject({ ...CONTRACTS, name: r.contract });
    // The finalizer holds the object; nothing is put back while no replica leads.
    expect(((await objects.getClusterCustomObject({ ...CONTRACTS, name: r.contract })) as { metadata: { deletionTimestamp?: string } }).metadata.deletionTimestamp).toBeDefined();
    await expectExcluded(r);
    r.leader.now = true;
    await waitFor(async () => (await objects.getClusterCustomObject({ ...CONTRACTS, name: r.contract }).then(() => false).catch(() => true)), { timeoutMs: 15_000, what: 'the contract gone once its restore is done' });
    expectRestored(await readCnp(r.ns, REPLACED), r.before.cnp);
    expectRestored(await readCcnp(r.removed), r.before.ccnp);
    expect(await readCnp(r.ns, copyName(r.contract, REPLACED))).toBeNull();
    expect(labelled(await podsOf(r), r.key)).toEqual([]);
  });
});
