/**
 * A contract holding Cilium policies against the real API server, with Cilium's own CRDs (from
 * the pinned module) installed so the server validates every object Rampart writes: percent
 * stages apply the CNP and the CCNP with the enrollment requirement on every endpointSelector
 * (spec and specs[*]), pods selected by them get the enrollment label, Complete hands the
 * policies off as written, and rolling back to monitor removes them and the labels.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemClock } from '../../core/common/index.js';
import { enrollmentBucket } from '../../core/contract/index.js';
import type { AppliedStage } from '../../core/rollout/applied-stage.js';
import { createKubernetesActuation, type KubernetesActuation } from '../../controlplane/actuation/create-actuator.js';
import { KubernetesBaselineSource } from '../../controlplane/baseline/kube-baseline-source.js';
import { silentLogger } from '../../io/json-logger.js';
import { installCiliumCrds, removeCiliumCrds } from '../support/kube/cilium-crds.js';
import { customObjects, installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { coreApi, createContract, createNamespace, createPod } from '../support/kube/objects.js';
import { waitFor } from '../support/wait-for.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const core = coreApi(kc);

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string }[];
}
interface RawCilium {
  metadata: { name: string; labels?: Record<string, string>; ownerReferences?: unknown[]; annotations?: Record<string, string> };
  spec?: { endpointSelector: Selector; ingress?: unknown[] };
  specs?: { endpointSelector: Selector }[];
}

const STAGES = [
  { name: 'monitor', mode: 'monitor', percent: 0 },
  { name: 'half', mode: 'percent', percent: 50 },
  { name: 'full', mode: 'percent', percent: 100 },
] as const;

function stage(contract: string, policies: unknown[], index: number, complete = false): AppliedStage {
  const s = STAGES[index]!;
  return { contract, revision: 1, stageIndex: index, stageName: s.name, mode: s.mode, percent: s.percent, namespaces: [], policies, complete };
}

const policiesFor = (ns: string, contract: string): unknown[] => [
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumNetworkPolicy',
    metadata: { name: 'api-from-web', namespace: ns },
    specs: [
      { endpointSelector: { matchLabels: { app: 'api' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] },
      { endpointSelector: { matchLabels: { 'k8s:app': 'web' } }, egress: [{ toFQDNs: [{ matchPattern: '*.example.com' }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }] },
    ],
  },
  {
    apiVersion: 'cilium.io/v2',
    kind: 'CiliumClusterwideNetworkPolicy',
    metadata: { name: `${contract}-no-metadata` },
    spec: { endpointSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': ns } }, egressDeny: [{ toCIDR: ['169.254.169.254/32'] }] },
  },
];

const controllers: AbortController[] = [];
afterAll(() => {
  for (const c of controllers) c.abort();
});

async function cnps(ns: string): Promise<RawCilium[]> {
  return ((await customObjects(kc).listNamespacedCustomObject({ group: 'cilium.io', version: 'v2', plural: 'ciliumnetworkpolicies', namespace: ns })) as { items: RawCilium[] }).items;
}
async function ccnp(name: string): Promise<RawCilium | null> {
  const all = ((await customObjects(kc).listClusterCustomObject({ group: 'cilium.io', version: 'v2', plural: 'ciliumclusterwidenetworkpolicies' })) as { items: RawCilium[] }).items;
  return all.find((p) => p.metadata.name === name) ?? null;
}
const enrolled = (pods: V1Pod[], key: string): string[] =>
  pods
    .filter((p) => p.metadata?.labels?.[key] === 'true')
    .map((p) => p.metadata!.name!)
    .sort();
const hasEnrollment = (s: Selector | undefined, key: string): boolean => (s?.matchExpressions ?? []).some((e) => e.key === key && e.operator === 'Exists');

interface Rig {
  readonly contract: string;
  readonly ns: string;
  readonly policies: unknown[];
  readonly actuation: KubernetesActuation;
  readonly pods: string[];
}

/** The contracts an actuation started before them may act for (name → uid). */
const known = new Map<string, string>();

async function startActuation(): Promise<KubernetesActuation> {
  const controller = new AbortController();
  controllers.push(controller);
  const actuation = createKubernetesActuation({
    kc,
    namespace: 'rampart-system',
    log: silentLogger,
    clock: systemClock,
    contractObject: (name) => (known.has(name) ? { metadata: { name, uid: known.get(name)! } } : null),
    isLeader: () => true,
    resyncMs: 500,
  });
  await actuation.start(controller.signal);
  return actuation;
}

/** A contract with its namespace and pods; its own actuation, or `actuation` (started earlier). */
async function rig(actuation?: KubernetesActuation): Promise<Rig> {
  const contract = uniqueName('cil');
  const ns = uniqueName('ns');
  await createNamespace(kc, ns);
  const pods: string[] = [];
  await Promise.all(
    Array.from({ length: 12 }, (_, i) => {
      const app = i % 4 === 0 ? 'db' : i % 2 === 0 ? 'web' : 'api';
      pods.push(`${app}-${i}`);
      return createPod(kc, ns, `${app}-${i}`, { app });
    }),
  );
  const policies = policiesFor(ns, contract);
  const { uid } = await createContract(kc, contract, policies);
  known.set(contract, uid);
  return { contract, ns, policies, actuation: actuation ?? (await startActuation()), pods };
}

// Both started on a server without Cilium's CRDs (whatever file installed them before, they
// are removed first): the baseline must start watching Cilium policies when they appear, and
// the actuator must apply a contract's CNP once they are served.
let baseline: KubernetesBaselineSource;
let early: KubernetesActuation;

beforeAll(async () => {
  await installCrd(kc);
  await removeCiliumCrds(kc);
  baseline = new KubernetesBaselineSource({ kc, log: silentLogger, crdProbeMs: 200 });
  const controller = new AbortController();
  controllers.push(controller);
  await baseline.start(controller.signal);
  early = await startActuation();
  await installCiliumCrds(kc);
}, 10 * 60_000);

describe('a contract holding CiliumNetworkPolicy and CCNP on a real API server with Cilium\'s CRDs', () => {
  it('ramps through percent stages to Complete, then a second run rolls back cleanly', async () => {
    const r = await rig();
    const a = r.actuation.actuator;
    const key = a.enrollLabel(r.contract);
    const ccnpName = `${r.contract}-no-metadata`;

    await a.apply(stage(r.contract, r.policies, 0));
    expect(await cnps(r.ns)).toEqual([]);
    expect(await ccnp(ccnpName)).toBeNull();

    // 50 %: every endpointSelector (spec and specs[*]) carries the Exists requirement; pods selected
    // by a contract policy and in the bucket are enrolled (db pods are selected by the CCNP only).
    await a.apply(stage(r.contract, r.policies, 1));
    const [cnp] = await cnps(r.ns);
    expect(cnp?.metadata.name).toBe('api-from-web');
    expect(cnp?.specs?.every((s) => hasEnrollment(s.endpointSelector, key))).toBe(true);
    expect(cnp?.specs?.[1]?.endpointSelector.matchLabels).toEqual({ 'k8s:app': 'web' });
    expect(cnp?.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'rampart', 'rampart.dev/contract': r.contract });
    expect(cnp?.metadata.ownerReferences).toHaveLength(1);
    const cluster = await ccnp(ccnpName);
    expect(hasEnrollment(cluster?.spec?.endpointSelector, key)).toBe(true);
    const want = r.pods.filter((p) => enrollmentBucket(r.contract, r.ns, p) < 50).sort();
    await waitFor(async () => enrolled((await core.listNamespacedPod({ namespace: r.ns })).items, key).join() === want.join(), { timeoutMs: 20_000, intervalMs: 100, what: 'the 50% pods enrolled' });

    // Complete: every policy as written, ownership handed off, labels off.
    await a.apply(stage(r.contract, r.policies, 2, true));
    const [done] = await cnps(r.ns);
    expect(done?.specs?.some((s) => hasEnrollment(s.endpointSelector, key))).toBe(false);
    expect(done?.metadata.ownerReferences ?? []).toEqual([]);
    expect(done?.metadata.labels?.['rampart.dev/contract']).toBe(r.contract);
    expect((await ccnp(ccnpName))?.spec?.endpointSelector).toEqual({ matchLabels: { 'k8s:io.kubernetes.pod.namespace': r.ns } });
    await waitFor(async () => enrolled((await core.listNamespacedPod({ namespace: r.ns })).items, key).length === 0, { timeoutMs: 20_000, intervalMs: 100, what: 'labels removed at Complete' });

    // Rollback: a second contract at 50 % goes back to monitor; its Cilium policies and labels go.
    const s = await rig();
    const b = s.actuation.actuator;
    const sKey = b.enrollLabel(s.contract);
    await b.apply(stage(s.contract, s.policies, 1));
    expect(await cnps(s.ns)).toHaveLength(1);
    await b.apply(stage(s.contract, s.policies, 0));
    expect(await cnps(s.ns)).toEqual([]);
    expect(await ccnp(`${s.contract}-no-metadata`)).toBeNull();
    await waitFor(async () => enrolled((await core.listNamespacedPod({ namespace: s.ns })).items, sKey).length === 0, { timeoutMs: 20_000, intervalMs: 100, what: 'labels removed on rollback' });
  });

  it('applies a contract\'s CNP and CCNP with an actuator started before the CRDs were installed', async () => {
    const r = await rig(early);
    const a = r.actuation.actuator;
    // The reconciler applies again until a stage is in force; the kind is asked for again meanwhile.
    await waitFor(
      async () => {
        try {
          await a.apply(stage(r.contract, r.policies, 1));
          return true;
        } catch (e) {
          if (e instanceof Error && /does not serve ciliumnetworkpolicies/.test(e.message)) return false;
          throw e;
        }
      },
      { timeoutMs: 20_000, intervalMs: 200, what: 'the CNP applied once the CRD is served' },
    );
    const [cnp] = await cnps(r.ns);
    expect(cnp?.specs?.every((s) => hasEnrollment(s.endpointSelector, a.enrollLabel(r.contract)))).toBe(true);
    expect(hasEnrollment((await ccnp(`${r.contract}-no-metadata`))?.spec?.endpointSelector, a.enrollLabel(r.contract))).toBe(true);
    expect(a.problems(r.contract)).toEqual([]);
    await a.apply(stage(r.contract, r.policies, 0));
    expect(await cnps(r.ns)).toEqual([]);
  });

  it('puts back a CNP deleted outside Rampart (drift) and never overwrites one it does not manage', async () => {
    const r = await rig();
    const a = r.actuation.actuator;
    await a.apply(stage(r.contract, r.policies, 1));
    await customObjects(kc).deleteNamespacedCustomObject({ group: 'cilium.io', version: 'v2', plural: 'ciliumnetworkpolicies', namespace: r.ns, name: 'api-from-web' });
    await waitFor(async () => (await cnps(r.ns)).length === 1, { timeoutMs: 20_000, intervalMs: 100, what: 'the deleted CNP put back' });

    // Someone else's CNP of the same name: the contract is blocked with a problem naming it.
    const other = await rig();
    await customObjects(kc).createNamespacedCustomObject({
      group: 'cilium.io',
      version: 'v2',
      plural: 'ciliumnetworkpolicies',
      namespace: other.ns,
      body: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'api-from-web', namespace: other.ns }, spec: { endpointSelector: {}, ingress: [{}] } },
    });
    await expect(other.actuation.actuator.apply(stage(other.contract, other.policies, 1))).rejects.toThrow(/CiliumNetworkPolicy .*api-from-web already exists and is not managed by Rampart/);
    const [theirs] = await cnps(other.ns);
    expect(theirs?.spec?.endpointSelector).toEqual({});
  });

  it('the baseline holds the cluster\'s CNPs and CCNPs, with their owners', async () => {
    const ns = uniqueName('ns');
    await createNamespace(kc, ns);
    const name = uniqueName('hand');
    await customObjects(kc).createNamespacedCustomObject({
      group: 'cilium.io',
      version: 'v2',
      plural: 'ciliumnetworkpolicies',
      namespace: ns,
      body: { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace: ns }, spec: { endpointSelector: {}, egress: [{ toFQDNs: [{ matchName: 'api.example.com' }] }] } },
    });
    await customObjects(kc).createClusterCustomObject({
      group: 'cilium.io',
      version: 'v2',
      plural: 'ciliumclusterwidenetworkpolicies',
      body: { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name, labels: { 'rampart.dev/contract': 'someone' } }, spec: { endpointSelector: {}, ingressDeny: [{ fromEntities: ['world'] }] } },
    });
    const found = await waitFor(
      () => {
        const refs = baseline.snapshot().policies;
        const cnp = refs.find((p) => p.ref === `cnp:${ns}/${name}`);
        const cc = refs.find((p) => p.ref === `ccnp:${name}`);
        return cnp !== undefined && cc !== undefined ? { cnp, cc } : false;
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'the CNP and CCNP in the baseline' },
    );
    expect(found.cnp.owner).toBeNull();
    expect(found.cc.owner).toBe('someone');
    expect(found.cnp.manifest).toMatchObject({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace: ns }, spec: { egress: [{ toFQDNs: [{ matchName: 'api.example.com' }] }] } });
  });
});
