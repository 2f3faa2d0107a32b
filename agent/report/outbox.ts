/**
 * The bounded outbox between the window timer and the control plane (style.md 2.5).
 *
 * Invariants:
 * - At most `capacity` entries, whatever happens to the control plane (never unbounded).
 * - A window gets its sequence number when it is first sent and keeps it for every resend,
 *   so the receiver, idempotent on (node, boot_id, seq), never counts it twice.
 * - When full, the two oldest windows that were never sent are merged (summaries add up)
 *   and the merge is counted: nothing is dropped. A window that was ever sent is never
 *   merged, because the receiver may already hold it under its number.
 * - At most `maxInFlight` sent-but-unacknowledged windows (at most half the capacity), so
 *   a merge is always possible when the outbox is full.
 */
import { mergeSummaries, type WindowSummary } from '../../core/summary/index.js';

export interface OutboxEntry {
  summary: WindowSummary;
  /** Assigned at first send; null while the window has never left the agent. */
  seq: number | null;
  /** Sent on the current stream and waiting for its ack. */
  inFlight: boolean;
  sends: number;
}

export interface OutboxOptions {
  /** Most windows held (at least 3). */
  readonly capacity: number;
  readonly topK: number;
}

export class Outbox {
  readonly capacity: number;
  readonly maxInFlight: number;
  private readonly topK: number;
  private readonly entries: OutboxEntry[] = [];
  private nextSeq = 1;
  private readonly waiters = new Set<() => void>();
  /** Counters since start. */
  readonly stats = { pushed: 0, merges: 0, acked: 0, rejected: 0, sends: 0, resends: 0 };

  constructor(options: OutboxOptions) {
    this.capacity = Math.max(3, Math.floor(options.capacity));
    this.maxInFlight = Math.max(1, Math.floor(this.capacity / 2));
    this.topK = options.topK;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Windows (merged ones counted by what they hold) waiting for an ack. */
  get pendingWindows(): number {
    return this.entries.reduce((n, e) => n + e.summary.mergedWindows, 0);
  }

  get inFlight(): number {
    let n = 0;
    for (const e of this.entries) if (e.inFlight) n++;
    return n;
  }

  /** Sent at least once and not yet acknowledged (in flight now, or awaiting a resend). */
  private get everSentUnacked(): number {
    let n = 0;
    for (const e of this.entries) if (e.seq !== null) n++;
    return n;
  }

  push(summary: WindowSummary): void {
    this.stats.pushed++;
    if (this.entries.length >= this.capacity) this.mergeOldest();
    this.entries.push({ summary, seq: null, inFlight: false, sends: 0 });
    this.notify();
  }

  private mergeOldest(): void {
    const first = this.entries.findIndex((e) => e.seq === null);
    // Entries never sent form a suffix (numbers are handed out in order), so first+1 is the next one.
    const a = this.entries[first];
    const b = this.entries[first + 1];
    if (first === -1 || a === undefined || b === undefined || b.seq !== null) {
      // Unreachable while maxInFlight < capacity - 1; kept as a loud guard rather than silent growth.
      throw new Error(`outbox invariant broken: no two unsent windows to merge (size ${this.entries.length})`);
    }
    a.summary = mergeSummaries(a.summary, b.summary, this.topK);
    this.entries.splice(first + 1, 1);
    this.stats.merges++;
  }

  /**
   * The next window to send on the current stream, numbered if it is new, or null when none
   * is due or the in-flight limit is reached. The caller must send what it gets.
   */
  takeNext(): OutboxEntry | null {
    if (this.inFlight >= this.maxInFlight) return null;
    const entry = this.entries.find((e) => !e.inFlight);
    if (!entry) return null;
    if (entry.seq === null) {
      if (this.everSentUnacked >= this.maxInFlight) return null;
      entry.seq = this.nextSeq++;
      entry.summary = { ...entry.summary, seq: entry.seq };
    } else {
      this.stats.resends++;
    }
    entry.inFlight = true;
    entry.sends++;
    this.stats.sends++;
    return entry;
  }

  /** The receiver has the window: forget it. Unknown numbers (a late duplicate ack) are ignored. */
  ack(seq: number): boolean {
    const i = this.entries.findIndex((e) => e.seq === seq);
    if (i === -1) return false;
    this.entries.splice(i, 1);
    this.stats.acked++;
    this.notify();
    return true;
  }

  /** The receiver refused the window for good (malformed, unknown revision): not retried. */
  reject(seq: number): WindowSummary | null {
    const i = this.entries.findIndex((e) => e.seq === seq);
    if (i === -1) return null;
    const [entry] = this.entries.splice(i, 1);
    this.stats.rejected++;
    this.notify();
    return entry!.summary;
  }

  /** The stream is gone: every unacknowledged window is due again, under its own number. */
  streamLost(): void {
    for (const e of this.entries) e.inFlight = false;
  }

  /** Resolves at the next change (push, ack, reject). */
  changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  private notify(): void {
    const waiters = [...this.waiters];
    this.waiters.clear();
    for (const w of waiters) w();
  }
}
