/**
 * A bounded ring of events, like Hubble's: writers never wait, the oldest entry is
 * overwritten, and each reader holds a sequence number. A reader whose next entry was
 * overwritten learns how many it missed (Hubble reports those as HUBBLE_RING_BUFFER lost
 * events) and continues at the oldest entry still held.
 */

/** One stored event: a flow or a lost-events notice, kept encoded for cheap fan-out. */
export interface RingEntry {
  readonly kind: 'flow' | 'lost';
  /** Event time in ns since the epoch. */
  readonly timeNs: bigint;
  /** The GetFlowsResponse record (proto-loader shape); filters read `record.flow`. */
  readonly record: Readonly<Record<string, unknown>>;
  /** The same response, encoded once when written. */
  readonly bytes: Buffer;
}

export type ReadResult =
  | { readonly kind: 'entry'; readonly entry: RingEntry; readonly next: number }
  | { readonly kind: 'lost'; readonly count: number; readonly next: number }
  | { readonly kind: 'empty' };

/** Remembers the times of recently overwritten entries, to tell a `since` reader what it lost. */
const EVICTED_MEMORY = 65_536;

export class Ring {
  readonly capacity: number;
  private readonly slots: (RingEntry | undefined)[];
  /** Sequence number of the next write; entries hold seq in [written - size, written). */
  private written = 0;
  private readonly evictedTimes: bigint[] = [];
  private evictedCursor = 0;
  private readonly waiters = new Set<() => void>();

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.slots = new Array<RingEntry | undefined>(capacity);
  }

  /** Sequence number the next write will get. */
  get head(): number {
    return this.written;
  }

  /** Sequence number of the oldest entry still held. */
  get oldest(): number {
    return Math.max(0, this.written - this.capacity);
  }

  get size(): number {
    return this.written - this.oldest;
  }

  write(entry: RingEntry): void {
    const slot = this.written % this.capacity;
    const evicted = this.slots[slot];
    if (evicted !== undefined && this.written >= this.capacity) {
      if (this.evictedTimes.length < EVICTED_MEMORY) this.evictedTimes.push(evicted.timeNs);
      else this.evictedTimes[this.evictedCursor] = evicted.timeNs;
      this.evictedCursor = (this.evictedCursor + 1) % EVICTED_MEMORY;
    }
    this.slots[slot] = entry;
    this.written++;
    for (const wake of this.waiters) wake();
    this.waiters.clear();
  }

  /** Reads the entry at `seq`, or reports how many entries from `seq` on were overwritten. */
  read(seq: number): ReadResult {
    if (seq >= this.written) return { kind: 'empty' };
    const oldest = this.oldest;
    if (seq < oldest) return { kind: 'lost', count: oldest - seq, next: oldest };
    return { kind: 'entry', entry: this.slots[seq % this.capacity]!, next: seq + 1 };
  }

  /** First sequence number whose entry time is ≥ `sinceNs` (entries are in write order). */
  seekTime(sinceNs: bigint): number {
    let lo = this.oldest;
    let hi = this.written;
    // Binary search assumes time order; replayed captures and live publishing keep it.
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.slots[mid % this.capacity]!.timeNs < sinceNs) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** How many overwritten entries (of the last EVICTED_MEMORY) had a time ≥ `sinceNs`. */
  evictedSince(sinceNs: bigint): number {
    let n = 0;
    for (const t of this.evictedTimes) if (t >= sinceNs) n++;
    return n;
  }

  /** Resolves at the next write (or at once if `seq` is already readable). */
  waitFor(seq: number, signal?: AbortSignal): Promise<void> {
    if (seq < this.written || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  /** Entries from oldest to newest (a snapshot, for status queries). */
  *entries(): IterableIterator<RingEntry> {
    for (let s = this.oldest; s < this.written; s++) yield this.slots[s % this.capacity]!;
  }
}
