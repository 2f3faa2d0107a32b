/**
 * A bounded top-K of edges: the Space-Saving sketch (Metwally et al., 2005) with exact
 * accounting. Memory is O(capacity) whatever the traffic.
 *
 * Each slot ranks by its Space-Saving `estimate` (its count plus the count of the slot it
 * replaced), so an edge with more than total/capacity hits is never evicted. What a slot
 * *reports* is its exact count since it was admitted; when a slot is evicted its count moves
 * to `overflow`. Hence, always: sum(edge counts) + overflow = everything added. Nothing is
 * lost and nothing is counted twice, which is what lets windows (and merged windows) add up.
 */
import type { Edge, EdgeKey } from './summary.js';

export const DEFAULT_TOP_K = 100;

interface Slot<S> {
  readonly id: string;
  readonly key: EdgeKey;
  count: number;
  /** Space-Saving rank: count + the estimate inherited from the slot it replaced. */
  estimate: number;
  firstSeenMs: number;
  lastSeenMs: number;
  sample: S;
  heapIndex: number;
}

export function edgeId(k: EdgeKey): string {
  return `${k.side}\u0000${k.fromNamespace}\u0000${k.fromWorkload}\u0000${k.toNamespace}\u0000${k.toWorkload}\u0000${k.port}\u0000${k.protocol}`;
}

/**
 * `S` is what a slot keeps as its sample (a string, or e.g. the Flow itself); `render` turns
 * it into the reported text only when edges are read, so an edge that is admitted and then
 * evicted under a flood never costs a serialisation.
 */
export class TopEdges<S = string> {
  readonly capacity: number;
  private readonly slots = new Map<string, Slot<S>>();
  /** Min-heap on `estimate`: the root is the next slot to give up. */
  private readonly heap: Slot<S>[] = [];
  private overflowCount = 0;
  private readonly render: (sample: S) => string;

  constructor(capacity = DEFAULT_TOP_K, render: (sample: S) => string = String) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`top-K capacity must be a positive integer, got ${capacity}`);
    this.capacity = capacity;
    this.render = render;
  }

  /** Evaluations that fell outside the kept edges. */
  get overflow(): number {
    return this.overflowCount;
  }

  get size(): number {
    return this.slots.size;
  }

  /** Counts `n` hits of an edge seen between `firstMs` and `lastMs`; `sample` is kept if the edge takes a new slot. */
  add(key: EdgeKey, n: number, firstMs: number, lastMs: number, sample: S): void {
    this.addKeyed(edgeId(key), key, n, firstMs, lastMs, sample);
  }

  /** As `add`, with `id === edgeId(key)` already computed (shared by every contract a flow is denied by). */
  addKeyed(id: string, key: EdgeKey, n: number, firstMs: number, lastMs: number, sample: S): void {
    if (n <= 0) return;
    const slot = this.slots.get(id);
    if (slot) {
      slot.count += n;
      slot.estimate += n;
      if (firstMs < slot.firstSeenMs) slot.firstSeenMs = firstMs;
      if (lastMs > slot.lastSeenMs) slot.lastSeenMs = lastMs;
      this.siftDown(slot.heapIndex);
      return;
    }
    if (this.slots.size < this.capacity) {
      const fresh: Slot<S> = { id, key, count: n, estimate: n, firstSeenMs: firstMs, lastSeenMs: lastMs, sample, heapIndex: this.heap.length };
      this.slots.set(id, fresh);
      this.heap.push(fresh);
      this.siftUp(fresh.heapIndex);
      return;
    }
    // Full: the newcomer replaces the weakest slot, whose exact count moves to overflow.
    const victim = this.heap[0]!;
    this.overflowCount += victim.count;
    this.slots.delete(victim.id);
    const replacement: Slot<S> = {
      id,
      key,
      count: n,
      estimate: victim.estimate + n,
      firstSeenMs: firstMs,
      lastSeenMs: lastMs,
      sample,
      heapIndex: 0,
    };
    this.slots.set(id, replacement);
    this.heap[0] = replacement;
    this.siftDown(0);
  }

  /** Adds a reported edge (a merge of summaries). */
  addEdge(this: TopEdges<string>, e: Edge): void {
    this.add(e, e.count, e.firstSeenMs, e.lastSeenMs, e.sampleFlowJson);
  }

  /** Adds overflow carried over from another summary. */
  addOverflow(n: number): void {
    this.overflowCount += n;
  }

  /** The kept edges, largest count first (ties in key order, so output is deterministic). */
  edges(): Edge[] {
    return [...this.slots.values()]
      .sort((a, b) => b.count - a.count || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((s) => ({
        fromNamespace: s.key.fromNamespace,
        fromWorkload: s.key.fromWorkload,
        toNamespace: s.key.toNamespace,
        toWorkload: s.key.toWorkload,
        port: s.key.port,
        protocol: s.key.protocol,
        side: s.key.side,
        count: s.count,
        firstSeenMs: s.firstSeenMs,
        lastSeenMs: s.lastSeenMs,
        sampleFlowJson: this.render(s.sample),
      }));
  }

  private siftUp(i: number): void {
    const h = this.heap;
    const item = h[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = h[parent]!;
      if (p.estimate <= item.estimate) break;
      h[i] = p;
      p.heapIndex = i;
      i = parent;
    }
    h[i] = item;
    item.heapIndex = i;
  }

  private siftDown(i: number): void {
    const h = this.heap;
    const n = h.length;
    const item = h[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && h[r]!.estimate < h[l]!.estimate ? r : l;
      const c = h[child]!;
      if (c.estimate >= item.estimate) break;
      h[i] = c;
      c.heapIndex = i;
      i = child;
    }
    h[i] = item;
    item.heapIndex = i;
  }
}
