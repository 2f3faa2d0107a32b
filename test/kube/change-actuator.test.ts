/**
 * A contract that replaces an unmanaged policy and removes another, against the real
 * kube-apiserver (product.md "Changes to what is enforced"): monitor → 10% → 50% → 100% →
 * Complete. At each enforcing stage the originals carry only the exclusion entry and the new
 * text runs as a managed copy; at 50% enrolled pods are governed by the new text only and
 * the others by the old text only, read from the objects and seen in the simulated
 * datapath's drops (sim/ on the same API server). Rollback from 50% restores both originals
 * byte for byte; an owner's edit mid-ramp is the new *before* (a baseline revision); a
 * contract deleted while no replica leads still ends with the originals restored.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { createKubernetesActuator, type KubernetesActuator } from '../../controlplane/actuation/kubernetes-actuator.js';
import { selectorMatches } from '../../core/policy/index.js';
import { KubernetesBaselineSource } from '../../controlplane/baseline/kube-baseline-source.js';
import { copyName, RESTORE_FINALIZER } from '../../controlplane/contracts/originals.js';
import { enrollmentBucket } from '../../core/contract/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import { silentLogger } from '../../io/json-logger.js';
import { parseClusterSpec } from '../../sim/cluster-spec.js';
import type { SimPod } from '../../sim/cluster.js';
import type { Connection } from '../../sim/connection.js';
import { CorePolicyJudge } from '../../sim/core-judge.js';
import { KubeDatapath } from '../../sim/kube-datapath.js';
import { Simulator } from '../../sim/simulator.js';
import { customObjects, GROUP, installCrd, loadKubeConfig, PLURAL, uniqueName, VERSION } from '../support/kube/client.js';
import { coreApi, createContract } from '../support/kube/objects.js';
import { rampStage } from '../support/kube/ramp-stages.js';
import { waitFor } from '../support/wait-for.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const objects = customObjects(kc);
const core = coreApi(kc);
const NP = { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies' } as const;

const REPLACED = 'api-from-anyone';
const REMOVED = 'legacy-batch-to-api';

/** What the cluster enforces before the contract: api isolated; anyone on 8080 (over-broad), batch on 9000. */
const originals = (ns: string): Record<string, unknown>[] => [
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-ingress', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: REPLACED, namespace: ns, labels: { team: 'shop' }, annotations: { owner: 'gitops' } },
    spec: { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ ports: [{ port: 8080 }] }] },
  },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: REMOVED, namespace: ns, labels: { team: 'legacy' } },
    spec: { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'batch' } } }], ports: [{ port: 9000 }] }] },
  },
];

/** The new text of the replaced policy: only web, on 8080. */
const newText = (ns: string): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: REPLACED, namespace: ns },
  spec: { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080 }] }] },
});

interface Rig {
  readonly ns: string;
  readonly contract: string;
  readonly key: string;
  readonly actuator: KubernetesActuator;
  readonly sim: Simulator;
  readonly baseline: KubernetesBaselineSource;
  /** The originals as the API server returned them after creation. */
  readonly before: Map<string, RawPolicy>;
  leader: boolean;
}

interface RawPolicy {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string>; finalizers?: string[] };
  spec: { podSelector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string }[] }; ingress?: unknown[]; policyTypes?: string[] };
}

const controllers: AbortController[] = [];
// One actuator at a time, as one leader: a leftover one would act on this test's contract too.
afterEach(() => {
  for (const c of controllers.splice(0)) c.abort();
});

async function rig(): Promise<Rig> {
  const ns = uniqueName('chg');
  const contract = uniqueName('narrow');
  const spec = parseClusterSpec({
    cluster: 'change-test',
    nodes: 1,
    namespaces: [{ name: ns }],
    workloads: [
      { namespace: ns, name: 'web', replicas: 2, labels: { app: 'web' } },
      { namespace: ns, name: 'api', replicas: 12, labels: { app: 'api' }, ports: [{ name: 'http', port: 8080 }, { name: 'admin', port: 9000 }] },
      { namespace: ns, name: 'batch', replicas: 2, labels: { app: 'batch' } },
    ],
    calls: [],
    dns: { perCall: 0 },
    policies: originals(ns),
  });
  if (!spec.ok) throw new Error(JSON.stringify(spec.error));
  const sim = new Simulator({ spec: spec.value, judge: (cluster) => new CorePolicyJudge(cluster), sink: { publish: () => undefined }, seed: 7 });
  const datapath = new KubeDatapath({ kc, simulator: sim, spec: spec.value, log: silentLogger });
  await datapath.provision();
  const controller = new AbortController();
  controllers.push(controller);
  await datapath.start(controller.signal);
  await createContract(kc, contract, [newText(ns)], { replaces: [{ namespace: ns, name: REPLACED }], removes: [{ namespace: ns, name: REMOVED }] });
  const state = { leader: true };
  const actuator = createKubernetesActuator({ kc, log: silentLogger, isLeader: () => state.leader, resyncMs: 300 });
  await actuator.start(controller.signal);
  const baseline = new KubernetesBaselineSource({ kc, log: silentLogger });
  await baseline.start(controller.signal);
  const before = new Map<string, RawPolicy>();
  for (const name of [REPLACED, REMOVED]) before.set(name, await read(ns, name) as RawPolicy);
  return {
    ns,
    contract,
    key: `enroll.rampart.dev/${contract}`,
    actuator,
    sim,
    baseline,
    before,
    get leader() {
      return state.leader;
    },
    set leader(v: boolean) {
      state.leader = v;
    },
  };
}

function stage(r: Rig, index: number, complete = false): AppliedStage {
  return rampStage(r.contract, [newText(r.ns)], index, {
    complete,
    replaces: [{ kind: 'NetworkPolicy', namespace: r.ns, name: REPLACED }],
    removes: [{ kind: 'NetworkPolicy', namespace: r.ns, name: REMOVED }],
  });
}

async function applied(r: Rig, s: AppliedStage): Promise<void> {
  await r.actuator.apply(s);
  await waitFor(() => r.actuator.status(r.contract).appliedKey !== null && r.actuator.status(r.contract).appliedKey === r.actuator.status(r.contract).wantedKey, { timeoutMs: 15_000, what: `stage ${s.stageName} applied` });
  await r.actuator.idle();
}

async function read(ns: string, name: string): Promise<RawPolicy | null> {
  try {
    return (await objects.getNamespacedCustomObject({ ...NP, namespace: ns, name })) as RawPolicy;
  } catch {
    return null;
  }
}

async function apiPods(r: Rig): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: r.ns, labelSelector: 'app=api' })).items;
}

/** The original as it must look at an enforcing stage: its owner's object, plus the one entry. */
function expectExcluded(r: Rig, live: RawPolicy | null, name: string): void {
  const was = r.before.get(name)!;
  expect(live).not.toBeNull();
  expect(live!.spec).toEqual({ ...was.spec, podSelector: { ...was.spec.podSelector, matchExpressions: [{ key: r.key, operator: 'DoesNotExist' }] } });
  expect(live!.metadata.labels).toEqual(was.metadata.labels);
  expect(live!.metadata.annotations).toEqual(was.metadata.annotations);
}

/** Byte for byte: the spec as the API server serialises it, and the owner's metadata. */
function expectRestored(r: Rig, live: RawPolicy | null, name: string): void {
  const was = r.before.get(name)!;
  expect(JSON.stringify(live?.spec)).toBe(JSON.stringify(was.spec));
  expect(live!.metadata.labels).toEqual(was.metadata.labels);
  expect(live!.metadata.annotations).toEqual(was.metadata.annotations);
}

const conn = (r: Rig, from: SimPod, to: SimPod, port: number): Connection => ({
  src: { kind: 'pod', pod: from, workload: r.sim.cluster.workloads.get(from.workload)! },
  dst: { kind: 'pod', pod: to, workload: r.sim.cluster.workloads.get(to.workload)! },
  srcPort: 40000,
  dstPort: port,
  protocol: 'TCP',
  service: null,
});

/** What the simulated datapath admits into each api pod: `pod: web:8080 batch:8080 batch:9000` as allow/drop. */
function datapathView(r: Rig): Map<string, string> {
  const pods = r.sim.cluster.pods;
  const web = pods.find((p) => p.labels['app'] === 'web')!;
  const batch = pods.find((p) => p.labels['app'] === 'batch')!;
  const out = new Map<string, string>();
  for (const api of pods.filter((p) => p.labels['app'] === 'api')) {
    const verdicts = [conn(r, web, api, 8080), conn(r, batch, api, 8080), conn(r, batch, api, 9000)].map((c) => (r.sim.enforcement.decide(c, 'ingress').allowed ? 'allow' : 'drop'));
    out.set(api.name, verdicts.join(' '));
  }
  return out;
}

const OLD_TEXT = 'allow allow allow';
const NEW_TEXT = 'allow drop drop';

describe('a contract that replaces and removes policies in force', () => {
  beforeAll(async () => {
    await installCrd(kc);
  });

  it('ramps monitor → 10% → 50% → 100% → Complete: enrolled pods get the new text only, the others the old text only', async () => {
    const r = await rig();
    const copy = copyName(r.contract, REPLACED);
    await applied(r, stage(r, 0));
    expectRestored(r, await read(r.ns, REPLACED), REPLACED);
    expectRestored(r, await read(r.ns, REMOVED), REMOVED);
    expect(await read(r.ns, copy)).toBeNull();
    await waitFor(() => [...datapathView(r).values()].every((v) => v === OLD_TEXT), { what: 'the datapath enforcing the old text everywhere' });

    for (const index of [1, 2, 3]) {
      const s = stage(r, index);
      await applied(r, s);
      expectExcluded(r, await read(r.ns, REPLACED), REPLACED);
      expectExcluded(r, await read(r.ns, REMOVED), REMOVED);
      const c = await read(r.ns, copy);
      expect(c!.spec.podSelector).toEqual({ matchLabels: { app: 'api' }, matchExpressions: [{ key: r.key, operator: 'Exists' }] });
      expect(c!.spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080, protocol: 'TCP' }] }]);
      expect(c!.metadata.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'rampart', 'rampart.dev/contract': r.contract });
      const pods = await apiPods(r);
      const enrolled = pods.filter((p) => p.metadata?.labels?.[r.key] === 'true').map((p) => p.metadata!.name!).sort();
      expect(enrolled).toEqual(pods.map((p) => p.metadata!.name!).filter((n) => s.percent >= 100 || enrollmentBucket(r.contract, r.ns, n) < s.percent).sort());
      // The finalizer is on while pods carry labels and originals the entry.
      expect(((await objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: r.contract })) as RawPolicy).metadata.finalizers).toContain(RESTORE_FINALIZER);

      if (s.percent === 50) {
        expect(enrolled.length).toBeGreaterThan(0);
        expect(enrolled.length).toBeLessThan(pods.length);
        // Read from the objects: which policies select each api pod with its live labels.
        const live = [await read(r.ns, REPLACED), await read(r.ns, REMOVED), c];
        for (const pod of pods) {
          const labels = pod.metadata?.labels ?? {};
          const selecting = live.filter((p) => selectorMatches(p!.spec.podSelector, labels)).map((p) => p!.metadata.name);
          expect(selecting, pod.metadata!.name).toEqual(enrolled.includes(pod.metadata!.name!) ? [copy] : [REPLACED, REMOVED]);
        }
        // And in the simulated datapath: drops exactly where the new text denies, on enrolled pods only.
        const want = new Map(pods.map((p) => [p.metadata!.name!, enrolled.includes(p.metadata!.name!) ? NEW_TEXT : OLD_TEXT]));
        await waitFor(() => JSON.stringify([...datapathView(r)].sort()) === JSON.stringify([...want].sort()), { what: 'the datapath to enforce the 50% stage' }).catch(() => {
          expect(Object.fromEntries(datapathView(r))).toEqual(Object.fromEntries(want));
        });
        // The agents' baseline: the originals as their owners wrote them, never with the entry.
        const base = r.baseline.snapshot().policies.find((p) => p.ref === `${r.ns}/${REPLACED}`)!;
        expect((base.manifest as RawPolicy).spec).toEqual(r.before.get(REPLACED)!.spec);
      }
    }

    await applied(r, stage(r, 3, true));
    const replaced = await read(r.ns, REPLACED);
    expect(replaced!.spec).toEqual({ ...(newText(r.ns)['spec'] as object), ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080, protocol: 'TCP' }] }], policyTypes: ['Ingress'] });
    expect(replaced!.metadata.labels).toEqual(r.before.get(REPLACED)!.metadata.labels);
    expect(await read(r.ns, REMOVED)).toBeNull();
    expect(await read(r.ns, copy)).toBeNull();
    expect((await apiPods(r)).filter((p) => p.metadata?.labels?.[r.key] !== undefined)).toEqual([]);
    await waitFor(async () => !(((await objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: r.contract })) as RawPolicy).metadata.finalizers ?? []).includes(RESTORE_FINALIZER), { what: 'the finalizer released' });
    await waitFor(() => [...datapathView(r).values()].every((v) => v === NEW_TEXT), { what: 'the datapath enforcing the new text everywhere' });
  });

  it('rollback from 50% restores both originals byte for byte; an owner edit mid-ramp is the new before', async () => {
    const r = await rig();
    await applied(r, stage(r, 2));
    const revision = r.baseline.snapshot().revision;
    // The owner edits the replaced policy mid-ramp (a whole-object update, as kubectl edit does): port 8081.
    const live = (await read(r.ns, REPLACED))!;
    const edited = { ...live, spec: { ...r.before.get(REPLACED)!.spec, ingress: [{ ports: [{ port: 8081, protocol: 'TCP' }] }] } };
    await objects.replaceNamespacedCustomObject({ ...NP, namespace: r.ns, name: REPLACED, body: edited, fieldManager: 'kubectl-edit' });
    // The entry is put back on the owner's new text, which the baseline now holds (a new revision).
    await waitFor(async () => ((await read(r.ns, REPLACED))!.spec.podSelector.matchExpressions ?? []).length === 1, { timeoutMs: 10_000, what: 'the exclusion entry put back' });
    const now = (await read(r.ns, REPLACED))!;
    expect(now.spec.ingress).toEqual([{ ports: [{ port: 8081, protocol: 'TCP' }] }]);
    // A new revision that holds the owner's edit (an earlier one may come first: the watch also
    // sees the entry taken off and put back around the edit).
    const holdsEdit = (): boolean => JSON.stringify((r.baseline.snapshot().policies.find((p) => p.ref === `${r.ns}/${REPLACED}`)?.manifest as RawPolicy | undefined)?.spec?.ingress ?? null).includes('8081');
    await waitFor(() => r.baseline.snapshot().revision !== revision && holdsEdit(), { what: "a new baseline revision with the owner's edit" });
    const base = r.baseline.snapshot().policies.find((p) => p.ref === `${r.ns}/${REPLACED}`)!;
    expect((base.manifest as RawPolicy).spec).toEqual({ ...r.before.get(REPLACED)!.spec, ingress: [{ ports: [{ port: 8081, protocol: 'TCP' }] }] });
    r.before.set(REPLACED, { ...r.before.get(REPLACED)!, spec: (base.manifest as RawPolicy).spec });

    await applied(r, stage(r, 0));
    expectRestored(r, await read(r.ns, REPLACED), REPLACED);
    expectRestored(r, await read(r.ns, REMOVED), REMOVED);
    expect(await read(r.ns, copyName(r.contract, REPLACED))).toBeNull();
    expect((await apiPods(r)).filter((p) => p.metadata?.labels?.[r.key] !== undefined)).toEqual([]);
    await waitFor(async () => !(((await objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: r.contract })) as RawPolicy).metadata.finalizers ?? []).includes(RESTORE_FINALIZER), { what: 'the finalizer released' });
  });

  it('a namespaces stage: every pod of the enrolled namespace that the originals or the contract select gets the new text', async () => {
    const r = await rig();
    await applied(r, { ...stage(r, 1), stageName: 'data', mode: 'namespaces', percent: 0, namespaces: [r.ns] });
    expectExcluded(r, await read(r.ns, REPLACED), REPLACED);
    expectExcluded(r, await read(r.ns, REMOVED), REMOVED);
    const pods = await apiPods(r);
    expect(pods.filter((p) => p.metadata?.labels?.[r.key] !== 'true')).toEqual([]);
    expect((await read(r.ns, copyName(r.contract, REPLACED)))!.spec.podSelector.matchExpressions).toEqual([{ key: r.key, operator: 'Exists' }]);
    await waitFor(() => [...datapathView(r).values()].every((v) => v === NEW_TEXT), { what: 'the datapath enforcing the new text in the enrolled namespace' });
    // A namespaces stage that does not list the namespace: the old text, exactly.
    await applied(r, { ...stage(r, 1), stageName: 'elsewhere', mode: 'namespaces', percent: 0, namespaces: ['elsewhere'] });
    expectRestored(r, await read(r.ns, REPLACED), REPLACED);
    expect((await apiPods(r)).filter((p) => p.metadata?.labels?.[r.key] !== undefined)).toEqual([]);
    await waitFor(() => [...datapathView(r).values()].every((v) => v === OLD_TEXT), { what: 'the datapath back on the old text' });
  });

  it('a contract deleted while no replica leads ends with the originals restored and the labels gone', async () => {
    const r = await rig();
    await applied(r, stage(r, 2));
    r.leader = false;
    await objects.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: r.contract });
    // The finalizer holds the object: nothing is put back while no replica leads.
    const held = (await objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: r.contract })) as { metadata: { deletionTimestamp?: string } };
    expect(held.metadata.deletionTimestamp).toBeDefined();
    expectExcluded(r, await read(r.ns, REPLACED), REPLACED);
    r.leader = true;
    await waitFor(
      async () => {
        try {
          await objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: r.contract });
          return false;
        } catch {
          return true;
        }
      },
      { timeoutMs: 15_000, what: 'the contract gone once its restore is done' },
    );
    expectRestored(r, await read(r.ns, REPLACED), REPLACED);
    expectRestored(r, await read(r.ns, REMOVED), REMOVED);
    expect((await apiPods(r)).filter((p) => p.metadata?.labels?.[r.key] !== undefined)).toEqual([]);
    expect(await read(r.ns, copyName(r.contract, REPLACED))).toBeNull();
  });
});
