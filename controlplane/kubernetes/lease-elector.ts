/**
 * Leader election on a coordination.k8s.io/v1 Lease, the algorithm of client-go's
 * tools/leaderelection (client-node has none):
 * - every retry period a candidate GETs the Lease; 404 → CREATE it with itself as holder;
 * - another holder whose record changed within the lease duration, as measured by OUR clock
 *   from when WE saw it change (timestamps in the record are not trusted), is left alone;
 * - otherwise UPDATE (PUT with the resourceVersion of the GET, so a racing candidate gets 409)
 *   with itself as holder and leaseTransitions + 1; a renewing leader keeps acquireTime.
 * - the leader renews every renew period; if no renewal succeeded within the renew deadline
 *   it stops leading (and must stop writing); on a clean stop it releases the Lease (empty
 *   holder, leaseDurationSeconds 1) so the next candidate need not wait.
 * Leases do not fence: writers guard irreversible writes themselves (status CAS).
 */
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Clock, Logger } from '../../core/common/index.js';
import { describeApiError, isConflict, isNotFound } from '../../io/kube/api-error.js';

export const LEASE_NAME = 'rampart-controlplane';
export const LEASE_DEFAULTS = Object.freeze({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, renewPeriodMs: 5_000, retryPeriodMs: 2_000 });

export interface LeaseElectorOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly identity: string;
  readonly log: Logger;
  readonly clock: Clock;
  readonly name?: string;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly renewPeriodMs?: number;
  readonly retryPeriodMs?: number;
}

export interface LeadershipEvents {
  /** This replica leads from now on; `signal` aborts when it stops. */
  started(signal: AbortSignal): void;
  /** Leadership ended (deadline missed, Lease taken, or the elector stopped). */
  stopped(reason: string): void;
}

type Timing = Required<Pick<LeaseElectorOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'renewPeriodMs' | 'retryPeriodMs'>>;

export class LeaseElector {
  private readonly api: CoordinationV1Api;
  private readonly o: LeaseElectorOptions;
  private readonly t: Timing;
  private readonly name: string;
  /** Local time of the last successful acquire or renew while leading; null when not leading. */
  private renewedAtMs: number | null = null;
  private leading: AbortController | null = null;
  /** What we last saw of someone else's record and when (our clock). */
  private observed: { key: string; atMs: number } | null = null;
  private lease: V1Lease | null = null;
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private transitions = 0;

  constructor(options: LeaseElectorOptions) {
    this.o = options;
    this.name = options.name ?? LEASE_NAME;
    this.t = {
      leaseDurationMs: options.leaseDurationMs ?? LEASE_DEFAULTS.leaseDurationMs,
      renewDeadlineMs: options.renewDeadlineMs ?? LEASE_DEFAULTS.renewDeadlineMs,
      renewPeriodMs: options.renewPeriodMs ?? LEASE_DEFAULTS.renewPeriodMs,
      retryPeriodMs: options.retryPeriodMs ?? LEASE_DEFAULTS.retryPeriodMs,
    };
    if (!(this.t.leaseDurationMs > this.t.renewDeadlineMs && this.t.renewDeadlineMs > 1.2 * this.t.retryPeriodMs)) {
      throw new Error('leader election: need leaseDuration > renewDeadline > 1.2 x retryPeriod');
    }
    this.api = options.kc.makeApiClient(CoordinationV1Api);
  }

  get identity(): string {
    return this.o.identity;
  }

  /** True while this replica holds the Lease and renewed it within the renew deadline. */
  isLeader(): boolean {
    return this.renewedAtMs !== null && this.o.clock.nowMs() - this.renewedAtMs < this.t.renewDeadlineMs;
  }

  /** Campaigns until `signal` aborts; then releases the Lease if it holds it. */
  run(signal: AbortSignal, events: LeadershipEvents): Promise<void> {
    return new Promise<void>((resolve) => {
      const tick = async (): Promise<void> => {
        if (signal.aborted || this.stopped) return;
        const wasLeader = this.leading !== null;
        const ok = await this.tryAcquireOrRenew().catch((e: unknown) => {
          this.o.log.warn('leader election: lease request failed', { lease: this.name, err: { message: describeApiError(e) } });
          return false;
        });
        if (signal.aborted || this.stopped) return;
        if (ok && !wasLeader) {
          this.leading = new AbortController();
          this.o.log.info('leader election: became leader', { lease: `${this.o.namespace}/${this.name}`, identity: this.o.identity, transitions: this.transitions });
          events.started(this.leading.signal);
        } else if (wasLeader && !this.isLeader()) {
          this.stopLeading(events, ok ? 'lease lost' : `no renewal within ${this.t.renewDeadlineMs} ms`);
        }
        const next = this.leading ? this.t.renewPeriodMs : this.t.retryPeriodMs;
        // While leading, retry a failed renewal at the retry period until the deadline passes.
        const delay = this.leading && !ok ? this.t.retryPeriodMs : next;
        this.timer = setTimeout(() => void tick(), delay);
      };
      signal.addEventListener(
        'abort',
        () => {
          if (this.timer) clearTimeout(this.timer);
          const release = this.leading ? this.release() : Promise.resolve();
          if (this.leading) this.stopLeading(events, 'stopped');
          void release.finally(resolve);
        },
        { once: true },
      );
      void tick();
    });
  }

  private stopLeading(events: LeadershipEvents, reason: string): void {
    const leading = this.leading;
    this.leading = null;
    this.renewedAtMs = null;
    this.o.log.warn('leader election: stopped leading', { lease: this.name, identity: this.o.identity, reason });
    leading?.abort();
    events.stopped(reason);
  }

  /** One attempt; true when we hold the Lease afterwards. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const nowMs = this.o.clock.nowMs();
    const now = new V1MicroTime(nowMs);
    const durationSeconds = Math.round(this.t.leaseDurationMs / 1000);
    let current: V1Lease;
    try {
      current = await withTimeout(this.api.readNamespacedLease({ name: this.name, namespace: this.o.namespace }), this.t.retryPeriodMs, 'read lease');
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const created = await withTimeout(
        this.api.createNamespacedLease({
          namespace: this.o.namespace,
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.name, namespace: this.o.namespace },
            spec: { holderIdentity: this.o.identity, leaseDurationSeconds: durationSeconds, acquireTime: now, renewTime: now, leaseTransitions: 0 },
          },
        }),
        this.t.retryPeriodMs,
        'create lease',
      ).catch((err: unknown) => {
        if (isConflict(err)) return null; // someone else created it first
        throw err;
      });
      if (created === null) return false;
      this.lease = created;
      this.renewedAtMs = nowMs;
      this.transitions = 0;
      return true;
    }
    const spec = current.spec ?? {};
    const holder = spec.holderIdentity ?? '';
    const key = `${holder}|${String(spec.renewTime)}|${current.metadata?.resourceVersion ?? ''}`;
    if (this.observed?.key !== key) this.observed = { key, atMs: nowMs };
    const held = holder !== '' && holder !== this.o.identity;
    const recordDurationMs = (spec.leaseDurationSeconds ?? durationSeconds) * 1000;
    if (held && this.observed.atMs + recordDurationMs > nowMs) return false;
    const mine = holder === this.o.identity && this.leading !== null;
    const body: V1Lease = {
      ...current,
      spec: {
        holderIdentity: this.o.identity,
        leaseDurationSeconds: durationSeconds,
        acquireTime: mine && spec.acquireTime ? new V1MicroTime(new Date(spec.acquireTime as unknown as string).getTime()) : now,
        renewTime: now,
        leaseTransitions: (spec.leaseTransitions ?? 0) + (mine ? 0 : 1),
      },
    };
    try {
      this.lease = await withTimeout(this.api.replaceNamespacedLease({ name: this.name, namespace: this.o.namespace, body }), this.t.retryPeriodMs, 'update lease');
    } catch (e) {
      if (isConflict(e)) return false; // a racing candidate won
      throw e;
    }
    this.renewedAtMs = nowMs;
    this.transitions = this.lease.spec?.leaseTransitions ?? 0;
    return true;
  }

  /** Gives the Lease up (empty holder, 1 s duration) so a standby takes over at once. */
  private async release(): Promise<void> {
    const lease = this.lease;
    if (!lease || !this.isLeader()) return;
    this.stopped = true;
    try {
      await withTimeout(
        this.api.replaceNamespacedLease({
          name: this.name,
          namespace: this.o.namespace,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(this.o.clock.nowMs()) } },
        }),
        this.t.retryPeriodMs,
        'release lease',
      );
      this.o.log.info('leader election: released the lease', { lease: this.name, identity: this.o.identity });
    } catch (e) {
      this.o.log.warn('leader election: release failed (the lease expires on its own)', { err: { message: describeApiError(e) } });
    }
  }
}

/** A request that takes longer than `ms` counts as failed (client-node sets no timeout). */
function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
