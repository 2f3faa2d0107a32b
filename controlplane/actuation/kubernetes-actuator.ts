/**
 * The Kubernetes actuator (product.md "Kubernetes mode", "Applying a stage"): holds each
 * contract's stage on the cluster as real NetworkPolicies (server-side apply, field manager
 * `rampart`) and, for percent stages, the boolean enrollment label on the pods the stage
 * picks. Level-triggered: `apply` records what a contract should hold; a single worker
 * compares that with the informers' caches and writes only the difference, so a restart,
 * a missed event or someone's edit (drift) is corrected by the next pass, which also runs
 * when a watched NetworkPolicy or Pod changes and on a resync timer.
 *
 * Safety rules: a NetworkPolicy of the same name that Rampart does not manage (or that
 * another contract manages) is never written; the contract gets a problem naming it (the
 * reconciler blocks it) and nothing of it is written until the clash is gone. Only the
 * leader writes (`isLeader`); followers keep caches and problems current.
 */
import {
  CustomObjectsApi,
  NetworkingV1Api,
  CoreV1Api,
  PatchStrategy,
  setHeaderOptions,
  ApiException,
  type KubeConfig,
  type V1NetworkPolicy,
  type V1Pod,
} from '@kubernetes/client-node';
import { canonicalJson, contentHash, problem, type Logger, type Problem } from '../../core/common/index.js';
import { WatchedCollection } from '../../io/kube/list-watch.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import type { Actuator } from './actuator.js';
import type { ActuationEventSink } from './actuation-events.js';
import { networkPolicyWatch } from '../../io/kube/network-policies.js';
import { desiredPolicies, policyRefs, usesEnrollment, wantsEnrolled, type ContractOwner, type DesiredPolicy } from './desired-state.js';
import { CONTRACT_KIND, CONTRACT_LABEL, FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE, contractLabelValue, enrollLabelKey } from '../contracts/labels.js';

export const RAMPCONTRACT_GROUP = 'rampart.dev';
export const RAMPCONTRACT_VERSION = 'v1alpha1';
export const RAMPCONTRACT_PLURAL = 'rampcontracts';

/** Pod label writes in flight at once (a stage change may relabel many pods). */
const LABEL_CONCURRENCY = 8;

export interface KubernetesActuatorOptions {
  readonly kc: KubeConfig;
  readonly log: Logger;
  /** Only the leader writes; followers keep their caches warm. */
  readonly isLeader: () => boolean;
  /** The NetworkPolicy watch (all namespaces); shared with the baseline source. Created if absent. */
  readonly policies?: WatchedCollection<V1NetworkPolicy>;
  /** The Pod watch (all namespaces). Created if absent. */
  readonly pods?: WatchedCollection<V1Pod>;
  readonly events?: ActuationEventSink;
  /** The RampContract's uid for ownerReferences; default: read the object from the API server. */
  readonly owner?: (contract: string) => Promise<ContractOwner | null>;
  /** Every contract is re-checked this often (default 10 s): drift that no event revealed, leadership gained. */
  readonly resyncMs?: number;
}

/** What the actuator holds for one contract, for status (`Applied` condition) and tests. */
export interface ActuationStatus {
  /** The stage key last fully applied (revision/stage/complete), or null. */
  readonly appliedKey: string | null;
  /** The stage key asked for. */
  readonly wantedKey: string | null;
  readonly policies: number;
  readonly enrolledPods: number;
  readonly lastError: string | null;
}

export interface ActuatorStats {
  readonly policyWrites: number;
  readonly policyDeletes: number;
  readonly labelWrites: number;
  readonly driftCorrections: number;
  readonly syncs: number;
  /** Watch event → label written, for pods enrolled as they appeared (ms), newest last (bounded). */
  readonly podEnrollLatenciesMs: readonly number[];
}

export interface KubernetesActuator extends Actuator {
  /** Starts the watches (when owned) and the worker; resolves when the caches are listed. */
  start(signal: AbortSignal): Promise<void>;
  problems(contract: string): readonly Problem[];
  enrollLabel(contract: string): string;
  onChange(listener: () => void): void;
  status(contract: string): ActuationStatus;
  stats(): ActuatorStats;
  /** Re-check every contract soon (e.g. when this replica becomes the leader). */
  resyncAll(): void;
  /** Resolves when no pass is queued or running (tests). */
  idle(): Promise<void>;
}

const stageKey = (s: AppliedStage): string => `${s.revision}/${s.stageIndex}/${s.complete ? 'complete' : s.mode}/${s.percent}/${s.namespaces.join(',')}`;
const refKey = (namespace: string, name: string): string => `${namespace}/${name}`;
const messageOf = (e: unknown): string => {
  if (e instanceof ApiException) {
    const body: unknown = (e as ApiException<unknown>).body;
    let detail = '';
    try {
      const parsed: unknown = typeof body === 'string' ? JSON.parse(body) : body;
      if (typeof parsed === 'object' && parsed !== null && typeof (parsed as { message?: unknown }).message === 'string') detail = (parsed as { message: string }).message;
    } catch {
      detail = typeof body === 'string' ? body.slice(0, 200) : '';
    }
    return `HTTP ${e.code}${detail ? `: ${detail}` : ''}`;
  }
  return e instanceof Error ? e.message : String(e);
};

type Labels = Readonly<Record<string, string>>;
const labelsOf = (o: { metadata?: { labels?: Record<string, string> } }): Labels => o.metadata?.labels ?? {};

/** Whether Rampart wrote the object: its label, or its field manager in managedFields (survives a label edit). */
function isRampartManaged(np: V1NetworkPolicy): boolean {
  if (labelsOf(np)[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) return true;
  return (np.metadata?.managedFields ?? []).some((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply');
}

/** The contract that wrote a managed policy: its label, else its ownerReference. */
function writerOf(np: V1NetworkPolicy): string | null {
  const label = labelsOf(np)[CONTRACT_LABEL];
  if (label) return label;
  return np.metadata?.ownerReferences?.find((r) => r.kind === CONTRACT_KIND)?.name ?? null;
}

const hasOwnerRef = (np: V1NetworkPolicy, contract: string): boolean => (np.metadata?.ownerReferences ?? []).some((r) => r.kind === CONTRACT_KIND && r.name === contract);

/** Resource versions are opaque, but etcd's are integers: an older cache copy is not drift. */
function olderThan(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

interface AppliedRecord {
  readonly hash: string;
  readonly spec: string;
  readonly resourceVersion: string;
}

export function createKubernetesActuator(options: KubernetesActuatorOptions): KubernetesActuator {
  const log = options.log.child({ component: 'kubernetes-actuator' });
  const net = options.kc.makeApiClient(NetworkingV1Api);
  const core = options.kc.makeApiClient(CoreV1Api);
  const objects = options.kc.makeApiClient(CustomObjectsApi);
  const ownsPolicies = options.policies === undefined;
  const ownsPods = options.pods === undefined;
  const policies = options.policies ?? networkPolicyWatch(options.kc, log);
  const pods = options.pods ?? new WatchedCollection<V1Pod>({ kc: options.kc, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces(), log });

  const desired = new Map<string, AppliedStage>();
  /** Contracts deleted while they held something: their applied objects are removed. */
  const removing = new Set<string>();
  const problemsOf = new Map<string, readonly Problem[]>();
  const applied = new Map<string, AppliedRecord>();
  const enrolledByUs = new Map<string, Set<string>>();
  const appliedKeys = new Map<string, string>();
  const lastErrors = new Map<string, string>();
  const listeners: (() => void)[] = [];
  const dirty = new Set<string>();
  /** Pods seen by the watch that may need a label now: key → when the event arrived. */
  const podQueue = new Map<string, number>();
  /** apply() callers waiting for their stage to be on the cluster. */
  const waiters = new Map<string, { key: string; resolve: () => void; reject: (e: Error) => void }[]>();
  let running: Promise<void> | null = null;
  let stopped = false;
  const counters = { policyWrites: 0, policyDeletes: 0, labelWrites: 0, driftCorrections: 0, syncs: 0 };
  const podLatencies: number[] = [];

  const notify = (): void => {
    for (const l of listeners) l();
  };
  const emit = (contract: string, type: 'Normal' | 'Warning', reason: string, action: string, note: string, uid?: string): void => {
    options.events?.emit({ contract, uid, type, reason, action, note });
  };

  const defaultOwner = async (contract: string): Promise<ContractOwner | null> => {
    try {
      const obj = (await objects.getClusterCustomObject({ group: RAMPCONTRACT_GROUP, version: RAMPCONTRACT_VERSION, plural: RAMPCONTRACT_PLURAL, name: contract })) as {
        metadata?: { uid?: string; deletionTimestamp?: unknown };
      };
      const uid = obj.metadata?.uid;
      return uid ? { name: contract, uid } : null;
    } catch (e) {
      if (e instanceof ApiException && e.code === 404) return null;
      throw e;
    }
  };
  const ownerOf = options.owner ?? defaultOwner;

  const schedule = (contract: string): void => {
    dirty.add(contract);
    kick();
  };
  const kick = (): void => {
    if (running || stopped) return;
    running = (async () => {
      // Yield first, so `running` is assigned before the loop (and its `finally`) can run.
      await null;
      try {
        while (!stopped && (dirty.size > 0 || podQueue.size > 0)) {
          if (podQueue.size > 0) {
            const batch = [...podQueue];
            podQueue.clear();
            await enrollPods(batch);
            continue;
          }
          const [contract] = dirty;
          dirty.delete(contract!);
          await syncSafely(contract!);
        }
      } finally {
        running = null;
      }
    })();
  };

  async function syncSafely(contract: string): Promise<void> {
    counters.syncs++;
    try {
      await sync(contract);
      lastErrors.delete(contract);
      const blocked = problemsOf.get(contract) ?? [];
      if (blocked.length > 0) settle(contract, new Error(blocked.map((p) => p.message).join('; ')));
      else settle(contract, null);
    } catch (e) {
      const message = messageOf(e);
      if (lastErrors.get(contract) !== message) log.warn('applying the stage failed; retrying on the next pass', { contract, err: { message } });
      lastErrors.set(contract, message);
      settle(contract, new Error(message));
    }
  }

  /** Resolves the waiters whose stage is now applied; rejects all on an error or a clash. */
  function settle(contract: string, error: Error | null): void {
    const list = waiters.get(contract);
    if (!list) return;
    const key = appliedKeys.get(contract);
    const keep = list.filter((w) => {
      if (error) w.reject(error);
      else if (w.key === key) w.resolve();
      else return true;
      return false;
    });
    if (keep.length > 0) waiters.set(contract, keep);
    else waiters.delete(contract);
  }

  /** The clashes for a contract: names it would write that someone else holds. */
  function clashes(stage: AppliedStage, lookup: (name: string, namespace: string) => V1NetworkPolicy | undefined = (n, ns) => policies.get(n, ns)): Problem[] {
    const out: Problem[] = [];
    const mine = contractLabelValue(stage.contract);
    for (const ref of policyRefs(stage)) {
      const live = lookup(ref.name, ref.namespace);
      if (!live) continue;
      if (!isRampartManaged(live)) {
        out.push(problem(`spec.policies[${ref.index}]`, `NetworkPolicy ${ref.namespace}/${ref.name} already exists and is not managed by Rampart; it is never overwritten (rename the contract's policy or remove the existing one)`));
        continue;
      }
      const writer = writerOf(live);
      if (writer !== null && writer !== mine) {
        out.push(problem(`spec.policies[${ref.index}]`, `NetworkPolicy ${ref.namespace}/${ref.name} is managed by contract ${writer}; it is never overwritten`));
      }
    }
    return out;
  }

  /** Clashes among the policies the cache does not hold, read from the API server. */
  async function freshClashes(stage: AppliedStage): Promise<Problem[]> {
    const unseen = policyRefs(stage).filter((ref) => !policies.get(ref.name, ref.namespace) && !applied.has(refKey(ref.namespace, ref.name)));
    const found: V1NetworkPolicy[] = [];
    for (const ref of unseen) {
      try {
        found.push((await objects.getNamespacedCustomObject({ group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', namespace: ref.namespace, name: ref.name })) as V1NetworkPolicy);
      } catch (e) {
        if (!(e instanceof ApiException && e.code === 404)) throw e;
      }
    }
    if (found.length === 0) return [];
    const byRef = new Map(found.map((np) => [refKey(np.metadata?.namespace ?? '', np.metadata?.name ?? ''), np]));
    return clashes(stage, (name, namespace) => byRef.get(refKey(namespace, name)));
  }

  function setProblems(contract: string, next: readonly Problem[]): void {
    const before = problemsOf.get(contract) ?? [];
    if (canonicalJson(before) === canonicalJson(next)) return;
    if (next.length > 0) problemsOf.set(contract, next);
    else problemsOf.delete(contract);
    if (next.length > 0) {
      log.warn('contract blocked by the cluster', { contract, problems: next });
      emit(contract, 'Warning', 'NameClash', 'Apply', next.map((p) => p.message).join('; '));
    }
    notify();
  }

  async function sync(contract: string): Promise<void> {
    const stage = desired.get(contract);
    if (!stage) {
      if (removing.has(contract) && options.isLeader()) {
        await removeApplied(contract);
        removing.delete(contract);
      }
      setProblems(contract, []);
      return;
    }
    // Never act on a cache that is not listed yet: a missing object could be a clash unseen.
    if (!policies.synced() || !pods.synced()) return;
    const found = clashes(stage);
    // The cache may lag a policy created a moment ago: read the ones it lacks before writing.
    if (found.length === 0 && options.isLeader() && desiredPolicies(stage, null).length > 0) found.push(...(await freshClashes(stage)));
    setProblems(contract, found);
    if (!options.isLeader() || found.length > 0) return;
    const key = stageKey(stage);
    const wanted = desiredPolicies(stage, null);
    let owner: ContractOwner | null = null;
    if (wanted.length > 0 && !stage.complete) {
      owner = await ownerOf(contract);
      if (!owner) throw new Error(`RampContract ${contract} not found: nothing is applied without an owner to collect it`);
    }
    const first = appliedKeys.get(contract) !== key;
    // Percent stages: label first, then the policies that select on the label. Complete (and
    // every other mode): the policies as written first, then the labels come off (no gap).
    if (usesEnrollment(stage)) await syncLabels(contract, stage, first);
    const withOwner = desiredPolicies(stage, owner);
    for (const d of withOwner) await ensurePolicy(contract, d, first, owner?.uid);
    await deleteExtra(contract, new Set(withOwner.map((d) => refKey(d.namespace, d.name))), owner?.uid);
    if (!usesEnrollment(stage)) await syncLabels(contract, null, first);
    if (first) {
      appliedKeys.set(contract, key);
      const what = stage.complete ? 'Complete: every policy as written, handed off' : `${stage.stageName} (${stage.mode}${stage.mode === 'percent' ? ` ${stage.percent}%` : ''})`;
      emit(contract, 'Normal', 'StageApplied', 'Apply', `applied ${what}: ${withOwner.length} NetworkPolicies, ${enrolledByUs.get(contract)?.size ?? 0} pods enrolled`, owner?.uid);
      notify();
    }
  }

  async function ensurePolicy(contract: string, d: DesiredPolicy, first: boolean, uid: string | undefined): Promise<void> {
    const ref = refKey(d.namespace, d.name);
    const hash = contentHash(d.manifest);
    const live = policies.get(d.name, d.namespace);
    const record = applied.get(ref);
    if (record && record.hash === hash) {
      if (live && (live.metadata?.resourceVersion === record.resourceVersion || olderThan(live.metadata?.resourceVersion, record.resourceVersion))) return;
      if (live && canonicalJson(live.spec) === record.spec && holdsMetadata(live, d)) return;
    }
    // The same manifest was applied before and the object no longer matches it: drift.
    const drift = record !== undefined && record.hash === hash && !first;
    // Through the generic client: its answer is plain JSON, comparable with the watch's objects.
    const res = (await objects.patchNamespacedCustomObject(
      // NOTE: force is only ever used on objects Rampart manages (clashes were ruled out above):
      // it takes back fields someone else changed on our object, never someone else's object.
      { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', name: d.name, namespace: d.namespace, body: d.manifest, fieldManager: FIELD_MANAGER, force: live !== undefined },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    )) as V1NetworkPolicy;
    counters.policyWrites++;
    applied.set(ref, { hash, spec: canonicalJson(res.spec), resourceVersion: res.metadata?.resourceVersion ?? '' });
    if (drift) {
      counters.driftCorrections++;
      const what = live ? 'was changed outside Rampart' : 'was deleted outside Rampart';
      log.warn('drift corrected', { contract, policy: ref, what });
      emit(contract, 'Warning', 'DriftCorrected', 'Apply', `NetworkPolicy ${ref} ${what}; put back as the contract's current stage applies it`, uid);
    }
  }

  /** Removes this contract's policies that the stage does not hold (e.g. back to monitor). */
  async function deleteExtra(contract: string, keep: ReadonlySet<string>, uid: string | undefined): Promise<void> {
    const mine = contractLabelValue(contract);
    for (const np of policies.list()) {
      const ns = np.metadata?.namespace ?? '';
      const name = np.metadata?.name ?? '';
      if (keep.has(refKey(ns, name)) || !isRampartManaged(np) || writerOf(np) !== mine) continue;
      await deletePolicy(ns, name);
      emit(contract, 'Normal', 'PoliciesRemoved', 'Delete', `NetworkPolicy ${ns}/${name} removed: the current stage does not apply it`, uid);
    }
  }

  async function deletePolicy(namespace: string, name: string): Promise<void> {
    try {
      await net.deleteNamespacedNetworkPolicy({ name, namespace });
      counters.policyDeletes++;
    } catch (e) {
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
    applied.delete(refKey(namespace, name));
  }

  /** A deleted contract: its owned policies go (handed-off ones stay) and its labels come off. */
  async function removeApplied(contract: string): Promise<void> {
    const mine = contractLabelValue(contract);
    let removed = 0;
    for (const np of policies.list()) {
      if (!isRampartManaged(np) || writerOf(np) !== mine || !hasOwnerRef(np, contract)) continue;
      await deletePolicy(np.metadata?.namespace ?? '', np.metadata?.name ?? '');
      removed++;
    }
    await syncLabels(contract, null, true);
    appliedKeys.delete(contract);
    enrolledByUs.delete(contract);
    if (removed > 0) log.info('contract deleted: its policies were removed', { contract, removed });
  }

  function holdsMetadata(live: V1NetworkPolicy, d: DesiredPolicy): boolean {
    const meta = d.manifest.metadata as { labels: Record<string, string>; annotations: Record<string, string>; ownerReferences?: { uid: string }[] };
    const labels = labelsOf(live);
    for (const [k, v] of Object.entries(meta.labels)) if (labels[k] !== v) return false;
    const annotations = live.metadata?.annotations ?? {};
    for (const [k, v] of Object.entries(meta.annotations)) if (annotations[k] !== v) return false;
    const liveOwners = (live.metadata?.ownerReferences ?? []).filter((r) => r.kind === CONTRACT_KIND).map((r) => r.uid);
    const wantOwners = (meta.ownerReferences ?? []).map((r) => r.uid);
    return canonicalJson(liveOwners) === canonicalJson(wantOwners);
  }

  /** Puts the enrollment label on exactly the pods the stage wants (none when `stage` is null). */
  async function syncLabels(contract: string, stage: AppliedStage | null, first: boolean): Promise<void> {
    const key = enrollLabelKey(contract);
    const ours = enrolledByUs.get(contract) ?? new Set<string>();
    enrolledByUs.set(contract, ours);
    const work: (() => Promise<void>)[] = [];
    for (const pod of pods.list()) {
      const ns = pod.metadata?.namespace ?? '';
      const name = pod.metadata?.name ?? '';
      if (pod.metadata?.deletionTimestamp) continue;
      const labels = labelsOf(pod);
      const has = labels[key] !== undefined;
      const want = stage !== null && wantsEnrolled(stage, { namespace: ns, name, labels });
      const podKey = refKey(ns, name);
      if (want && !has) {
        const drift = ours.has(podKey) && !first;
        work.push(async () => {
          await labelPod(ns, name, key, 'true');
          ours.add(podKey);
          if (drift) {
            counters.driftCorrections++;
            emit(contract, 'Warning', 'DriftCorrected', 'Label', `pod ${podKey} lost its enrollment label ${key}; put back`);
          }
        });
      } else if (!want && has) {
        work.push(async () => {
          await labelPod(ns, name, key, null);
          ours.delete(podKey);
        });
      } else if (want) {
        ours.add(podKey);
      } else {
        ours.delete(podKey);
      }
    }
    await runLimited(work, LABEL_CONCURRENCY);
  }

  async function labelPod(namespace: string, name: string, key: string, value: string | null): Promise<void> {
    try {
      // A merge patch of one key: independent per contract (each contract owns its own key),
      // and `null` removes exactly that key.
      await core.patchNamespacedPod(
        { name, namespace, body: { metadata: { labels: { [key]: value } } }, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      counters.labelWrites++;
    } catch (e) {
      // A pod deleted meanwhile needs no label.
      if (!(e instanceof ApiException && e.code === 404)) throw e;
    }
  }

  /** New or changed pods: label them for every percent stage that wants them, at once. */
  async function enrollPods(batch: readonly [string, number][]): Promise<void> {
    if (!options.isLeader()) return;
    const work: (() => Promise<void>)[] = [];
    for (const [podKey, seenAtMs] of batch) {
      const slash = podKey.indexOf('/');
      const pod = pods.get(podKey.slice(slash + 1), podKey.slice(0, slash));
      if (!pod || pod.metadata?.deletionTimestamp) continue;
      const labels = labelsOf(pod);
      for (const stage of desired.values()) {
        if (!usesEnrollment(stage) || (problemsOf.get(stage.contract)?.length ?? 0) > 0) continue;
        const key = enrollLabelKey(stage.contract);
        const want = wantsEnrolled(stage, { namespace: pod.metadata?.namespace ?? '', name: pod.metadata?.name ?? '', labels });
        const ours = enrolledByUs.get(stage.contract) ?? new Set<string>();
        enrolledByUs.set(stage.contract, ours);
        if (want && labels[key] === undefined) {
          const drift = ours.has(podKey);
          work.push(async () => {
            await labelPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', key, 'true');
            ours.add(podKey);
            if (drift) {
              counters.driftCorrections++;
              emit(stage.contract, 'Warning', 'DriftCorrected', 'Label', `pod ${podKey} lost its enrollment label ${key}; put back`);
            } else {
              podLatencies.push(Date.now() - seenAtMs);
              if (podLatencies.length > 1000) podLatencies.shift();
            }
          });
        } else if (!want && labels[key] !== undefined && ours.has(podKey)) {
          // The pod's labels changed and no contract policy selects it any more.
          work.push(async () => {
            await labelPod(pod.metadata?.namespace ?? '', pod.metadata?.name ?? '', key, null);
            ours.delete(podKey);
          });
        }
      }
    }
    try {
      await runLimited(work, LABEL_CONCURRENCY);
    } catch (e) {
      log.warn('enrolling new pods failed; the next pass retries', { err: { message: messageOf(e) } });
      for (const stage of desired.values()) if (usesEnrollment(stage)) dirty.add(stage.contract);
    }
  }

  /** Which contracts a NetworkPolicy event concerns: the writer, and any contract naming it. */
  function contractsFor(np: V1NetworkPolicy): string[] {
    const ns = np.metadata?.namespace ?? '';
    const name = np.metadata?.name ?? '';
    const writer = writerOf(np);
    const out: string[] = [];
    for (const stage of desired.values()) {
      if (contractLabelValue(stage.contract) === writer || policyRefs(stage).some((r) => r.namespace === ns && r.name === name)) out.push(stage.contract);
    }
    for (const c of removing) if (contractLabelValue(c) === writer) out.push(c);
    return out;
  }

  policies.onEvent((_event, np) => {
    for (const c of contractsFor(np)) schedule(c);
  });
  pods.onEvent((event, pod) => {
    if (event === 'delete') return;
    podQueue.set(refKey(pod.metadata?.namespace ?? '', pod.metadata?.name ?? ''), Date.now());
    kick();
  });

  let resyncTimer: NodeJS.Timeout | null = null;
  const resyncAll = (): void => {
    for (const c of desired.keys()) dirty.add(c);
    for (const c of removing) dirty.add(c);
    kick();
  };

  return {
    async start(signal: AbortSignal): Promise<void> {
      signal.addEventListener(
        'abort',
        () => {
          stopped = true;
          if (resyncTimer) clearInterval(resyncTimer);
          if (ownsPolicies) policies.stop();
          if (ownsPods) pods.stop();
        },
        { once: true },
      );
      await Promise.all([ownsPolicies ? policies.start(signal) : Promise.resolve(), ownsPods ? pods.start(signal) : Promise.resolve()]);
      // A shared watch is started by its owner: wait until it is listed too.
      while ((!policies.synced() || !pods.synced()) && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 20));
      resyncTimer = setInterval(resyncAll, options.resyncMs ?? 10_000);
      resyncAll();
    },

    /** Resolves once the stage is on the cluster; rejects when a pass fails or a clash blocks it. */
    apply(stage: AppliedStage): Promise<void> {
      desired.set(stage.contract, stage);
      removing.delete(stage.contract);
      const done = new Promise<void>((resolve, reject) => {
        const list = waiters.get(stage.contract) ?? [];
        list.push({ key: stageKey(stage), resolve, reject });
        waiters.set(stage.contract, list);
      });
      schedule(stage.contract);
      return done;
    },

    remove(contract: string): Promise<void> {
      desired.delete(contract);
      removing.add(contract);
      schedule(contract);
      return Promise.resolve();
    },

    problems(contract: string): readonly Problem[] {
      return problemsOf.get(contract) ?? [];
    },

    enrollLabel(contract: string): string {
      return enrollLabelKey(contract);
    },

    onChange(listener: () => void): void {
      listeners.push(listener);
    },

    status(contract: string): ActuationStatus {
      const stage = desired.get(contract);
      const mine = contractLabelValue(contract);
      return {
        appliedKey: appliedKeys.get(contract) ?? null,
        wantedKey: stage ? stageKey(stage) : null,
        policies: policies.list().filter((np) => isRampartManaged(np) && writerOf(np) === mine).length,
        enrolledPods: pods.list().filter((p) => labelsOf(p)[enrollLabelKey(contract)] !== undefined).length,
        lastError: lastErrors.get(contract) ?? null,
      };
    },

    stats(): ActuatorStats {
      return { ...counters, podEnrollLatenciesMs: [...podLatencies] };
    },

    resyncAll,

    async idle(): Promise<void> {
      while (running) await running;
    },
  };
}

async function runLimited(work: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const lane = async (): Promise<void> => {
    while (next < work.length) {
      const job = work[next++]!;
      try {
        await job();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, work.length) }, lane));
  if (failure !== null) throw failure;
}
