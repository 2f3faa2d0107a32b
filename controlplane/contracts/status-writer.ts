/**
 * Writes each contract's status subresource from what the reconciler shows (status-json.ts),
 * only while this replica leads, only when something changed (evidence-only changes at most
 * every `evidenceIntervalMs`), with resourceVersion compare-and-swap: a 409 re-reads the
 * object and retries, unless the status it finds holds history this replica did not write —
 * then another replica is writing, and this one stops (leases do not fence; the CAS does).
 * Writes for one contract are serialised; a later request coalesces into the running one.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { canonicalJson, type Clock, type Logger } from '../../core/common/index.js';
import type { LastActionJson } from '../../core/contract/index.js';
import type { ContractViews } from '../../core/rollout/index.js';
import type { HistoryEntry, Journal } from '../state/journal.js';
import type { KubeContractSource } from './kube-contract-source.js';
import { describeApiError, isConflict, isNotFound } from '../../io/kube/api-error.js';
import { RAMPCONTRACT } from '../../core/contract/index.js';
import type { RampContractObject } from './rampcontract-gvr.js';
import { statusKey, statusOf, type ApplyState, type ContractStatus } from './status-json.js';

export const STATUS_DEFAULTS = Object.freeze({ intervalMs: 1000, evidenceIntervalMs: 5000, conflictRetries: 5 });

export interface StatusWriterOptions {
  readonly kc: KubeConfig;
  readonly source: KubeContractSource;
  /** The reconciler's views (the writer reads them; it never drives the reconciler). */
  readonly reconciler: ContractViews;
  readonly journal: Journal;
  readonly clock: Clock;
  readonly log: Logger;
  /** Checked before every write: a replica that is not sure it leads writes nothing. */
  readonly isLeader: () => boolean;
  /** Another replica wrote this status: stop leading (the process exits and restarts). */
  readonly onFenced: (reason: string) => void;
  readonly applyState: (contract: string) => ApplyState | null;
  /** The last action by annotation this leader handled for a contract, if any. */
  readonly lastAction?: (contract: string) => LastActionJson | null;
  readonly intervalMs?: number;
  readonly evidenceIntervalMs?: number;
}

interface Written {
  readonly resourceVersion: string;
  readonly status: ContractStatus;
  readonly atMs: number;
}

export interface StatusWriterStats {
  readonly writes: number;
  readonly conflicts: number;
  readonly failures: number;
  /** ms from the writer first seeing a contract to its first status write, per contract. */
  readonly firstWriteMs: ReadonlyMap<string, number>;
}

export class StatusWriter {
  private readonly o: StatusWriterOptions;
  private readonly api: CustomObjectsApi;
  private readonly written = new Map<string, Written>();
  private readonly decisionSince = new Map<string, { key: string; atMs: number }>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly firstSeenMs = new Map<string, number>();
  private readonly firstWriteMs = new Map<string, number>();
  /** Journal entries up to this id belong to an earlier object of the same name. */
  private readonly historyAfterId = new Map<string, number>();
  private writes = 0;
  private conflicts = 0;
  private failures = 0;
  private timer: NodeJS.Timeout | null = null;
  private fenced = false;

  constructor(options: StatusWriterOptions) {
    this.o = options;
    this.api = options.kc.makeApiClient(CustomObjectsApi);
  }

  stats(): StatusWriterStats {
    return { writes: this.writes, conflicts: this.conflicts, failures: this.failures, firstWriteMs: this.firstWriteMs };
  }

  start(signal: AbortSignal): void {
    this.timer = setInterval(() => {
      for (const v of this.o.reconciler.list()) this.sync(v.name).catch(() => undefined); // logged in writeOne
    }, this.o.intervalMs ?? STATUS_DEFAULTS.intervalMs);
    this.timer.unref();
    signal.addEventListener(
      'abort',
      () => {
        if (this.timer) clearInterval(this.timer);
      },
      { once: true },
    );
  }

  /**
   * Brings one contract's status up to date. Resolves when a write that includes the state
   * at the time of the call has finished (or nothing needed writing); rejects when it failed.
   */
  sync(name: string): Promise<void> {
    const busy = this.running.get(name);
    if (busy) {
      this.again.add(name);
      // The follow-up pass is chained behind the running one.
      return busy.then(() => this.running.get(name) ?? Promise.resolve());
    }
    const run = this.writeOne(name).finally(() => {
      this.running.delete(name);
      if (this.again.delete(name)) this.sync(name).catch(() => undefined); // logged in writeOne
    });
    this.running.set(name, run);
    return run;
  }

  /** A deleted contract: drop what was kept about it (the maps stay bounded by live contracts). */
  forget(name: string): void {
    // A new object of the same name starts a new history: older journal entries are not its.
    this.historyAfterId.set(name, this.o.journal.history(name).at(-1)?.id ?? 0);
    this.written.delete(name);
    this.decisionSince.delete(name);
    this.firstSeenMs.delete(name);
    this.firstWriteMs.delete(name);
  }

  /** The status this replica last wrote or read for a contract. */
  current(name: string): ContractStatus | null {
    return this.known(name)?.status ?? null;
  }

  private known(name: string): { resourceVersion: string; status: ContractStatus | null } | null {
    const obj = this.o.source.object(name);
    const mine = this.written.get(name);
    if (!obj) return mine ?? null;
    const rv = obj.metadata?.resourceVersion ?? '';
    // The watch may still deliver an object older than our own write: keep the newer one.
    if (mine && newer(mine.resourceVersion, rv)) return mine;
    return { resourceVersion: rv, status: (obj.status as ContractStatus | undefined) ?? null };
  }

  private desired(name: string, previous: ContractStatus | null): ContractStatus | null {
    const view = this.o.reconciler.get(name);
    const obj = this.o.source.object(name);
    if (!view || !obj) return null;
    const nowMs = this.o.clock.nowMs();
    const key = canonicalJson([view.decision.kind, view.decision.reasons]);
    let since = this.decisionSince.get(name);
    if (!since) {
      // A successor keeps the time of a decision it merely continues.
      const p = previous?.decision;
      const same = p !== undefined && canonicalJson([p.kind, p.reasons]) === key && p.at !== undefined;
      since = { key, atMs: same ? Date.parse(p.at!) : view.decision.atMs };
    } else if (since.key !== key) since = { key, atMs: view.decision.atMs };
    this.decisionSince.set(name, since);
    return statusOf({
      view,
      history: this.history(name),
      generation: this.o.source.generationOf(view) ?? obj.metadata?.generation ?? 0,
      decisionAtMs: since.atMs,
      apply: this.o.applyState(name),
      previous,
      lastAction: this.o.lastAction?.(name) ?? null,
      nowMs,
    });
  }

  private history(name: string): readonly HistoryEntry[] {
    const after = this.historyAfterId.get(name) ?? 0;
    const all = this.o.journal.history(name);
    return after === 0 ? all : all.filter((e) => e.id > after);
  }

  private async writeOne(name: string): Promise<void> {
    if (this.fenced || !this.o.isLeader()) return;
    if (!this.firstSeenMs.has(name)) this.firstSeenMs.set(name, this.o.clock.nowMs());
    const retries = STATUS_DEFAULTS.conflictRetries;
    for (let attempt = 0; attempt <= retries; attempt++) {
      const known = this.known(name);
      if (!known) return;
      const previous = known.status;
      const status = this.desired(name, previous);
      if (!status) return;
      const last = this.written.get(name);
      const nowMs = this.o.clock.nowMs();
      if (statusKey(status, false) === statusKey(previous, false)) {
        if (statusKey(status, true) === statusKey(previous, true)) return;
        // Only the counters moved: write them now and then, not on every report.
        if (last && nowMs - last.atMs < (this.o.evidenceIntervalMs ?? STATUS_DEFAULTS.evidenceIntervalMs)) return;
      }
      if (!this.o.isLeader()) return;
      try {
        const res = (await this.api.replaceClusterCustomObjectStatus({
          group: RAMPCONTRACT.group,
          version: RAMPCONTRACT.version,
          plural: RAMPCONTRACT.plural,
          name,
          body: { apiVersion: RAMPCONTRACT.apiVersion, kind: RAMPCONTRACT.kind, metadata: { name, resourceVersion: known.resourceVersion }, status },
        })) as RampContractObject;
        this.writes++;
        this.written.set(name, { resourceVersion: res.metadata?.resourceVersion ?? '', status: (res.status as ContractStatus | undefined) ?? status, atMs: nowMs });
        if (!this.firstWriteMs.has(name)) this.firstWriteMs.set(name, nowMs - (this.firstSeenMs.get(name) ?? nowMs));
        return;
      } catch (e) {
        if (isNotFound(e)) return; // deleted meanwhile
        if (!isConflict(e)) {
          this.failures++;
          this.o.log.warn('status write failed', { contract: name, err: { message: describeApiError(e) } });
          throw e;
        }
        this.conflicts++;
        const fresh = await this.reread(name);
        if (fresh === null) return;
        if (this.foreignHistory(name, fresh)) {
          this.fenced = true;
          const reason = `status of ${name} holds history this replica did not write: another replica is writing`;
          this.o.log.error('status write fenced', { contract: name });
          this.o.onFenced(reason);
          throw new Error(reason);
        }
      }
    }
    throw new Error(`status of ${name}: still conflicting after ${retries} retries`);
  }

  private async reread(name: string): Promise<RampContractObject | null> {
    try {
      const obj = (await this.api.getClusterCustomObject({ group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural, name })) as RampContractObject;
      this.written.set(name, { resourceVersion: obj.metadata?.resourceVersion ?? '', status: (obj.status as ContractStatus | undefined) ?? {}, atMs: this.written.get(name)?.atMs ?? 0 });
      return obj;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Whether the object's status history has an entry our history does not (someone else wrote it). */
  private foreignHistory(name: string, obj: RampContractObject): boolean {
    const theirs = ((obj.status as ContractStatus | undefined)?.history ?? []).map((h) => canonicalJson([h.at, h.to, h.phase, h.revision, h.kind]));
    const ours = new Set(this.history(name).map((e) => canonicalJson([new Date(e.atMs).toISOString(), e.to.stageName, e.to.phase, e.policiesHash, e.kind])));
    return theirs.some((k) => !ours.has(k));
  }
}

/** resourceVersions are opaque; etcd's are integers, which is all we compare (else: not newer). */
function newer(a: string, b: string): boolean {
  if (!/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) > BigInt(b);
}
