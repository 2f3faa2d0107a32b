/**
 * Every window to every control-plane replica (product.md "Kubernetes mode", High
 * availability): one outbox and one reporter (one stream, its own sequence numbers and acks)
 * per replica, so a standby holds the same evidence as the leader. The set of replicas is
 * fixed (`--controlplane a,b`) or follows DNS (discovery.ts): `setTargets` adds a stream for a
 * new address and ends the stream of one that is gone (what it had not acknowledged is that
 * replica's loss; the others hold it).
 */
import type { Logger } from '../../core/common/index.js';
import type { WindowSummary } from '../../core/summary/index.js';
import { sleep } from '../hubble/backoff.js';
import { Outbox } from './outbox.js';
import type { Reporter } from './reporter.js';

const STAT_KEYS = ['pushed', 'merges', 'acked', 'rejected', 'sends', 'resends'] as const;

interface Replica {
  readonly target: string;
  readonly outbox: Outbox;
  readonly reporter: Reporter;
  readonly stop: AbortController;
  readonly done: Promise<void>;
}

export interface FanoutOptions {
  /** A fresh outbox for a replica (capacity, top-K). */
  readonly newOutbox: () => Outbox;
  /** The reporter of one replica, streaming from its outbox. */
  readonly newReporter: (target: string, outbox: Outbox) => Reporter;
  readonly log: Logger;
}

export class ReplicaFanout {
  private readonly o: FanoutOptions;
  private readonly replicas = new Map<string, Replica>();
  private closed = false;
  /** Counters of the outboxes of dropped replicas. */
  private readonly retired: { -readonly [K in keyof Outbox['stats']]: number } = { pushed: 0, merges: 0, acked: 0, rejected: 0, sends: 0, resends: 0 };
  /** Counters since start (tests, logs). */
  readonly stats = { added: 0, removed: 0 };

  constructor(options: FanoutOptions) {
    this.o = options;
  }

  /** The replicas' targets, in the order they were added. */
  get targets(): string[] {
    return [...this.replicas.keys()];
  }

  /** True while some replica's stream is up. */
  get connected(): boolean {
    for (const r of this.replicas.values()) if (r.reporter.connected) return true;
    return false;
  }

  /** The outbox of a replica (the first one's when `target` is omitted), or null. */
  outbox(target?: string): Outbox | null {
    if (target !== undefined) return this.replicas.get(target)?.outbox ?? null;
    return this.replicas.values().next().value?.outbox ?? null;
  }

  /** Windows some replica has not acknowledged yet (the most of any replica). */
  get pendingWindows(): number {
    let most = 0;
    for (const r of this.replicas.values()) most = Math.max(most, r.outbox.pendingWindows);
    return most;
  }

  /** Entries held for some replica (the fullest outbox). */
  get pendingEntries(): number {
    let most = 0;
    for (const r of this.replicas.values()) most = Math.max(most, r.outbox.size);
    return most;
  }

  /** Outbox counters summed over every replica, those dropped included (they only grow). */
  outboxStats(): Outbox['stats'] {
    const sum = { ...this.retired };
    for (const r of this.replicas.values()) for (const k of STAT_KEYS) sum[k] += r.outbox.stats[k];
    return sum;
  }

  /** Makes the replicas exactly `targets`: streams for new ones, ended streams for gone ones. */
  setTargets(targets: readonly string[]): void {
    if (this.closed) return;
    const wanted = new Set(targets);
    for (const [target, r] of this.replicas) {
      if (wanted.has(target)) continue;
      this.replicas.delete(target);
      this.stats.removed++;
      for (const k of STAT_KEYS) this.retired[k] += r.outbox.stats[k];
      this.o.log.info('control plane replica dropped', { target, unacknowledgedWindows: r.outbox.pendingWindows });
      r.stop.abort();
      void r.done.finally(() => r.reporter.close());
    }
    for (const target of targets) {
      if (this.replicas.has(target)) continue;
      const outbox = this.o.newOutbox();
      const reporter = this.o.newReporter(target, outbox);
      const stop = new AbortController();
      this.replicas.set(target, { target, outbox, reporter, stop, done: reporter.run(stop.signal) });
      this.stats.added++;
      this.o.log.info('control plane replica added', { target });
    }
  }

  /** A closed window, to every replica. */
  push(summary: WindowSummary): void {
    for (const r of this.replicas.values()) r.outbox.push(summary);
  }

  /** Waits until every replica acknowledged everything, or `deadlineMs` (by `nowMs`) passes. */
  async drain(deadlineMs: number, nowMs: () => number): Promise<void> {
    for (const r of [...this.replicas.values()]) {
      while (r.outbox.size > 0 && nowMs() < deadlineMs) {
        await Promise.race([r.outbox.changed(), sleep(Math.min(100, deadlineMs - nowMs()))]);
      }
    }
  }

  /** Ends every stream (after a drain). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.replicas.values()];
    for (const r of all) r.stop.abort();
    await Promise.all(all.map((r) => r.done));
    for (const r of all) r.reporter.close();
  }
}
