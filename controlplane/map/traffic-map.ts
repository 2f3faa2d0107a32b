/**
 * The traffic map: observed edges from every agent, merged across nodes (edges are keyed by
 * workloads, never by node, so counts add), kept for a retention (default 7 d) and bounded in
 * edges. Counts are kept in time buckets (retention / 42, at least a minute) so `since` can
 * be answered; an edge whose last bucket leaves the retention is dropped.
 *
 * Bounded memory whatever agents send: at most `maxEdges` edges of at most BUCKETS buckets
 * each. When full, the least recently seen edges (a twentieth of the map at once, so the
 * sweep stays rare) are evicted and their counts folded into the "other" bucket, as are the
 * agents' own overflow counts. Nothing is silently lost: `stats()` says how much was folded.
 */
import { labelChars, observedEdgeId, stripped, type ObservedEdge, type ObservedPeer } from '../../core/summary/index.js';
import { edgeFlow } from '../../core/map/index.js';
import type { Flow } from '../../core/flow/index.js';

export const DEFAULT_MAP_RETENTION_MS = 7 * 24 * 3600_000;
export const DEFAULT_MAP_MAX_EDGES = 20_000;
/**
 * Label characters the map keeps over all workloads. Each workload's labels are kept once
 * (the first identity seen for it, shared by all its edges); past the budget a new workload
 * keeps no labels, so its selectors are judged indeterminate, never guessed.
 */
export const MAX_MAP_LABEL_CHARS = 32_000_000;
/** Buckets per retention: `since` is answered to retention / BUCKETS (4 h at 7 d). */
export const BUCKETS = 42;
const MIN_BUCKET_MS = 60_000;

export interface MapEdge {
  readonly id: string;
  readonly from: ObservedPeer;
  readonly to: ObservedPeer;
  readonly port: number;
  readonly protocol: string;
  firstSeenMs: number;
  lastSeenMs: number;
  /** bucket start (ms) → connections counted in it. */
  readonly buckets: Map<number, number>;
  /** The connection this edge stands for, built once for judging. */
  flow: Flow | null;
}

export interface MapQueryEdge {
  readonly edge: MapEdge;
  readonly count: number;
}

export interface TrafficMapOptions {
  readonly retentionMs?: number;
  readonly maxEdges?: number;
}

export interface TrafficMapStats {
  readonly edges: number;
  /** Connections folded into "other" (agents' overflow and evicted edges) within retention. */
  readonly other: number;
  readonly evictedEdges: number;
  /** Workload ends held (each with its labels once). */
  readonly workloads: number;
  readonly labelChars: number;
}

export class TrafficMap {
  readonly retentionMs: number;
  readonly maxEdges: number;
  readonly bucketMs: number;
  private readonly edges = new Map<string, MapEdge>();
  private readonly other = new Map<number, number>();
  /** One representative per workload end (namespace, workload, kind), shared by its edges. */
  private readonly peers = new Map<string, ObservedPeer>();
  private peerLabelChars = 0;
  private evicted = 0;
  private version = 0;
  private lastPruneMs = 0;
  /** Since when this map has been collecting (restored with it): what "the map holds" means for history. */
  private collectingSinceMs: number | null = null;

  constructor(options: TrafficMapOptions = {}) {
    this.retentionMs = options.retentionMs ?? DEFAULT_MAP_RETENTION_MS;
    this.maxEdges = options.maxEdges ?? DEFAULT_MAP_MAX_EDGES;
    if (!(this.retentionMs > 0)) throw new RangeError(`map retention must be positive, got ${this.retentionMs}`);
    if (!Number.isInteger(this.maxEdges) || this.maxEdges < 1) throw new RangeError(`map edge bound must be a positive integer, got ${this.maxEdges}`);
    this.bucketMs = Math.max(MIN_BUCKET_MS, Math.floor(this.retentionMs / BUCKETS));
  }

  /** Bumps on every change (for persistence and caches). */
  get changes(): number {
    return this.version;
  }

  get size(): number {
    return this.edges.size;
  }

  /** The map's representative for this end: the first one seen, labels within the budget. */
  private intern(p: ObservedPeer): ObservedPeer {
    const key = `${p.namespace}\u0000${p.workload}\u0000${p.kind}`;
    const have = this.peers.get(key);
    if (have !== undefined) return have;
    const chars = labelChars(p);
    let kept = p;
    if (this.peerLabelChars + chars > MAX_MAP_LABEL_CHARS) kept = stripped(p);
    else this.peerLabelChars += chars;
    this.peers.set(key, kept);
    return kept;
  }

  private bucketOf(ms: number): number {
    return ms - (ms % this.bucketMs);
  }

  /** One report's edges (already deduplicated by the collector), counted at their last-seen time. */
  ingest(edges: readonly ObservedEdge[], overflow: number, nowMs: number): void {
    this.collectingSinceMs ??= nowMs;
    if (edges.length === 0 && overflow <= 0) return;
    this.version++;
    const horizon = nowMs - this.retentionMs;
    for (const e of edges) {
      // Agent clocks drift: a time from the future counts now, one older than retention is ignored.
      const at = Math.min(e.lastSeenMs, nowMs);
      if (at < horizon) continue;
      const id = observedEdgeId(e);
      let rec = this.edges.get(id);
      if (rec === undefined) {
        if (this.edges.size >= this.maxEdges) this.evictOldest(nowMs);
        // The connection it stands for is built now, once, so a preview only judges.
        const from = this.intern(e.from);
        const to = this.intern(e.to);
        rec = { id, from, to, port: e.port, protocol: e.protocol, firstSeenMs: Math.min(e.firstSeenMs, at), lastSeenMs: at, buckets: new Map(), flow: edgeFlow({ from, to, port: e.port, protocol: e.protocol }) };
        this.edges.set(id, rec);
      } else {
        if (e.firstSeenMs < rec.firstSeenMs) rec.firstSeenMs = e.firstSeenMs;
        if (at > rec.lastSeenMs) rec.lastSeenMs = at;
      }
      const b = this.bucketOf(at);
      rec.buckets.set(b, (rec.buckets.get(b) ?? 0) + e.count);
    }
    if (overflow > 0) {
      const b = this.bucketOf(nowMs);
      this.other.set(b, (this.other.get(b) ?? 0) + overflow);
    }
    if (nowMs - this.lastPruneMs >= this.bucketMs) this.prune(nowMs);
  }

  /** Drops buckets (and edges) older than the retention. */
  prune(nowMs: number): void {
    this.lastPruneMs = nowMs;
    const oldest = this.bucketOf(nowMs - this.retentionMs);
    for (const [id, rec] of this.edges) {
      for (const b of rec.buckets.keys()) if (b < oldest) rec.buckets.delete(b);
      if (rec.buckets.size === 0) this.edges.delete(id);
    }
    for (const b of this.other.keys()) if (b < oldest) this.other.delete(b);
    this.dropUnusedPeers();
    this.version++;
  }

  /** Forgets the representatives no edge uses any more (and gives their labels back to the budget). */
  private dropUnusedPeers(): void {
    const used = new Set<ObservedPeer>();
    for (const e of this.edges.values()) {
      used.add(e.from);
      used.add(e.to);
    }
    for (const [key, p] of this.peers) {
      if (used.has(p)) continue;
      this.peers.delete(key);
      this.peerLabelChars -= labelChars(p);
    }
  }

  private evictOldest(nowMs: number): void {
    const n = Math.max(1, Math.ceil(this.maxEdges / 20));
    const victims = [...this.edges.values()].sort((a, b) => a.lastSeenMs - b.lastSeenMs).slice(0, n);
    const b = this.bucketOf(nowMs);
    for (const v of victims) {
      let total = 0;
      for (const c of v.buckets.values()) total += c;
      this.other.set(b, (this.other.get(b) ?? 0) + total);
      this.edges.delete(v.id);
    }
    this.evicted += victims.length;
    this.dropUnusedPeers();
  }

  /** Edges seen since `sinceMs`, with their counts since then (to the bucket), largest first. */
  query(sinceMs: number, nowMs: number): MapQueryEdge[] {
    const from = this.bucketOf(Math.max(sinceMs, nowMs - this.retentionMs));
    const out: MapQueryEdge[] = [];
    for (const edge of this.edges.values()) {
      if (edge.lastSeenMs < sinceMs) continue;
      let count = 0;
      for (const [b, c] of edge.buckets) if (b >= from) count += c;
      if (count > 0) out.push({ edge, count });
    }
    // Numeric keys only (string ties are slow on 10,000 edges); insertion order breaks the rest.
    return out.sort((a, b) => b.count - a.count || b.edge.lastSeenMs - a.edge.lastSeenMs);
  }

  /**
   * Since when the map holds traffic: when it started collecting (kept across restarts in
   * its file), no earlier than the retention allows. Null: nothing collected yet.
   */
  heldSinceMs(nowMs: number): number | null {
    return this.collectingSinceMs === null ? null : Math.max(this.collectingSinceMs, nowMs - this.retentionMs);
  }

  /**
   * Edges seen between `fromMs` and `toMs`, with their counts there (to the bucket: the
   * bucket holding `toMs` counts whole), for judging the history before a revision started.
   */
  *window(fromMs: number, toMs: number): Generator<{ readonly edge: MapEdge; readonly count: number }> {
    const from = this.bucketOf(fromMs);
    for (const edge of this.edges.values()) {
      if (edge.firstSeenMs > toMs || edge.lastSeenMs < fromMs) continue;
      let count = 0;
      for (const [b, c] of edge.buckets) if (b >= from && b <= toMs) count += c;
      if (count > 0) yield { edge, count };
    }
  }

  /** Every edge held (for which workloads talk to which). */
  all(): Iterable<MapEdge> {
    return this.edges.values();
  }

  /** The connection an edge stands for (memoised on the edge). */
  flowOf(edge: MapEdge): Flow {
    edge.flow ??= edgeFlow(edge);
    return edge.flow;
  }

  otherSince(sinceMs: number): number {
    const from = this.bucketOf(sinceMs);
    let n = 0;
    for (const [b, c] of this.other) if (b >= from) n += c;
    return n;
  }

  stats(): TrafficMapStats {
    let other = 0;
    for (const c of this.other.values()) other += c;
    return { edges: this.edges.size, other, evictedEdges: this.evicted, workloads: this.peers.size, labelChars: this.peerLabelChars };
  }

  // -------------------------------------------------------------------------------------
  // Persistence (map-file.ts writes and reads these plain objects).

  toJSON(): TrafficMapSnapshot {
    return {
      version: 1,
      bucketMs: this.bucketMs,
      ...(this.collectingSinceMs === null ? {} : { collectingSinceMs: this.collectingSinceMs }),
      evictedEdges: this.evicted,
      other: [...this.other.entries()],
      edges: [...this.edges.values()].map((e) => ({ from: e.from, to: e.to, port: e.port, protocol: e.protocol, firstSeenMs: e.firstSeenMs, lastSeenMs: e.lastSeenMs, buckets: [...e.buckets.entries()] })),
    };
  }

  /** Restores a snapshot (validated by map-file.ts), then applies this map's retention and bound. */
  restore(s: TrafficMapSnapshot, nowMs: number): void {
    this.edges.clear();
    this.other.clear();
    this.peers.clear();
    this.peerLabelChars = 0;
    this.evicted = s.evictedEdges;
    // A file from before this field: the oldest edge it holds is the best lower bound.
    let oldest = s.collectingSinceMs ?? null;
    if (oldest === null) for (const e of s.edges) oldest = Math.min(oldest ?? e.firstSeenMs, e.firstSeenMs);
    this.collectingSinceMs = oldest;
    for (const [b, c] of s.other) this.other.set(b, c);
    // Most recently seen first, so a smaller bound keeps the freshest edges.
    const edges = [...s.edges].sort((a, b) => b.lastSeenMs - a.lastSeenMs);
    for (const e of edges.slice(0, this.maxEdges)) {
      const id = observedEdgeId(e);
      const prev = this.edges.get(id);
      const buckets = prev?.buckets ?? new Map<number, number>();
      for (const [b, c] of e.buckets) buckets.set(b, (buckets.get(b) ?? 0) + c);
      const from = prev?.from ?? this.intern(e.from);
      const to = prev?.to ?? this.intern(e.to);
      this.edges.set(id, { id, from, to, port: e.port, protocol: e.protocol, firstSeenMs: Math.min(prev?.firstSeenMs ?? e.firstSeenMs, e.firstSeenMs), lastSeenMs: Math.max(prev?.lastSeenMs ?? 0, e.lastSeenMs), buckets, flow: prev?.flow ?? edgeFlow({ from, to, port: e.port, protocol: e.protocol }) });
    }
    for (const e of edges.slice(this.maxEdges)) {
      let total = 0;
      for (const [, c] of e.buckets) total += c;
      const b = this.bucketOf(nowMs);
      this.other.set(b, (this.other.get(b) ?? 0) + total);
      this.evicted++;
    }
    this.prune(nowMs);
  }
}

export interface TrafficMapSnapshot {
  readonly version: 1;
  readonly bucketMs: number;
  readonly evictedEdges: number;
  /** Since when the map was collecting (absent in files written before it was kept). */
  readonly collectingSinceMs?: number;
  readonly other: readonly (readonly [number, number])[];
  readonly edges: readonly {
    readonly from: ObservedPeer;
    readonly to: ObservedPeer;
    readonly port: number;
    readonly protocol: string;
    readonly firstSeenMs: number;
    readonly lastSeenMs: number;
    readonly buckets: readonly (readonly [number, number])[];
  }[];
}
