/**
 * Which nodes the control plane hears from: agents' streams, their last report and whether
 * their Hubble is connected; from that, the nodes expected to report and those that do
 * (the coverage gate's input), and the API's agents list.
 */
import type { NodeCoverage } from '../../core/rollout/index.js';

export interface CoverageOptions {
  readonly nowMs: number;
  readonly maxReportAgeMs: number;
  /** Configured expected nodes (empty: use the nodes seen recently). */
  readonly configuredNodes: readonly string[];
  /** A node seen (hello or report) within this long is expected. */
  readonly expectedNodeTtlMs: number;
}

interface Liveness {
  lastSeenMs: number;
  lastReportMs: number | null;
  hubbleConnected: boolean;
  streams: number;
}

export interface AgentView {
  readonly node: string;
  readonly connected: boolean;
  readonly streams: number;
  readonly lastSeenMs: number;
  readonly lastReportMs: number | null;
  readonly lastReportAgeMs: number | null;
  readonly hubbleConnected: boolean;
}

const NO_SILENT: NodeCoverage['silent'] = Object.freeze([]);

export class NodeLiveness {
  private readonly liveness = new Map<string, Liveness>();
  /** Bumped by every change to `liveness`, so a coverage answer can be reused until one. */
  private version = 0;
  /**
   * The last coverage answer. A reconcile pass asks once per contract with the same clock and
   * (usually) the same report age; at 5,000 nodes × 50 contracts recomputing it each time was
   * most of the pass (profiled: 7.7 s of 9.5 s).
   */
  private coverageMemo: { readonly version: number; readonly o: CoverageOptions; readonly value: NodeCoverage } | null = null;
  /** The last expected list handed out (sorted, never changed after) and its members: see sortedExpected(). */
  private lastExpected: { readonly list: readonly string[]; readonly members: ReadonlySet<string> } | null = null;

  /** A node known from before a restart: expected until the TTL passes, silent until it reports. */
  seed(node: string, lastSeenMs: number): void {
    if (!this.liveness.has(node)) {
      this.liveness.set(node, { lastSeenMs, lastReportMs: null, hubbleConnected: false, streams: 0 });
      this.version++;
    }
  }

  /** node → last seen, for nodes seen within the TTL (what survives a restart). */
  recent(nowMs: number, ttlMs: number): Map<string, number> {
    const out = new Map<string, number>();
    for (const [node, l] of this.liveness) if (l.streams > 0 || nowMs - l.lastSeenMs <= ttlMs) out.set(node, l.streams > 0 ? nowMs : l.lastSeenMs);
    return out;
  }

  connected(node: string, nowMs: number): void {
    const l = this.live(node, nowMs);
    l.streams++;
  }

  disconnected(node: string, nowMs: number): void {
    const l = this.live(node, nowMs);
    l.streams = Math.max(0, l.streams - 1);
  }

  /** A report arrived from the node at `nowMs`. */
  reported(node: string, hubbleConnected: boolean, nowMs: number): void {
    const l = this.live(node, nowMs);
    l.lastReportMs = nowMs;
    l.hubbleConnected = hubbleConnected;
  }

  /** The node's liveness record, for the caller to update (which is why it counts as a change). */
  private live(node: string, nowMs: number): Liveness {
    this.version++;
    let l = this.liveness.get(node);
    if (!l) {
      l = { lastSeenMs: nowMs, lastReportMs: null, hubbleConnected: false, streams: 0 };
      this.liveness.set(node, l);
    }
    l.lastSeenMs = Math.max(l.lastSeenMs, nowMs);
    return l;
  }

  coverage(o: CoverageOptions): NodeCoverage {
    const memo = this.coverageMemo;
    if (
      memo !== null &&
      memo.version === this.version &&
      memo.o.nowMs === o.nowMs &&
      memo.o.maxReportAgeMs === o.maxReportAgeMs &&
      memo.o.expectedNodeTtlMs === o.expectedNodeTtlMs &&
      (memo.o.configuredNodes === o.configuredNodes || memo.o.configuredNodes.join(',') === o.configuredNodes.join(','))
    ) {
      return memo.value;
    }
    const value = this.computeCoverage(o);
    this.coverageMemo = { version: this.version, o, value };
    return value;
  }

  private computeCoverage(o: CoverageOptions): NodeCoverage {
    const expected = this.sortedExpected(o);
    const isReporting = (node: string): boolean => {
      const l = this.liveness.get(node);
      return l !== undefined && l.lastReportMs !== null && o.nowMs - l.lastReportMs <= o.maxReportAgeMs && l.hubbleConnected;
    };
    // The usual answer, every expected node reporting, is the expected list itself: no new
    // list of 10,000 names per pass (they outlived young collections and were most of what
    // a pass promoted to the old generation).
    if (expected.every(isReporting)) return { expected, reporting: expected, silent: NO_SILENT };
    const reporting: string[] = [];
    const silent: { node: string; lastReportAgeMs: number | null }[] = [];
    for (const node of expected) {
      if (isReporting(node)) {
        reporting.push(node);
        continue;
      }
      const l = this.liveness.get(node);
      silent.push({ node, lastReportAgeMs: l?.lastReportMs == null ? null : o.nowMs - l.lastReportMs });
    }
    return { expected, reporting, silent };
  }

  /**
   * The expected nodes, sorted. Every report changes the liveness (so the memo above is
   * recomputed each pass) but seldom which nodes are expected: the last sorted list is
   * reused while the members are the same, checked against the set kept beside it, so a
   * pass at 10,000 nodes walks the map and allocates nothing. (Sorting 10,000 names twice
   * and building a set of them each pass made lists that outlived young collections, and a
   * set that large is allocated straight in the old generation.)
   */
  private sortedExpected(o: CoverageOptions): readonly string[] {
    const last = this.lastExpected;
    if (last !== null && this.sameMembers(o, last.members, last.list.length)) return last.list;
    const members = new Set(o.configuredNodes);
    if (o.configuredNodes.length === 0) {
      for (const [node, l] of this.liveness) if (this.isExpected(l, o)) members.add(node);
    }
    const list = [...members].sort();
    this.lastExpected = { list, members };
    return list;
  }

  private isExpected(l: Liveness, o: CoverageOptions): boolean {
    return l.streams > 0 || o.nowMs - l.lastSeenMs <= o.expectedNodeTtlMs;
  }

  /** Whether the nodes expected now are exactly `members` (of which there are `size`). */
  private sameMembers(o: CoverageOptions, members: ReadonlySet<string>, size: number): boolean {
    if (o.configuredNodes.length > 0) {
      const configured = new Set(o.configuredNodes);
      if (configured.size !== size) return false;
      for (const node of configured) if (!members.has(node)) return false;
      return true;
    }
    let n = 0;
    for (const [node, l] of this.liveness) {
      if (!this.isExpected(l, o)) continue;
      if (!members.has(node)) return false;
      n++;
    }
    return n === size;
  }

  /** Every node heard from, for the API's agents list. */
  agents(nowMs: number): AgentView[] {
    return [...this.liveness.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([node, l]) => ({
        node,
        connected: l.streams > 0,
        streams: l.streams,
        lastSeenMs: l.lastSeenMs,
        lastReportMs: l.lastReportMs,
        lastReportAgeMs: l.lastReportMs === null ? null : nowMs - l.lastReportMs,
        hubbleConnected: l.hubbleConnected,
      }));
  }

  connectedCount(): number {
    let n = 0;
    for (const l of this.liveness.values()) if (l.streams > 0) n++;
    return n;
  }
}
