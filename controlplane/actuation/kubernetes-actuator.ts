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
 *
 * This file holds what a contract should hold and in which order the parts run; the parts
 * are clash-detection.ts, policy-writer.ts, enrollment-labels.ts and work-queue.ts.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { canonicalJson, type Logger, type Problem } from '../../core/common/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import { describeApiError } from '../../io/kube/api-error.js';
import { WatchedCollection } from '../../io/kube/list-watch.js';
import { NETWORK_POLICY_API, policyWatch, type PolicyKindApi } from '../../io/kube/policy-kinds.js';
import { contractLabelValue, enrollLabelKey } from '../contracts/labels.js';
import type { ActuationEventSink } from './actuation-events.js';
import type { Actuator } from './actuator.js';
import { clashesOf, refKey, writerOf, type V1NetworkPolicy } from './clash-detection.js';
import { desiredPolicies, policyRefs, usesEnrollment, type ContractOwner, type OriginalSelector } from './desired-state.js';
import {
  anyExcluded,
  describeOriginalWrite,
  holdOriginals,
  originalProblems,
  originalRefs,
  originalSelectors,
  restoreAll,
  touchesOthers,
  type OriginalsDeps,
  type OriginalsView,
} from './original-policies.js';
import { setFinalizer, terminatingContracts } from './restore-finalizer.js';
import { EnrollmentLabels } from './enrollment-labels.js';
import { PolicyWriter } from './policy-writer.js';
import { WorkQueue } from './work-queue.js';

export interface KubernetesActuatorOptions {
  readonly kc: KubeConfig;
  readonly log: Logger;
  /** Only the leader writes; followers keep their caches warm. */
  readonly isLeader: () => boolean;
  /** The watch of this actuator's policy kind (all namespaces); shared with the baseline source. Created if absent. */
  readonly policies?: WatchedCollection<V1NetworkPolicy>;
  /**
   * The policy kind this actuator writes (default NetworkPolicy): one actuator per kind
   * (multi-kind-actuator.ts); only the one with `manageLabels` (the NetworkPolicy one) writes
   * enrollment labels.
   */
  readonly kind?: PolicyKindApi;
  /** Whether this actuator puts the enrollment labels on pods (default true). */
  readonly manageLabels?: boolean;
  /** The Pod watch (all namespaces). Created if absent. */
  readonly pods?: WatchedCollection<V1Pod>;
  readonly events?: ActuationEventSink;
  /** The RampContract's uid for ownerReferences; default: read the object from the API server. */
  readonly owner?: (contract: string) => Promise<ContractOwner | null>;
  /** Every contract is re-checked this often (default 10 s): drift that no event revealed, leadership gained. */
  readonly resyncMs?: number;
  /**
   * The other kinds' originals (the Cilium actuators'), for the actuator that manages labels:
   * the pods they select are enrolled, and the finalizer stays until none carries an entry.
   */
  readonly peers?: readonly OriginalsView[];
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
  /** The originals of this actuator's kind that contracts replace or remove. */
  readonly originals: OriginalsView;
}

const stageKey = (s: AppliedStage): string => `${s.revision}/${s.stageIndex}/${s.complete ? 'complete' : s.mode}/${s.percent}/${s.namespaces.join(',')}`;

interface Waiter {
  readonly key: string;
  resolve(): void;
  reject(e: Error): void;
}

class KubernetesStageActuator implements KubernetesActuator {
  private readonly o: KubernetesActuatorOptions;
  private readonly api: PolicyKindApi;
  private readonly manageLabels: boolean;
  private readonly log: Logger;
  private readonly policies: WatchedCollection<V1NetworkPolicy>;
  private readonly pods: WatchedCollection<V1Pod>;
  private readonly ownsPolicies: boolean;
  private readonly ownsPods: boolean;
  private readonly writer: PolicyWriter;
  private readonly labels: EnrollmentLabels;
  private readonly queue: WorkQueue;
  private readonly ownerOf: (contract: string) => Promise<ContractOwner | null>;
  /** What each contract should hold. */
  private readonly desired = new Map<string, AppliedStage>();
  /** Contracts deleted while they held something: their applied objects are removed. */
  private readonly removing = new Set<string>();
  private readonly problemsOf = new Map<string, readonly Problem[]>();
  /** The stage key last fully applied, per contract. */
  private readonly appliedKeys = new Map<string, string>();
  private readonly lastErrors = new Map<string, string>();
  private readonly listeners: (() => void)[] = [];
  /** apply() callers waiting for their stage to be on the cluster. */
  private readonly waiters = new Map<string, Waiter[]>();
  private syncs = 0;
  private resyncTimer: NodeJS.Timeout | null = null;
  private readonly objects: CustomObjectsApi;
  /** Contracts known to carry the restore finalizer. */
  private readonly finalized = new Set<string>();
  /** Originals' specs as last rewritten at Complete (original-policies.ts). */
  private readonly rewritten = new Map<string, string>();
  private readonly originalListeners: ((contract: string) => void)[] = [];
  readonly originals: OriginalsView = {
    selectors: (stage) => originalSelectors(this.originalsFor(stage.contract), stage),
    excluded: (contract) => anyExcluded(this.originalsFor(contract), contract),
    onChange: (listener) => this.originalListeners.push(listener),
  };

  constructor(options: KubernetesActuatorOptions) {
    this.o = options;
    this.api = options.kind ?? NETWORK_POLICY_API;
    this.manageLabels = options.manageLabels ?? true;
    this.log = options.log.child({ component: 'kubernetes-actuator', kind: this.api.kind });
    this.ownsPolicies = options.policies === undefined;
    this.ownsPods = options.pods === undefined;
    this.policies = options.policies ?? policyWatch(options.kc, this.log, this.api);
    const core = options.kc.makeApiClient(CoreV1Api);
    this.pods = options.pods ?? new WatchedCollection<V1Pod>({ kc: options.kc, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces(), log: this.log });
    this.writer = new PolicyWriter({ kc: options.kc, policies: this.policies, events: options.events, log: this.log, api: this.api, fence: () => this.fence() });
    this.objects = options.kc.makeApiClient(CustomObjectsApi);
    // Pods that any kind's originals select are enrolled (only the actuator that manages labels asks).
    const selectors = (stage: AppliedStage): OriginalSelector[] => [...this.originals.selectors(stage), ...(options.peers ?? []).flatMap((p) => p.selectors(stage))];
    this.labels = new EnrollmentLabels({ kc: options.kc, pods: this.pods, events: options.events, originals: selectors, fence: () => this.fence() });
    this.queue = new WorkQueue({ sync: (c) => this.syncSafely(c), enrollPods: (batch) => this.enrollPods(batch) });
    this.ownerOf =
      options.owner ??
      (async (contract) => {
        const uid = await this.writer.contractUid(contract);
        return uid ? { name: contract, uid } : null;
      });
    this.policies.onEvent((_event, np) => {
      const concerned = this.contractsFor(np);
      for (const c of concerned) this.queue.schedule(c);
      // Contracts being deleted are told of every change: one may be the last restore they wait for.
      for (const c of new Set([...concerned, ...this.removing])) for (const l of this.originalListeners) l(c);
    });
    for (const peer of options.peers ?? []) peer.onChange((c) => this.queue.schedule(c));
    this.pods.onEvent((event, pod) => {
      if (event === 'delete' || !this.manageLabels) return;
      this.queue.pod(refKey(pod.metadata?.namespace ?? '', pod.metadata?.name ?? ''), Date.now());
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener(
      'abort',
      () => {
        this.queue.stop();
        if (this.resyncTimer) clearInterval(this.resyncTimer);
        if (this.ownsPolicies) this.policies.stop();
        if (this.ownsPods) this.pods.stop();
      },
      { once: true },
    );
    await Promise.all([this.ownsPolicies ? this.policies.start(signal) : Promise.resolve(), this.ownsPods ? this.pods.start(signal) : Promise.resolve()]);
    // A shared watch is started by its owner: wait until it is listed too.
    while ((!this.policies.synced() || !this.pods.synced()) && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 20));
    this.resyncTimer = setInterval(() => this.resyncAll(), this.o.resyncMs ?? 10_000);
    this.resyncAll();
  }

  /** Resolves once the stage is on the cluster; rejects when a pass fails or a clash blocks it. */
  apply(stage: AppliedStage): Promise<void> {
    this.desired.set(stage.contract, stage);
    this.removing.delete(stage.contract);
    const done = new Promise<void>((resolve, reject) => {
      const list = this.waiters.get(stage.contract) ?? [];
      list.push({ key: stageKey(stage), resolve, reject });
      this.waiters.set(stage.contract, list);
    });
    this.queue.schedule(stage.contract);
    return done;
  }

  remove(contract: string): Promise<void> {
    this.desired.delete(contract);
    this.removing.add(contract);
    this.queue.schedule(contract);
    return Promise.resolve();
  }

  problems(contract: string): readonly Problem[] {
    return this.problemsOf.get(contract) ?? [];
  }

  enrollLabel(contract: string): string {
    return enrollLabelKey(contract);
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  status(contract: string): ActuationStatus {
    const stage = this.desired.get(contract);
    return {
      appliedKey: this.appliedKeys.get(contract) ?? null,
      wantedKey: stage ? stageKey(stage) : null,
      policies: this.writer.count(contract),
      enrolledPods: this.labels.labelledCount(contract),
      lastError: this.lastErrors.get(contract) ?? null,
    };
  }

  stats(): ActuatorStats {
    const w = this.writer.counts;
    const l = this.labels.counts;
    return {
      policyWrites: w.policyWrites,
      policyDeletes: w.policyDeletes,
      labelWrites: l.labelWrites,
      driftCorrections: w.driftCorrections + l.driftCorrections,
      syncs: this.syncs,
      podEnrollLatenciesMs: this.labels.podEnrollLatenciesMs(),
    };
  }

  resyncAll(): void {
    for (const c of this.desired.keys()) this.queue.mark(c);
    for (const c of this.removing) this.queue.mark(c);
    this.queue.kick();
    // Contracts deleted while no replica led (or before a restart) still owe their restore
    // (each kind's actuator restores its originals; the NetworkPolicy one also the labels and the finalizer).
    if (this.o.isLeader())
      terminatingContracts(this.objects)
        .then((names) => {
          // Being deleted wins over any stage still held for it: what it changed is put back.
          for (const name of names) {
            this.desired.delete(name);
            this.removing.add(name);
            this.queue.mark(name);
          }
          if (names.length > 0) this.queue.kick();
        })
        .catch((e: unknown) => this.log.warn('listing contracts being deleted failed; the next resync retries', { err: { message: describeApiError(e) } }));
  }

  /** Throws unless this replica leads now: checked right before each write, so a pass paused past the lease writes nothing more. */
  private fence(): void {
    if (!this.o.isLeader()) throw new Error('not the leader any more: write skipped (fenced)');
  }

  /** What original-policies.ts needs, reporting each change of an original as an Event on the contract. */
  private originalsFor(contract: string, uid?: string): OriginalsDeps {
    return {
      api: this.api,
      policies: this.policies,
      objects: this.objects,
      rewritten: this.rewritten,
      fence: () => this.fence(),
      onWrite: (what, namespace, name) => {
        this.o.events?.emit({ contract, uid, type: 'Normal', reason: 'OriginalPolicy', action: 'Apply', note: describeOriginalWrite(this.api, what, namespace, name) });
      },
    };
  }

  /** Whether an original of any kind still carries the contract's entry (the finalizer stays until none does). */
  private excludedAnywhere(contract: string): boolean {
    return this.originals.excluded(contract) || (this.o.peers ?? []).some((p) => p.excluded(contract));
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  private async syncSafely(contract: string): Promise<void> {
    this.syncs++;
    try {
      await this.sync(contract);
      this.lastErrors.delete(contract);
      const blocked = this.problemsOf.get(contract) ?? [];
      if (blocked.length > 0) this.settle(contract, new Error(blocked.map((p) => p.message).join('; ')));
      else this.settle(contract, null);
    } catch (e) {
      const message = describeApiError(e);
      if (this.lastErrors.get(contract) !== message) this.log.warn('applying the stage failed; retrying on the next pass', { contract, err: { message } });
      this.lastErrors.set(contract, message);
      this.settle(contract, new Error(message));
    }
  }

  /** Resolves the waiters whose stage is now applied; rejects all on an error or a clash. */
  private settle(contract: string, error: Error | null): void {
    const list = this.waiters.get(contract);
    if (!list) return;
    const key = this.appliedKeys.get(contract);
    const keep = list.filter((w) => {
      if (error) w.reject(error);
      else if (w.key === key) w.resolve();
      else return true;
      return false;
    });
    if (keep.length > 0) this.waiters.set(contract, keep);
    else this.waiters.delete(contract);
  }

  private setProblems(contract: string, next: readonly Problem[]): void {
    const before = this.problemsOf.get(contract) ?? [];
    if (canonicalJson(before) === canonicalJson(next)) return;
    if (next.length > 0) this.problemsOf.set(contract, next);
    else this.problemsOf.delete(contract);
    if (next.length > 0) {
      this.log.warn('contract blocked by the cluster', { contract, problems: next });
      // A clash is about a name the contract writes; an original it cannot change (a host policy) blocks it too.
      const reason = next.every((p) => p.path.startsWith('spec.policies[')) ? 'NameClash' : 'Blocked';
      this.o.events?.emit({ contract, type: 'Warning', reason, action: 'Apply', note: next.map((p) => p.message).join('; ') });
    }
    this.notify();
  }

  private async sync(contract: string): Promise<void> {
    const stage = this.desired.get(contract);
    if (!stage) {
      if (this.removing.has(contract) && this.o.isLeader() && (await this.removeApplied(contract))) this.removing.delete(contract);
      this.setProblems(contract, []);
      return;
    }
    // Never act on a cache that is not listed yet: a missing object could be a clash unseen.
    if (!this.policies.synced() || !this.pods.synced()) return;
    const found = [...clashesOf(stage, (n, ns) => this.policies.get(n, this.writer.cacheNs(ns)), this.api), ...originalProblems(stage, this.originalsFor(contract))];
    // The cache may lag a policy created a moment ago: read the ones it lacks before writing.
    if (found.length === 0 && this.o.isLeader() && desiredPolicies(stage, null, this.api.kind).length > 0) found.push(...(await this.writer.freshClashes(stage)));
    this.setProblems(contract, found);
    if (!this.o.isLeader() || found.length > 0) return;
    const key = stageKey(stage);
    const wanted = desiredPolicies(stage, null, this.api.kind);
    let owner: ContractOwner | null = null;
    if (wanted.length > 0 && !stage.complete) {
      owner = await this.ownerOf(contract);
      if (!owner) throw new Error(`RampContract ${contract} not found: nothing is applied without an owner to collect it`);
    }
    const first = this.appliedKeys.get(contract) !== key;
    // Percent stages: label first, then the policies that select on the label. Complete (and
    // every other mode): the policies as written first, then the labels come off (no gap).
    // Before labels or an original change, the finalizer: a deletion then waits for the restore.
    // (A Cilium kind's actuator sets it too before changing an original of its kind; only the
    // NetworkPolicy one, which sees every kind's originals, releases it.)
    const mine = this.manageLabels || originalRefs(stage, this.api.kind).length > 0;
    if (mine && touchesOthers(stage) && !this.finalized.has(contract)) {
      await setFinalizer(this.objects, contract, true, () => this.fence());
      this.finalized.add(contract);
    }
    if (!this.manageLabels && !touchesOthers(stage)) this.finalized.delete(contract);
    if (this.manageLabels && usesEnrollment(stage)) await this.labels.sync(contract, stage, first);
    const withOwner = desiredPolicies(stage, owner, this.api.kind);
    for (const d of withOwner) await this.writer.ensure(contract, d, first, owner?.uid);
    // Originals after the copies that carry their new text, before the copies go (Complete, monitor).
    await holdOriginals(this.originalsFor(contract, owner?.uid), stage);
    await this.writer.deleteExtra(contract, new Set(withOwner.map((d) => refKey(d.namespace, d.name))), owner?.uid);
    if (this.manageLabels && !usesEnrollment(stage)) await this.labels.sync(contract, null, first);
    if (this.manageLabels && !touchesOthers(stage) && (this.finalized.has(contract) || first) && !this.excludedAnywhere(contract) && this.labels.enrolledByUsCount(contract) === 0) {
      await setFinalizer(this.objects, contract, false, () => this.fence());
      this.finalized.delete(contract);
    }
    if (first) {
      this.appliedKeys.set(contract, key);
      // An actuator of a kind the contract does not hold has nothing to report.
      if (!this.manageLabels && policyRefs(stage, this.api.kind).length === 0) return;
      const what = stage.complete ? 'Complete: every policy as written, handed off' : `${stage.stageName} (${stage.mode}${stage.mode === 'percent' ? ` ${stage.percent}%` : ''})`;
      const kinds = this.api.kind === 'NetworkPolicy' ? 'NetworkPolicies' : `${this.api.kind}s`;
      const note = `applied ${what}: ${withOwner.length} ${kinds}${this.manageLabels ? `, ${this.labels.enrolledByUsCount(contract)} pods enrolled` : ''}`;
      this.o.events?.emit({ contract, uid: owner?.uid, type: 'Normal', reason: 'StageApplied', action: 'Apply', note });
      this.notify();
    }
  }

  /**
   * A deleted contract: originals of this kind get their owners' selectors back, its owned
   * policies go (handed-off ones stay) and its labels come off. False while another kind's
   * original still carries its entry: the finalizer is released on a later pass.
   */
  private async removeApplied(contract: string): Promise<boolean> {
    const restored = await restoreAll(this.originalsFor(contract), contract);
    if (restored > 0) this.log.info('contract deleted: originals restored', { contract, restored });
    const removed = await this.writer.removeOwned(contract);
    if (removed > 0) this.log.info('contract deleted: its policies were removed', { contract, removed });
    if (this.manageLabels) {
      await this.labels.sync(contract, null, true);
      if (this.excludedAnywhere(contract)) return false;
      await setFinalizer(this.objects, contract, false, () => this.fence());
    }
    this.finalized.delete(contract);
    this.appliedKeys.delete(contract);
    this.labels.forget(contract);
    return true;
  }

  /** New or changed pods: label them for every unblocked percent stage that wants them. */
  private async enrollPods(batch: readonly [string, number][]): Promise<void> {
    if (!this.o.isLeader() || !this.manageLabels) return;
    const stages = [...this.desired.values()].filter((s) => (this.problemsOf.get(s.contract)?.length ?? 0) === 0);
    try {
      await this.labels.enrollNew(batch, stages, Date.now);
    } catch (e) {
      this.log.warn('enrolling new pods failed; the next pass retries', { err: { message: describeApiError(e) } });
      for (const stage of this.desired.values()) if (usesEnrollment(stage)) this.queue.mark(stage.contract);
    }
  }

  /** Which contracts a NetworkPolicy event concerns: the writer, and any contract naming it. */
  private contractsFor(np: V1NetworkPolicy): string[] {
    const ns = np.metadata?.namespace ?? '';
    const name = np.metadata?.name ?? '';
    const writer = writerOf(np);
    const out: string[] = [];
    for (const stage of this.desired.values()) {
      const named =
        policyRefs(stage, this.api.kind).some((r) => (!this.api.namespaced || r.namespace === ns) && (r.name === name || r.writes === name)) ||
        originalRefs(stage, this.api.kind).some((r) => (!this.api.namespaced || r.namespace === ns) && r.name === name);
      if (contractLabelValue(stage.contract) === writer || named) out.push(stage.contract);
    }
    for (const c of this.removing) if (contractLabelValue(c) === writer) out.push(c);
    return out;
  }
}

export function createKubernetesActuator(options: KubernetesActuatorOptions): KubernetesActuator {
  return new KubernetesStageActuator(options);
}
