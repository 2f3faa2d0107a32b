/**
 * Observed edges: every connection start an agent saw in a window, folded to workloads
 * (ns/workload → ns/workload : port/protocol; never a pod name or an IP), with counts. They
 * feed the control plane's traffic map (product.md "Traffic map, preview, admission").
 *
 * With each end the edge keeps the workload's representative labels (the pod and namespace
 * labels of the first identity seen for it, bounded) so a contract's selectors can later be
 * evaluated against the map; an end whose labels were cut or are unknown is judged
 * indeterminate, never guessed.
 *
 * Bounded memory whatever the cardinality: at most `capacity` edges per window; a connection
 * on an edge that does not fit is counted in `overflow` (the "other" bucket), never dropped
 * silently and never allowed to grow the map.
 */
import type { Endpoint, Flow } from '../flow/index.js';
import { workloadOf } from './workload.js';

/** How an edge end was identified: selectors can only be judged on `pod` ends. */
export type ObservedPeerKind = 'pod' | 'external' | 'reserved' | 'unknown';

export interface ObservedPeer {
  readonly namespace: string;
  readonly workload: string;
  readonly kind: ObservedPeerKind;
  /** Pod labels of the first identity seen (pod ends only). */
  readonly labels: Readonly<Record<string, string>>;
  /** Namespace labels of that identity (`k8s:io.cilium.k8s.namespace.labels.*`). */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  /** True when the labels were cut at the bound: selectors on this end are indeterminate. */
  readonly labelsPartial: boolean;
}

export interface ObservedEdge {
  readonly from: ObservedPeer;
  readonly to: ObservedPeer;
  readonly port: number;
  readonly protocol: string;
  readonly count: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
}

export const DEFAULT_OBSERVED_EDGE_CAPACITY = 2000;
/** Labels kept per edge end (pod and namespace labels each); more makes the end partial. */
export const MAX_PEER_LABELS = 32;
/** Longest label key or value kept (Kubernetes allows 63 + a 253 prefix for keys). */
export const MAX_LABEL_CHARS = 317;

/**
 * Label characters kept per window (and per merged report) across all edges: far below the
 * collector's 16 MiB message limit whatever the labels. Edges admitted past it keep their
 * workload names and counts but no labels (their selectors are judged indeterminate).
 */
export const MAX_WINDOW_LABEL_CHARS = 1_000_000;

const EMPTY: Readonly<Record<string, string>> = Object.freeze({});

export function labelChars(p: ObservedPeer): number {
  let n = 0;
  for (const [k, v] of Object.entries(p.labels)) n += k.length + v.length;
  for (const [k, v] of Object.entries(p.namespaceLabels)) n += k.length + v.length;
  return n;
}

/** The end without its labels (over the label budget): judged indeterminate, never guessed. */
export function stripped(p: ObservedPeer): ObservedPeer {
  return p.kind === 'pod' && (Object.keys(p.labels).length > 0 || Object.keys(p.namespaceLabels).length > 0) ? { ...p, labels: EMPTY, namespaceLabels: EMPTY, labelsPartial: true } : p;
}

/** Keeps labels on the edges (in order) while the budget lasts; strips them on the rest. */
function withinLabelBudget(edges: readonly ObservedEdge[], budget: number): ObservedEdge[] {
  let used = 0;
  return edges.map((e) => {
    const n = labelChars(e.from) + labelChars(e.to);
    if (used + n <= budget) {
      used += n;
      return e;
    }
    return { ...e, from: stripped(e.from), to: stripped(e.to) };
  });
}

export function observedEdgeId(e: { readonly from: { readonly namespace: string; readonly workload: string }; readonly to: { readonly namespace: string; readonly workload: string }; readonly port: number; readonly protocol: string }): string {
  return `${e.from.namespace}\u0000${e.from.workload}\u0000${e.to.namespace}\u0000${e.to.workload}\u0000${e.port}\u0000${e.protocol}`;
}

/** The id `ObservedEdgeCollector` files a flow's connection under: workloads, port and protocol only. */
export function observedEdgeIdOf(flow: Flow): string {
  const fw = workloadOf(flow.source);
  const tw = workloadOf(flow.destination);
  return `${fw.namespace}\u0000${fw.workload}\u0000${tw.namespace}\u0000${tw.workload}\u0000${flow.l4?.destinationPort ?? 0}\u0000${flow.l4?.protocol ?? 'UNKNOWN'}`;
}

/** `ns/workload` as the map names it (`world`, `reserved:host` for ends without a namespace). */
export function peerName(p: { readonly namespace: string; readonly workload: string }): string {
  return p.namespace === '' ? p.workload : `${p.namespace}/${p.workload}`;
}

function boundedLabels(labels: Readonly<Record<string, string>>): { labels: Readonly<Record<string, string>>; partial: boolean } {
  const keys = Object.keys(labels);
  if (keys.length === 0) return { labels: EMPTY, partial: false };
  let partial = keys.length > MAX_PEER_LABELS;
  const out: Record<string, string> = {};
  let n = 0;
  for (const k of keys.sort()) {
    if (n >= MAX_PEER_LABELS) break;
    const v = labels[k]!;
    if (k.length > MAX_LABEL_CHARS || v.length > MAX_LABEL_CHARS) {
      partial = true;
      continue;
    }
    out[k] = v;
    n++;
  }
  return { labels: out, partial };
}

/** The edge end of a flow endpoint, labels bounded. */
export function observedPeerOf(e: Endpoint): ObservedPeer {
  const w = workloadOf(e);
  if (e.kind !== 'pod') return { namespace: w.namespace, workload: w.workload, kind: e.kind, labels: EMPTY, namespaceLabels: EMPTY, labelsPartial: false };
  const pod = boundedLabels(e.podLabels);
  const ns = boundedLabels(e.namespaceLabels);
  return { namespace: w.namespace, workload: w.workload, kind: 'pod', labels: pod.labels, namespaceLabels: ns.labels, labelsPartial: pod.partial || ns.partial };
}

/**
 * Whether this node is the one that counts the connection on the map: the source's node when
 * the source is local, else the destination's node for sources no agent owns (world, host).
 * A connection between two pods is then counted once across the cluster.
 */
export function countsOnThisNode(flow: Flow, sourceLocal: boolean, destinationLocal: boolean): boolean {
  if (sourceLocal) return true;
  return destinationLocal && flow.source.kind !== 'pod';
}

interface Slot {
  readonly from: ObservedPeer;
  readonly to: ObservedPeer;
  readonly port: number;
  readonly protocol: string;
  count: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

/** One window's observed edges; `flush` hands them over and starts empty. */
export class ObservedEdgeCollector {
  readonly capacity: number;
  private slots = new Map<string, Slot>();
  private overflowCount = 0;
  private labelCharsUsed = 0;

  constructor(capacity = DEFAULT_OBSERVED_EDGE_CAPACITY) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`observed-edge capacity must be a non-negative integer, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.slots.size;
  }

  get overflow(): number {
    return this.overflowCount;
  }

  /** Counts one connection start. The id is built from workloads only (cheap, no labels). */
  add(flow: Flow): void {
    this.addKeyed(observedEdgeIdOf(flow), flow);
  }

  /**
   * As `add`, with `id === observedEdgeIdOf(flow)` already known (the agent keeps it with the
   * connection's verdicts, so a repeated connection builds no string).
   */
  addKeyed(id: string, flow: Flow): void {
    const slot = this.slots.get(id);
    const t = flow.timeMs;
    if (slot !== undefined) {
      slot.count++;
      if (t < slot.firstSeenMs) slot.firstSeenMs = t;
      if (t > slot.lastSeenMs) slot.lastSeenMs = t;
      return;
    }
    if (this.slots.size >= this.capacity) {
      this.overflowCount++;
      return;
    }
    const port = flow.l4?.destinationPort ?? 0;
    const protocol = flow.l4?.protocol ?? 'UNKNOWN';
    let from = observedPeerOf(flow.source);
    let to = observedPeerOf(flow.destination);
    const chars = labelChars(from) + labelChars(to);
    if (this.labelCharsUsed + chars > MAX_WINDOW_LABEL_CHARS) {
      from = stripped(from);
      to = stripped(to);
    } else this.labelCharsUsed += chars;
    this.slots.set(id, { from, to, port, protocol, count: 1, firstSeenMs: t, lastSeenMs: t });
  }

  /** The window's edges, largest first, and the connections that did not fit. */
  flush(): { readonly edges: readonly ObservedEdge[]; readonly overflow: number } {
    const edges = [...this.slots.values()].sort((a, b) => b.count - a.count).map((s) => ({ ...s }));
    const overflow = this.overflowCount;
    this.slots = new Map();
    this.overflowCount = 0;
    this.labelCharsUsed = 0;
    return { edges, overflow };
  }
}

/**
 * Adds two windows' observed edges (the outbox merges windows under pressure): counts add,
 * times widen, and what no longer fits in `capacity` (the smallest edges) moves to overflow.
 */
export function mergeObservedEdges(
  a: readonly ObservedEdge[],
  aOverflow: number,
  b: readonly ObservedEdge[],
  bOverflow: number,
  capacity = DEFAULT_OBSERVED_EDGE_CAPACITY,
): { edges: ObservedEdge[]; overflow: number } {
  const byId = new Map<string, ObservedEdge>();
  for (const e of [...a, ...b]) {
    const id = observedEdgeId(e);
    const prev = byId.get(id);
    byId.set(
      id,
      prev === undefined
        ? e
        : { ...prev, count: prev.count + e.count, firstSeenMs: Math.min(prev.firstSeenMs, e.firstSeenMs), lastSeenMs: Math.max(prev.lastSeenMs, e.lastSeenMs) },
    );
  }
  const all = [...byId.values()].sort((x, y) => y.count - x.count);
  let overflow = aOverflow + bOverflow;
  for (const e of all.slice(capacity)) overflow += e.count;
  return { edges: withinLabelBudget(all.slice(0, capacity), MAX_WINDOW_LABEL_CHARS), overflow };
}
