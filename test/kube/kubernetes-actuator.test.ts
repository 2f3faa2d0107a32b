/**
 * The Kubernetes actuator against the real API server: each stage as real NetworkPolicies
 * and pod labels (product.md "Applying a stage"), new pods enrolled as they appear, name
 * clashes that block, drift put back, deletion before Complete and the hand-off at Complete.
 */
import { appendFileSync } from 'node:fs';
import type { V1ObjectMeta, V1Pod } from '@kubernetes/client-node';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { RESTORE_FINALIZER } from '../../controlplane/contracts/originals.js';
import { enrollmentBucket } from '../../core/contract/index.js';
import type { AppliedStage } from '../../core/rollout/applied-stage.js';
import type { ActuationEvent } from '../../controlplane/actuation/actuation-events.js';
import { createKubernetesActuator, type KubernetesActuator } from '../../controlplane/actuation/kubernetes-actuator.js';
import { createJsonLogger, silentLogger } from '../../io/json-logger.js';
import { customObjects, installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { coreApi, createContract, createNamespace, createPod, deleteContract, networking } from '../support/kube/objects.js';
import { startKubeControllerManager, type KubeControllerManager } from '../support/kube/controller-manager.js';
import { rampStage } from '../support/kube/ramp-stages.js';
import { waitFor } from '../support/wait-for.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const net = networking(kc);
const core = coreApi(kc);

const policiesFor = (ns: string): unknown[] => [
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'web-to-api', namespace: ns },
    spec: {
      podSelector: { matchLabels: { app: 'api' } },
      ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080 }] }],
    },
  },
];

const stage = (contract: string, policies: unknown[], index: number, complete = false): AppliedStage => rampStage(contract, policies, index, { complete });

interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string }[];
}
interface RawPolicy {
  metadata: V1ObjectMeta;
  spec: { podSelector: Selector; ingress?: { from?: unknown[] }[] };
}

/** Plain JSON (the typed client would rename `from` to `_from`). */
async function listPolicies(ns: string): Promise<RawPolicy[]> {
  const list = (await customObjects(kc).listNamespacedCustomObject({ group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', namespace: ns })) as { items: RawPolicy[] };
  return list.items;
}
async function listPods(ns: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: ns })).items;
}
const enrolled = (pods: V1Pod[], key: string): string[] =>
  pods
    .filter((p) => p.metadata?.labels?.[key] === 'true')
    .map((p) => p.metadata!.name!)
    .sort();

interface Rig {
  readonly contract: string;
  readonly ns: string;
  readonly uid: string;
  readonly policies: unknown[];
  readonly actuator: KubernetesActuator;
  readonly events: ActuationEvent[];
  leader: boolean;
  readonly podNames: string[];
}

const rigs: AbortController[] = [];
// One actuator at a time, as one leader: a leftover one would act on a later test's contracts
// too (a leader puts back what a contract being deleted changed, whoever applied it).
afterEach(() => {
  for (const r of rigs.splice(0)) r.abort();
});

/**
 * Deletes a contract past its restore finalizer, as an administrator forcing it through
 * would: what is left is the garbage collector's, through the ownerReferences alone.
 */
async function forceDelete(name: string): Promise<void> {
  await deleteContract(kc, name);
  const held = (await customObjects(kc).getClusterCustomObject({ group: 'rampart.dev', version: 'v1alpha1', plural: 'rampcontracts', name })) as { metadata: { deletionTimestamp?: string; finalizers?: string[] } };
  // While a percent stage holds pod labels, the finalizer keeps the contract until a leader restores them.
  expect(held.metadata.deletionTimestamp).toBeDefined();
  expect(held.metadata.finalizers).toContain(RESTORE_FINALIZER);
  await customObjects(kc).patchClusterCustomObject(
    { group: 'rampart.dev', version: 'v1alpha1', plural: 'rampcontracts', name, body: { metadata: { finalizers: null } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

async function rig(opts: { pods?: number; leader?: boolean } = {}): Promise<Rig> {
  const contract = uniqueName('act');
  const ns = uniqueName('ns');
  await createNamespace(kc, ns);
  const podNames: string[] = [];
  const count = opts.pods ?? 30;
  await Promise.all(
    Array.from({ length: count }, (_, i) => {
      const name = `${i % 3 === 0 ? 'web' : 'api'}-${i}`;
      podNames.push(name);
      return createPod(kc, ns, name, { app: i % 3 === 0 ? 'web' : 'api' });
    }),
  );
  const policies = policiesFor(ns);
  const { uid } = await createContract(kc, contract, policies);
  const events: ActuationEvent[] = [];
  const state = { leader: opts.leader ?? true };
  const controller = new AbortController();
  rigs.push(controller);
  const actuator = createKubernetesActuator({
    kc,
    log: process.env.RAMPART_TEST_LOG ? createJsonLogger('debug', (line) => appendFileSync(process.env.RAMPART_TEST_LOG!, line)) : silentLogger,
    isLeader: () => state.leader,
    events: { emit: (e) => events.push(e) },
    resyncMs: 500,
  });
  await actuator.start(controller.signal);
  const r: Rig = {
    contract,
    ns,
    uid,
    policies,
    actuator,
    events,
    podNames,
    get leader() {
      return state.leader;
    },
    set leader(v: boolean) {
      state.leader = v;
    },
  };
  return r;
}

/**
 * Resolves once the actuator has started `count` passes after this call (it counts each in
 * stats().syncs; the rig resyncs every 500 ms): the event to wait on before asserting that
 * it wrote nothing, instead of a sleep. Call it before the action whose pass it waits for.
 */
function passesAfter(r: Rig, count: number): Promise<void> {
  const start = r.actuator.stats().syncs;
  return waitFor(() => r.actuator.stats().syncs >= start + count, { timeoutMs: 10_000, what: `${count} more actuator passes` }).then(() => undefined);
}

/** Waits until the actuator has fully applied `s` (it writes in the background). */
async function applied(r: Rig, s: AppliedStage): Promise<void> {
  await r.actuator.apply(s);
  await waitFor(() => r.actuator.status(r.contract).appliedKey === r.actuator.status(r.contract).wantedKey && r.actuator.status(r.contract).appliedKey !== null, {
    timeoutMs: 15_000,
    what: `stage ${s.stageName} applied`,
  }).catch((e: unknown) => {
    throw new Error(`${e instanceof Error ? e.message : String(e)}; actuator status ${JSON.stringify(r.actuator.status(r.contract))}`);
  });
  await r.actuator.idle();
}

describe('Kubernetes actuator', () => {
  beforeAll(async () => {
    await installCrd(kc);
  });

  it('ramps monitor → 10% → 50% → 100% → Complete on real NetworkPolicies and pod labels', async () => {
    const r = await rig();
    const key = `enroll.rampart.dev/${r.contract}`;
    const expectedAt = (p: number): string[] => r.podNames.filter((n) => p >= 100 || enrollmentBucket(r.contract, r.ns, n) < p).sort();

    await applied(r, stage(r.contract, r.policies, 0));
    expect(await listPolicies(r.ns)).toHaveLength(0);
    expect(enrolled(await listPods(r.ns), key)).toEqual([]);

    let before: string[] = [];
    for (const index of [1, 2, 3]) {
      const s = stage(r.contract, r.policies, index);
      await applied(r, s);
      const pods = await listPods(r.ns);
      const now = enrolled(pods, key);
      // The enrolled set is exactly the hash's, and monotonic: a pod in the 10% stays in the 50%.
      expect(now).toEqual(expectedAt(s.percent));
      expect(before.every((n) => now.includes(n))).toBe(true);
      before = now;
      const nps = await listPolicies(r.ns);
      expect(nps.map((n) => n.metadata!.name).sort()).toEqual(['default-deny', 'web-to-api']);
      for (const np of nps) {
        expect(np.metadata!.labels).toMatchObject({ 'app.kubernetes.io/managed-by': 'rampart', 'rampart.dev/contract': r.contract });
        expect(np.metadata!.annotations).toMatchObject({ 'rampart.dev/revision': '1', 'rampart.dev/stage': s.stageName });
        expect(np.metadata!.ownerReferences).toEqual([expect.objectContaining({ kind: 'RampContract', name: r.contract, uid: r.uid, apiVersion: 'rampart.dev/v1alpha1' })]);
        expect(np.spec!.podSelector.matchExpressions).toEqual([{ key, operator: 'Exists' }]);
        expect(np.metadata!.managedFields?.some((m) => m.manager === 'rampart' && m.operation === 'Apply')).toBe(true);
      }
      // Peers are never changed.
      const webToApi = nps.find((n) => n.metadata!.name === 'web-to-api')!;
      expect(webToApi.spec!.podSelector.matchLabels).toEqual({ app: 'api' });
      expect(webToApi.spec!.ingress![0]!.from).toEqual([{ podSelector: { matchLabels: { app: 'web' } } }]);
    }
    expect(before).toHaveLength(r.podNames.length);

    await applied(r, stage(r.contract, r.policies, 3, true));
    const nps = await listPolicies(r.ns);
    expect(nps).toHaveLength(2);
    for (const np of nps) {
      expect(np.spec!.podSelector.matchExpressions ?? []).toEqual([]);
      expect(np.metadata!.ownerReferences ?? []).toEqual([]);
      expect(np.metadata!.labels!['rampart.dev/contract']).toBe(r.contract);
      expect(np.metadata!.annotations!['rampart.dev/stage']).toBe('Complete');
    }
    expect(enrolled(await listPods(r.ns), key)).toEqual([]);
    expect(r.events.filter((e) => e.reason === 'StageApplied')).toHaveLength(5);
    // Level-triggered but quiet: resyncs of a held stage write nothing and report no drift.
    const writes = (): number => r.actuator.stats().policyWrites + r.actuator.stats().labelWrites + r.actuator.stats().policyDeletes;
    const before2 = writes();
    const syncs = r.actuator.stats().syncs;
    await waitFor(() => r.actuator.stats().syncs >= syncs + 2, { what: 'two resyncs' });
    await r.actuator.idle();
    expect(writes()).toBe(before2);
    expect(r.actuator.stats().driftCorrections).toBe(0);
  });

  it('enrolls a new pod as it appears', async () => {
    const r = await rig({ pods: 3 });
    const key = `enroll.rampart.dev/${r.contract}`;
    await applied(r, stage(r.contract, r.policies, 3));
    const latencies: number[] = [];
    for (let i = 0; i < 5; i++) {
      const name = `late-api-${i}`;
      const t0 = performance.now();
      await createPod(kc, r.ns, name, { app: 'api' });
      await waitFor(async () => (await core.readNamespacedPod({ name, namespace: r.ns })).metadata?.labels?.[key] === 'true', { timeoutMs: 10_000, intervalMs: 10, what: `${name} enrolled` });
      latencies.push(performance.now() - t0);
    }
    process.stderr.write(`kube: pod created → enrollment label visible: ${latencies.map((l) => `${Math.round(l)} ms`).join(', ')}; actuator event → label written: ${r.actuator.stats().podEnrollLatenciesMs.map((l) => `${l} ms`).join(', ')}\n`);
    expect(r.actuator.stats().podEnrollLatenciesMs.length).toBeGreaterThanOrEqual(5);
    // A pod no contract policy selects is left alone.
    await createNamespace(kc, `${r.ns}-other`);
    await createPod(kc, `${r.ns}-other`, 'stranger', { app: 'api' });
    // The pod watch delivers events in order: once a pod created after the stranger is
    // enrolled, the actuator has seen the stranger too.
    await createPod(kc, r.ns, 'after-stranger', { app: 'api' });
    await waitFor(async () => (await core.readNamespacedPod({ name: 'after-stranger', namespace: r.ns })).metadata?.labels?.[key] === 'true', { timeoutMs: 10_000, what: 'the pod after the stranger enrolled' });
    await r.actuator.idle();
    expect((await core.readNamespacedPod({ name: 'stranger', namespace: `${r.ns}-other` })).metadata?.labels?.[key]).toBeUndefined();
  });

  it('blocks on a NetworkPolicy of the same name that Rampart does not manage, and never overwrites it', async () => {
    const r = await rig({ pods: 3 });
    const theirs = { metadata: { name: 'default-deny', namespace: r.ns, labels: { team: 'platform' } }, spec: { podSelector: { matchLabels: { app: 'db' } }, policyTypes: ['Egress'] } };
    await net.createNamespacedNetworkPolicy({ namespace: r.ns, body: theirs });
    const blocked = r.actuator.apply(stage(r.contract, r.policies, 1));
    await expect(blocked).rejects.toThrow(/not managed by Rampart/);
    const problems = await waitFor(() => (r.actuator.problems(r.contract).length > 0 ? r.actuator.problems(r.contract) : null), { what: 'a clash problem' });
    expect(problems[0]!.message).toContain(`NetworkPolicy ${r.ns}/default-deny already exists and is not managed by Rampart`);
    expect(problems[0]!.path).toBe('spec.policies[0]');
    await passesAfter(r, 2); // it had two more chances to write, and did not
    await r.actuator.idle();
    const live = await net.readNamespacedNetworkPolicy({ name: 'default-deny', namespace: r.ns });
    expect(live.spec!.podSelector!.matchLabels).toEqual({ app: 'db' });
    expect(live.metadata!.labels).toEqual({ team: 'platform' });
    // Nothing of the contract was written while it clashes.
    expect((await listPolicies(r.ns)).map((n) => n.metadata!.name)).toEqual(['default-deny']);
    expect(enrolled(await listPods(r.ns), `enroll.rampart.dev/${r.contract}`)).toEqual([]);
    expect(r.events.some((e) => e.reason === 'NameClash' && e.note.includes('default-deny'))).toBe(true);
    // Once the clash is gone, the stage applies.
    await net.deleteNamespacedNetworkPolicy({ name: 'default-deny', namespace: r.ns });
    await waitFor(() => r.actuator.problems(r.contract).length === 0, { what: 'the clash to clear' });
    await waitFor(async () => (await listPolicies(r.ns)).length === 2, { timeoutMs: 10_000, what: 'both policies applied' });
  });

  it('puts back drift: an edited policy, a deleted policy, a removed enrollment label', async () => {
    const r = await rig({ pods: 6 });
    const key = `enroll.rampart.dev/${r.contract}`;
    await applied(r, stage(r.contract, r.policies, 3));
    // Someone edits the managed policy (another field manager).
    await net.patchNamespacedNetworkPolicy(
      { name: 'web-to-api', namespace: r.ns, body: { spec: { podSelector: { matchLabels: { app: 'nothing' } } } }, fieldManager: 'kubectl-edit' },
      (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
    await waitFor(async () => (await net.readNamespacedNetworkPolicy({ name: 'web-to-api', namespace: r.ns })).spec!.podSelector!.matchLabels?.app === 'api', {
      timeoutMs: 10_000,
      what: 'the edited policy put back',
    });
    await net.deleteNamespacedNetworkPolicy({ name: 'default-deny', namespace: r.ns });
    await waitFor(async () => (await listPolicies(r.ns)).some((n) => n.metadata!.name === 'default-deny'), { timeoutMs: 10_000, what: 'the deleted policy put back' });
    const victim = r.podNames[1]!;
    await core.patchNamespacedPod(
      { name: victim, namespace: r.ns, body: { metadata: { labels: { [key]: null } } } },
      (await import('@kubernetes/client-node')).setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    );
    await waitFor(async () => (await core.readNamespacedPod({ name: victim, namespace: r.ns })).metadata?.labels?.[key] === 'true', { timeoutMs: 10_000, what: 'the label put back' });
    await waitFor(() => r.events.filter((e) => e.reason === 'DriftCorrected').length >= 3, { what: 'three drift events' });
    const notes = r.events.filter((e) => e.reason === 'DriftCorrected').map((e) => e.note);
    expect(notes.some((n) => n.includes('web-to-api') && n.includes('changed'))).toBe(true);
    expect(notes.some((n) => n.includes('default-deny') && n.includes('deleted'))).toBe(true);
    expect(notes.some((n) => n.includes(victim) && n.includes('label'))).toBe(true);
  });

  it('rolls back to monitor by deleting what it applied; a deleted contract before Complete leaves nothing', async () => {
    const r = await rig({ pods: 6 });
    const key = `enroll.rampart.dev/${r.contract}`;
    await applied(r, stage(r.contract, r.policies, 2));
    expect(await listPolicies(r.ns)).toHaveLength(2);
    await applied(r, stage(r.contract, r.policies, 0));
    expect(await listPolicies(r.ns)).toHaveLength(0);
    expect(enrolled(await listPods(r.ns), key)).toEqual([]);
    await applied(r, stage(r.contract, r.policies, 3));
    expect(await listPolicies(r.ns)).toHaveLength(2);
    // The contract is deleted (GC would collect through the ownerReference; the actuator deletes explicitly too).
    await deleteContract(kc, r.contract);
    await r.actuator.remove(r.contract);
    await waitFor(async () => (await listPolicies(r.ns)).length === 0, { timeoutMs: 10_000, what: 'the policies removed' });
    await waitFor(async () => enrolled(await listPods(r.ns), key).length === 0, { timeoutMs: 10_000, what: 'the labels removed' });
  });

  it('hands off at Complete: deleting the finished contract keeps its policies', async () => {
    const r = await rig({ pods: 3 });
    await applied(r, stage(r.contract, r.policies, 3));
    await applied(r, stage(r.contract, r.policies, 3, true));
    await deleteContract(kc, r.contract);
    const removal = passesAfter(r, 1); // the pass remove() schedules
    await r.actuator.remove(r.contract);
    await removal;
    await r.actuator.idle();
    const nps = await listPolicies(r.ns);
    expect(nps.map((n) => n.metadata!.name).sort()).toEqual(['default-deny', 'web-to-api']);
    expect(nps.every((n) => (n.metadata!.ownerReferences ?? []).length === 0)).toBe(true);
  });

  it('writes nothing while it is not the leader, and catches up when it becomes one', async () => {
    const r = await rig({ pods: 3, leader: false });
    const pending = r.actuator.apply(stage(r.contract, r.policies, 3));
    await passesAfter(r, 2); // two passes (apply's and a resync) that could have written
    await r.actuator.idle();
    expect(await listPolicies(r.ns)).toHaveLength(0);
    expect(r.actuator.stats().policyWrites + r.actuator.stats().labelWrites).toBe(0);
    r.leader = true;
    r.actuator.resyncAll();
    await pending;
    expect(await listPolicies(r.ns)).toHaveLength(2);
  });

  it('applies a namespaces stage: the listed namespaces only, as written', async () => {
    const r = await rig({ pods: 3 });
    const other = `${r.ns}-b`;
    await createNamespace(kc, other);
    const policies = [...r.policies, ...policiesFor(other)];
    const s: AppliedStage = { contract: r.contract, revision: 2, stageIndex: 1, stageName: 'first-ns', mode: 'namespaces', percent: 0, namespaces: [other], policies, complete: false };
    await applied(r, s);
    expect(await listPolicies(r.ns)).toHaveLength(0);
    const nps = await listPolicies(other);
    expect(nps).toHaveLength(2);
    expect(nps.every((n) => (n.spec!.podSelector.matchExpressions ?? []).length === 0)).toBe(true);
    expect(nps.every((n) => n.metadata!.annotations!['rampart.dev/revision'] === '2')).toBe(true);
    await applied(r, { ...s, stageIndex: 2, stageName: 'all', namespaces: [other, r.ns] });
    expect(await listPolicies(r.ns)).toHaveLength(2);
  });
});

/**
 * With kube-controller-manager's garbage collector running: the ownerReference the actuator
 * writes really makes the contract own its policies (deleting the contract before Complete
 * deletes them, with no explicit delete by the actuator), and the hand-off at Complete
 * really leaves them to the cluster.
 */
describe('Kubernetes actuator with the garbage collector', () => {
  let kcm: KubeControllerManager | null = null;

  beforeAll(async () => {
    await installCrd(kc);
    kcm = await startKubeControllerManager({ binDir: inject('kubeBinDir'), kubeconfigPath: inject('kubeconfig') });
  });
  afterAll(async () => {
    await kcm?.stop();
  });

  it('deleting a contract before Complete collects its policies through the ownerReference alone', async () => {
    const r = await rig({ pods: 3 });
    await applied(r, stage(r.contract, r.policies, 2));
    expect(await listPolicies(r.ns)).toHaveLength(2);
    // The actuator is told nothing: only the garbage collector acts (once the finalizer is forced).
    r.leader = false;
    await forceDelete(r.contract);
    await waitFor(async () => (await listPolicies(r.ns)).length === 0, { timeoutMs: 30_000, intervalMs: 100, what: 'the garbage collector to delete the policies' });
  });

  it('a Complete contract deleted leaves its policies in force', async () => {
    const r = await rig({ pods: 3 });
    await applied(r, stage(r.contract, r.policies, 3));
    await applied(r, stage(r.contract, r.policies, 3, true));
    r.leader = false;
    await deleteContract(kc, r.contract);
    // Give the collector time to act on anything it owns (it collects owned objects within ~1 s here).
    const canary = await rig({ pods: 1 });
    await applied(canary, stage(canary.contract, canary.policies, 2));
    canary.leader = false;
    await forceDelete(canary.contract);
    await waitFor(async () => (await listPolicies(canary.ns)).length === 0, { timeoutMs: 30_000, intervalMs: 100, what: 'the collector to act on an owned control' });
    expect((await listPolicies(r.ns)).map((n) => n.metadata.name).sort()).toEqual(['default-deny', 'web-to-api']);
  });
});
