/**
 * Kubernetes mode's parts, put together for controlplane/main.ts: the RampContract watch
 * (the contract source), the Lease elector, the status writer, the Event recorder, the
 * actuator (behind the status-first guard), and the scratch folder for the history journal
 * (in this mode the status is the record; the journal only holds this leader's term).
 *
 * Every replica watches contracts and serves the API; only the leader runs the reconciler.
 * On becoming leader it seeds the journal from the statuses it reads, so it continues
 * exactly where its predecessor's last status write left off (evidence it has not seen is
 * missing, so gates wait). Losing leadership is fatal (`onFatal`): a replica that may have
 * missed writes must not carry on from its own memory.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Clock, Logger } from '../../core/common/index.js';
import type { Actuator } from '../actuation/actuator.js';
import type { ControlplaneConfig, KubernetesTuning } from '../config/config.js';
import type { Reconciler } from '../rollout/reconciler.js';
import type { Journal } from '../state/journal.js';
import { AnnotationActions } from './annotation-actions.js';
import { createKubernetesActuation, type KubernetesActuation } from '../actuation/create-actuator.js';
import type { BaselineSource } from '../baseline/baseline-source.js';
import { EventRecorder } from '../actuation/event-recorder.js';
import { loadKubeTarget, replicaUserAgent, type KubeTarget } from './kube-config.js';
import type { Authorizer } from '../access/authorizer.js';
import type { Registry } from 'prom-client';
import { KubeAuthorizer } from '../access/kube-authorizer.js';
import { registerKubeMetrics } from './kube-metrics.js';
import { KubeContractSource } from '../contracts/kube-contract-source.js';
import { LeaseElector } from './lease-elector.js';
import { entriesFromStatus } from '../contracts/status-json.js';
import { StatusFirstActuator } from '../actuation/status-first-actuator.js';
import { StatusWriter } from '../contracts/status-writer.js';
import { WriteFencedKubeConfig } from '../../io/kube/write-fence.js';

/** How often the leader looks for action annotations it could not act on when they arrived. */
const ACTION_SWEEP_MS = 1000;

export interface KubernetesModeOptions {
  readonly config: ControlplaneConfig;
  readonly log: Logger;
  readonly clock: Clock;
  /** Leadership lost or fenced: the process should exit (Kubernetes restarts it). */
  readonly onFatal: (reason: string) => void;
}

export class KubernetesMode {
  readonly target: KubeTarget;
  readonly source: KubeContractSource;
  readonly elector: LeaseElector;
  readonly actuator: StatusFirstActuator;
  /** The Kubernetes actuator and the baseline (every NetworkPolicy), on one NetworkPolicy watch. */
  readonly actuation: KubernetesActuation;
  readonly stateDir: string;
  /** The client config of the leader's writes (fenced on leadership). */
  private readonly writes: WriteFencedKubeConfig;
  private statusWriter: StatusWriter | null = null;
  private events: EventRecorder | null = null;
  private leading = false;
  private readonly o: KubernetesModeOptions;
  private readonly controller = new AbortController();
  private electing: Promise<void> | null = null;
  private leaderSince: number | null = null;

  private readonly tuning: KubernetesTuning;

  private constructor(o: KubernetesModeOptions, target: KubeTarget, tuning: KubernetesTuning, identity: string) {
    this.o = o;
    this.target = target;
    this.tuning = tuning;
    const log = o.log.child({ component: 'kubernetes' });
    this.source = new KubeContractSource({
      kc: target.kc,
      log: log.child({ component: 'contract-watch' }),
      watchTimeoutSeconds: tuning.watchTimeoutSeconds,
      watchdogMs: tuning.watchdogMs,
    });
    this.elector = new LeaseElector({
      kc: target.kc,
      namespace: target.namespace,
      identity,
      log: log.child({ component: 'leader-election' }),
      clock: o.clock,
      leaseDurationMs: tuning.leaseDurationMs,
      renewDeadlineMs: tuning.leaseRenewDeadlineMs,
      renewPeriodMs: tuning.leaseRenewPeriodMs,
      retryPeriodMs: tuning.leaseRetryPeriodMs,
    });
    // Every write the leader makes (policies, labels, finalizers, status, Events) goes through
    // the fence, checked again once its connection is up (write-fence.ts); the elector writes
    // the Lease on its own client, which the API server fences by resourceVersion.
    this.writes = new WriteFencedKubeConfig(target.kc, () => this.isLeader());
    this.actuation = createKubernetesActuation({
      kc: this.writes,
      namespace: target.namespace,
      log: log.child({ component: 'actuator' }),
      clock: o.clock,
      contractObject: (name) => this.source.object(name),
      isLeader: () => this.isLeader(),
      identity: this.elector.identity,
      resyncMs: tuning.actuatorResyncMs,
    });
    const inner = this.actuation.actuator;
    this.actuator = new StatusFirstActuator({
      inner,
      isLeader: () => this.isLeader(),
      writeStatus: (name) => this.statusWriter?.sync(name) ?? Promise.reject(new Error('not leading: no status writer')),
      changed: (name) => {
        this.statusWriter?.sync(name).catch(() => undefined); // logged by the writer
      },
    });
    this.stateDir = fs.mkdtempSync(path.join(o.config.stateDir !== '' ? o.config.stateDir : os.tmpdir(), 'rampart-kube-'));
  }

  /** Loads the kubeconfig and lists the contracts once (throws on a start-up error). */
  static async start(o: KubernetesModeOptions): Promise<KubernetesMode> {
    if (o.config.kubernetes === null) throw new Error('not in Kubernetes mode');
    // The replica's name (the pod's, from the Deployment's RAMPART_LEADER_IDENTITY): the Lease
    // holder, the Events' reportingInstance, and the User-Agent of every write.
    const tuning = o.config.kubernetes.tuning;
    const identity = tuning.leaderIdentity ?? `${os.hostname()}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
    const target = loadKubeTarget(o.config.kubernetes, undefined, replicaUserAgent(identity));
    if (o.config.stateDir !== '') fs.mkdirSync(o.config.stateDir, { recursive: true });
    const mode = new KubernetesMode(o, target, tuning, identity);
    o.log.info('kubernetes mode', { server: target.kc.getCurrentCluster()?.server, config: target.source, namespace: target.namespace, identity: mode.elector.identity });
    await mode.source.start(mode.controller.signal);
    // Every replica keeps the NetworkPolicy and Pod caches warm; only the leader writes.
    await mode.actuation.start(mode.controller.signal);
    return mode;
  }

  /** Agents and API users checked by the API server (TokenReview, SubjectAccessReview), and the token file. */
  authorizer(tokenFile: Authorizer | null): KubeAuthorizer {
    return new KubeAuthorizer({
      kc: this.target.kc,
      namespace: this.target.namespace,
      clock: this.o.clock,
      log: this.o.log.child({ component: 'auth' }),
      tokenFile,
    });
  }

  /** The baseline: every NetworkPolicy in the cluster, owned by the contract that wrote it. */
  get baseline(): BaselineSource {
    return this.actuation.baseline;
  }

  /** The actuator the reconciler drives. */
  get reconcilerActuator(): Actuator {
    return this.actuator;
  }

  /** Leading and sure of it: the only state in which this replica writes anything. */
  isLeader(): boolean {
    return this.leading && this.elector.isLeader();
  }

  /** Ready (for /readyz and the Service) only while leading. */
  ready(): boolean {
    return this.isLeader();
  }

  /** Writes a contract's status now (an acknowledged operator action is in the status first). */
  persistStatus(name: string): Promise<void> {
    if (!this.statusWriter || !this.isLeader()) return Promise.reject(new Error('this replica does not lead'));
    return this.statusWriter.sync(name);
  }

  /** Leadership, status writes and watch restarts on the control plane's /metrics. */
  registerMetrics(registry: Registry): void {
    registerKubeMetrics(registry, { isLeader: () => this.isLeader(), status: () => this.statusStats(), watch: () => this.source.watchStats() });
  }

  statusStats(): ReturnType<StatusWriter['stats']> | null {
    return this.statusWriter?.stats() ?? null;
  }

  /** Campaigns for the Lease; on winning, seeds the journal from status and starts the reconciler. */
  campaign(reconciler: Reconciler, journal: Journal): void {
    const log = this.o.log.child({ component: 'kubernetes' });
    this.electing = this.elector.run(this.controller.signal, {
      started: (signal) => {
        this.leaderSince = this.o.clock.nowMs();
        const seeded = this.seed(journal);
        reconciler.reloadStates();
        const actions = new AnnotationActions({
          object: (name) => this.source.object(name),
          names: () => this.source.snapshot().map((e) => e.name),
          reconciler,
          clock: this.o.clock,
          log: log.child({ component: 'actions' }),
          isLeader: () => this.isLeader(),
          persist: (name) => this.persistStatus(name),
        });
        this.statusWriter = new StatusWriter({
          kc: this.writes,
          source: this.source,
          reconciler,
          journal,
          clock: this.o.clock,
          log: log.child({ component: 'status' }),
          isLeader: () => this.isLeader(),
          onFenced: (reason) => {
            this.leading = false;
            this.o.onFatal(reason);
          },
          applyState: (name) => this.actuator.applyState(name),
          lastAction: (name) => actions.lastAction(name),
          intervalMs: this.tuning.statusIntervalMs,
        });
        this.events = new EventRecorder({
          kc: this.writes,
          identity: this.elector.identity,
          clock: this.o.clock,
          log: log.child({ component: 'events' }),
          uidOf: (name) => this.source.object(name)?.metadata?.uid,
          isLeader: () => this.isLeader(),
        });
        const events = this.events;
        const writer = this.statusWriter;
        // A deleted contract, or one replaced by another object of the same name (a new uid,
        // e.g. deleted and re-created between two watch events): the new one starts afresh,
        // never at the stage its predecessor had reached.
        const uids = new Map<string, string | undefined>();
        for (const e of this.source.snapshot()) uids.set(e.name, this.source.object(e.name)?.metadata?.uid);
        this.source.onObject((name, obj) => {
          const uid = obj?.metadata?.uid;
          const before = uids.get(name);
          if (obj === null) uids.delete(name);
          else uids.set(name, uid);
          if (obj === null || (before !== undefined && uid !== undefined && before !== uid)) {
            writer.forget(name);
            reconciler.forget(name);
            actions.forget(name);
          }
          if (obj !== null) actions.check(name);
        });
        reconciler.subscribe({
          transition: (entry) => {
            if (!this.isLeader()) return;
            void events.transition(entry);
            // NOTE: the transition fires in the middle of a reconcile pass, before the view
            // shows the new state: write once the pass is over, or the status would pair the
            // new history entry with the old phase (a successor would then resume from that).
            queueMicrotask(() => {
              writer.sync(entry.contract).catch(() => undefined); // logged by the writer
            });
          },
          contractSet: () => undefined,
        });
        this.leading = true;
        this.actuation.actuator.resyncAll();
        log.info('leading: reconciler started', { seededContracts: seeded, identity: this.elector.identity });
        writer.start(signal);
        reconciler.start(signal);
        // An annotation the watch delivered before this replica led, or on a contract not yet
        // reconciled when it arrived, is acted on by the next sweep.
        actions.checkAll();
        const sweep = setInterval(() => actions.checkAll(), ACTION_SWEEP_MS);
        signal.addEventListener('abort', () => clearInterval(sweep), { once: true });
      },
      stopped: (reason) => {
        const wasLeading = this.leading;
        this.leading = false;
        if (wasLeading) this.o.onFatal(`leadership lost: ${reason}`);
      },
    });
  }

  /** Journal entries for every contract whose status holds a ramp state. */
  private seed(journal: Journal): number {
    let seeded = 0;
    for (const entry of this.source.snapshot()) {
      if (journal.history(entry.name).length > 0) continue;
      const obj = this.source.object(entry.name);
      const entries = entriesFromStatus(entry.name, obj?.status, entry.contract);
      for (const e of entries) journal.append(e);
      if (entries.length > 0) seeded++;
    }
    return seeded;
  }

  /** Stops campaigning (releasing the Lease if held) and watching. */
  async close(): Promise<void> {
    this.leading = false;
    this.controller.abort();
    await this.electing;
    fs.rmSync(this.stateDir, { recursive: true, force: true });
  }
}
