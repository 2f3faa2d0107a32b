/**
 * The evidence store: what agents reported, per contract revision × stage × node, with
 * per-second arrival buckets for rates and the rollback window. Ingest only updates this
 * store; the reconcile loop reads it (level-triggered, style.md 2.5). Evidence lives in
 * memory: after a restart it is gathered again for the current stage, never invented.
 * Which nodes are connected and reporting is node-liveness.ts; the store holds one.
 */
import type { ContractWindow, Edge, SideCounts, WindowSummary } from '../../core/summary/index.js';
import type { EdgeView, NodeCoverage, StageEvidence } from '../../core/rollout/index.js';
import { NodeLiveness, type AgentView, type CoverageOptions } from './node-liveness.js';

export const BUCKET_MS = 1000;
/** Arrival buckets kept per stage: enough for the one-minute rollback window and the rates. */
export const BUCKET_RETENTION_MS = 120_000;
export const RATE_WINDOW_MS = 10_000;
export const ROLLBACK_WINDOW_MS = 60_000;
/** Distinct edges kept per stage; beyond it they are counted as overflow. */
export const MAX_EDGES_PER_STAGE = 2000;
/** Edges returned in evidence (the API's edges endpoint and the reasons). */
export const TOP_EDGES = 50;
/** Arrival times kept per contract for the decision-latency measurement. */
const MAX_PENDING_ARRIVALS = 10_000;
/**
 * Windows of a stage this replica has not opened yet are held this long (and at most this
 * many per contract, for at most this many contracts): a standby opens a stage when the
 * leader's status names it, a little after agents started reporting it.
 */
export const HELD_MS = 60_000;
export const HELD_WINDOWS = 2000;
const MAX_HELD_CONTRACTS = 1000;

/**
 * What counting one contract window needs from the report around it. A held window keeps
 * this, not the decoded report: a report carries every contract's window and up to 20,000
 * observed edges, and holding it for one contract's window kept all of that alive.
 */
interface ReportMeta {
  readonly windowEndMs: number;
  readonly mergedWindows: number;
  readonly flowsSeen: number;
  readonly lost: number;
}

interface HeldWindow {
  readonly meta: ReportMeta;
  readonly w: ContractWindow;
  readonly nowMs: number;
}

export interface Counts {
  windows: number;
  allow: number;
  deny: number;
  indeterminate: number;
  /** Brownfield: denied by the baseline alone already (not in `deny`), and newly allowed (in `allow`). */
  alreadyDenied: number;
  newlyAllowed: number;
  actualDenies: number;
  lostEvents: number;
  flowsSeen: number;
  /** Kubernetes mode: sides on enrolled pods whose identity lacks / carries the enrollment label. */
  enrollMissing: number;
  enrollSeen: number;
}

const zeroCounts = (): Counts => ({ windows: 0, allow: 0, deny: 0, indeterminate: 0, alreadyDenied: 0, newlyAllowed: 0, actualDenies: 0, lostEvents: 0, flowsSeen: 0, enrollMissing: 0, enrollSeen: 0 });
/** Baseline revisions remembered per stage (for the count of distinct ones); the latest is always kept. */
const MAX_BASELINE_REVISIONS = 64;

interface EdgeAggregate {
  view: { from: string; to: string; port: number; protocol: string; side: 'egress' | 'ingress' };
  count: number;
  firstSeenMs: number;
  lastSeenMs: number;
  sampleFlowJson: string;
}

interface StageRecord {
  readonly contract: string;
  readonly revision: number;
  readonly stageIndex: number;
  readonly sinceMs: number;
  /**
   * Everything the stage has gathered, kept as a running sum: summing per-node counts on
   * every pass cost 50 contracts × 5,000 nodes additions a pass, and held as many objects.
   */
  readonly totals: Counts;
  /** Arrival-time buckets (start ms → counts over all nodes), oldest first. */
  readonly buckets: Map<number, Counts>;
  readonly wouldDenyEdges: Map<string, EdgeAggregate>;
  readonly actualDenyEdges: Map<string, EdgeAggregate>;
  readonly newlyAllowedEdges: Map<string, EdgeAggregate>;
  edgeOverflow: number;
  /** The baseline revision of the latest window judged against one, and the distinct ones seen. */
  baselineRevision: string | null;
  readonly baselineRevisions: Set<string>;
}

/** Where a reported contract window belongs, as the registry and ramp state see it. */
export type WindowClass = 'current' | 'stale-revision' | 'other-stage' | 'unknown-contract';

export interface NewEdge {
  readonly contract: string;
  readonly revision: number;
  readonly stageIndex: number;
  readonly kind: 'would-deny' | 'actual-deny' | 'newly-allowed';
  readonly edge: EdgeView;
}

export interface IngestOutcome {
  readonly current: number;
  readonly staleRevision: number;
  readonly otherStage: number;
  readonly unknownContract: number;
  readonly newEdges: readonly NewEdge[];
  /** Contracts whose current-stage evidence changed. */
  readonly touched: readonly string[];
}

export interface Rates {
  readonly flowsPerSecond: number;
  readonly allowPerSecond: number;
  readonly denyPerSecond: number;
  readonly indeterminatePerSecond: number;
  readonly actualDeniesPerSecond: number;
  readonly alreadyDeniedPerSecond: number;
  readonly newlyAllowedPerSecond: number;
}

const stageKey = (contract: string, revision: number, stageIndex: number): string => `${contract}\u0000${revision}\u0000${stageIndex}`;
const workload = (ns: string, wl: string): string => (ns === '' ? wl : `${ns}/${wl}`);

function addSides(c: Counts, w: ContractWindow): void {
  const sides: SideCounts[] = [w.egress, w.ingress];
  for (const s of sides) {
    c.allow += s.allow;
    c.deny += s.deny;
    c.indeterminate += s.indeterminate;
  }
  c.actualDenies += w.actualDenies;
  c.enrollMissing += w.enrollment?.missing ?? 0;
  c.enrollSeen += w.enrollment?.seen ?? 0;
  const b = w.baseline;
  if (b !== undefined) {
    c.alreadyDenied += b.egress.alreadyDenied + b.ingress.alreadyDenied;
    c.newlyAllowed += b.egress.newlyAllowed + b.ingress.newlyAllowed;
  }
}

function reportMeta(summary: WindowSummary): ReportMeta {
  let lost = 0;
  for (const v of Object.values(summary.hubble.lost)) lost += v;
  return { windowEndMs: summary.windowEndMs, mergedWindows: summary.mergedWindows, flowsSeen: summary.hubble.flowsSeen, lost };
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The order of edges everywhere they are listed: largest count first, then source,
 * destination, port, protocol and side. A total order over the fields that identify an edge
 * (0 only for the same edge), so equal counts never leave a list to arrival order.
 */
export function compareEdgeViews(a: EdgeView, b: EdgeView): number {
  return (
    b.count - a.count ||
    compareText(a.from, b.from) ||
    compareText(a.to, b.to) ||
    a.port - b.port ||
    compareText(a.protocol, b.protocol) ||
    compareText(a.side, b.side)
  );
}

function topEdges(map: Map<string, EdgeAggregate>, n: number): EdgeView[] {
  return [...map.values()]
    .map((a) => ({ ...a.view, count: a.count }))
    .sort(compareEdgeViews)
    .slice(0, n);
}

export class EvidenceStore {
  private readonly stages = new Map<string, StageRecord>();
  /** The stage each contract is currently gathering evidence for. */
  private readonly currentStage = new Map<string, StageRecord>();
  /** Which nodes are connected and reporting (coverage): the other half of the evidence. */
  readonly nodes = new NodeLiveness();
  private readonly arrivals = new Map<string, number[]>();
  /** Windows of stages not opened here yet, by contract, oldest first (see hold()). */
  private readonly held = new Map<string, HeldWindow[]>();

  /**
   * Starts (or restarts) gathering evidence for a contract's revision and stage from `sinceMs`.
   * Everything gathered earlier for that contract is dropped: evidence never carries across
   * revisions, and re-entering a stage (after a rollback) starts afresh.
   */
  beginStage(contract: string, revision: number, stageIndex: number, sinceMs: number): void {
    const existing = this.currentStage.get(contract);
    if (existing && existing.revision === revision && existing.stageIndex === stageIndex && existing.sinceMs === sinceMs) return;
    if (existing) this.stages.delete(stageKey(existing.contract, existing.revision, existing.stageIndex));
    const record: StageRecord = {
      contract,
      revision,
      stageIndex,
      sinceMs,
      totals: zeroCounts(),
      buckets: new Map(),
      wouldDenyEdges: new Map(),
      actualDenyEdges: new Map(),
      newlyAllowedEdges: new Map(),
      edgeOverflow: 0,
      baselineRevision: null,
      baselineRevisions: new Set(),
    };
    this.stages.set(stageKey(contract, revision, stageIndex), record);
    this.currentStage.set(contract, record);
    this.replayHeld(record);
  }

  forgetContract(contract: string): void {
    const existing = this.currentStage.get(contract);
    if (existing) this.stages.delete(stageKey(existing.contract, existing.revision, existing.stageIndex));
    this.currentStage.delete(contract);
    this.arrivals.delete(contract);
    this.held.delete(contract);
  }

  /** Where a reported window belongs. */
  classify(w: ContractWindow): WindowClass {
    const cur = this.currentStage.get(w.contract);
    if (!cur) return 'unknown-contract';
    if (w.revision !== cur.revision) return 'stale-revision';
    return w.stageIndex === cur.stageIndex ? 'current' : 'other-stage';
  }

  /** Adds one validated, de-duplicated report. `nowMs` is its arrival time. */
  ingest(summary: WindowSummary, nowMs: number): IngestOutcome {
    this.nodes.reported(summary.node, summary.hubble.connected, nowMs);
    const meta = reportMeta(summary);
    let current = 0;
    let staleRevision = 0;
    let otherStage = 0;
    let unknownContract = 0;
    const newEdges: NewEdge[] = [];
    const touched: string[] = [];
    for (const w of summary.contracts) {
      const cls = this.classify(w);
      if (cls === 'stale-revision') staleRevision++;
      else if (cls === 'other-stage') otherStage++;
      else if (cls === 'unknown-contract') unknownContract++;
      if (cls !== 'current') {
        // A stage (or revision) this replica has not opened yet may be one it is about to
        // open: a standby learns of it from the leader's next status. Held back, bounded.
        const cur = this.currentStage.get(w.contract);
        if (cur === undefined || w.revision > cur.revision || (w.revision === cur.revision && w.stageIndex !== cur.stageIndex)) this.hold(meta, w, nowMs);
        continue;
      }
      // classify() returned 'current', so the record exists.
      const rec = this.currentStage.get(w.contract)!;
      if (meta.windowEndMs <= rec.sinceMs) {
        otherStage++;
        continue;
      }
      current++;
      touched.push(w.contract);
      this.count(rec, meta, w, nowMs, newEdges);
    }
    return { current, staleRevision, otherStage, unknownContract, newEdges, touched };
  }

  /** Keeps a window of a stage not opened here yet (at most HELD_WINDOWS per contract, for HELD_MS). */
  private hold(meta: ReportMeta, w: ContractWindow, nowMs: number): void {
    let list = this.held.get(w.contract);
    if (list === undefined) {
      if (this.held.size >= MAX_HELD_CONTRACTS) return;
      list = [];
      this.held.set(w.contract, list);
    }
    while (list.length > 0 && (list.length >= HELD_WINDOWS || nowMs - list[0]!.nowMs > HELD_MS)) list.shift();
    list.push({ meta, w, nowMs });
  }

  /** Counts the held windows of a stage just opened (once: they leave the holding list). */
  private replayHeld(rec: StageRecord): void {
    const list = this.held.get(rec.contract);
    if (list === undefined) return;
    const keep: HeldWindow[] = [];
    for (const h of list) {
      if (h.w.revision === rec.revision && h.w.stageIndex === rec.stageIndex) {
        if (h.meta.windowEndMs > rec.sinceMs) this.count(rec, h.meta, h.w, h.nowMs, []);
      } else if (h.w.revision >= rec.revision) {
        keep.push(h);
      }
    }
    if (keep.length === 0) this.held.delete(rec.contract);
    else this.held.set(rec.contract, keep);
  }

  /** Adds one contract window to a stage's record. */
  private count(rec: StageRecord, meta: ReportMeta, w: ContractWindow, nowMs: number, newEdges: NewEdge[]): void {
    const bucketStart = nowMs - (nowMs % BUCKET_MS);
    let bucket = rec.buckets.get(bucketStart);
    if (!bucket) {
      bucket = zeroCounts();
      rec.buckets.set(bucketStart, bucket);
      this.prune(rec, nowMs);
    }
    for (const c of [rec.totals, bucket]) {
      c.windows += meta.mergedWindows > 0 ? meta.mergedWindows : 1;
      addSides(c, w);
      c.lostEvents += meta.lost;
      c.flowsSeen += meta.flowsSeen;
    }
    for (const e of w.wouldDenyEdges) this.addEdge(rec, rec.wouldDenyEdges, e, 'would-deny', newEdges);
    for (const e of w.actualDenyEdges) this.addEdge(rec, rec.actualDenyEdges, e, 'actual-deny', newEdges);
    rec.edgeOverflow += w.wouldDenyEdgesOverflow + w.actualDenyEdgesOverflow;
    if (w.baseline !== undefined) {
      for (const e of w.baseline.newlyAllowedEdges) this.addEdge(rec, rec.newlyAllowedEdges, e, 'newly-allowed', newEdges);
      rec.edgeOverflow += w.baseline.newlyAllowedEdgesOverflow;
      // A new baseline does not reset the evidence: it is recorded beside it.
      if (w.baseline.revision !== '') {
        rec.baselineRevision = w.baseline.revision;
        if (rec.baselineRevisions.size < MAX_BASELINE_REVISIONS) rec.baselineRevisions.add(w.baseline.revision);
      }
    }
    let pending = this.arrivals.get(w.contract);
    if (!pending) {
      pending = [];
      this.arrivals.set(w.contract, pending);
    }
    if (pending.length < MAX_PENDING_ARRIVALS) pending.push(nowMs);
  }

  private addEdge(rec: StageRecord, map: Map<string, EdgeAggregate>, e: Edge, kind: NewEdge['kind'], out: NewEdge[]): void {
    const from = workload(e.fromNamespace, e.fromWorkload);
    const to = workload(e.toNamespace, e.toWorkload);
    const key = `${from}\u0000${to}\u0000${e.port}\u0000${e.protocol}\u0000${e.side}`;
    const agg = map.get(key);
    if (agg) {
      agg.count += e.count;
      agg.firstSeenMs = Math.min(agg.firstSeenMs, e.firstSeenMs);
      agg.lastSeenMs = Math.max(agg.lastSeenMs, e.lastSeenMs);
      return;
    }
    if (map.size >= MAX_EDGES_PER_STAGE) {
      rec.edgeOverflow += e.count;
      return;
    }
    const view = { from, to, port: e.port, protocol: e.protocol, side: e.side };
    map.set(key, { view, count: e.count, firstSeenMs: e.firstSeenMs, lastSeenMs: e.lastSeenMs, sampleFlowJson: e.sampleFlowJson });
    out.push({ contract: rec.contract, revision: rec.revision, stageIndex: rec.stageIndex, kind, edge: { ...view, count: e.count } });
  }

  private prune(rec: StageRecord, nowMs: number): void {
    // Map iteration is insertion order, and buckets are inserted in time order.
    for (const start of rec.buckets.keys()) {
      if (start >= nowMs - BUCKET_RETENTION_MS) break;
      rec.buckets.delete(start);
    }
  }

  /** The gates' view of a contract's current stage (empty evidence if it is not the current one). */
  evidence(contract: string, revision: number, stageIndex: number, o: CoverageOptions): StageEvidence {
    const nodes = this.nodes.coverage(o);
    const rec = this.stages.get(stageKey(contract, revision, stageIndex));
    const totals = zeroCounts();
    let lastMinuteDenies = 0;
    if (rec) {
      this.addCounts(totals, rec.totals);
      for (const [start, c] of rec.buckets) if (start >= o.nowMs - ROLLBACK_WINDOW_MS) lastMinuteDenies += c.actualDenies;
    }
    return {
      windows: totals.windows,
      flows: totals.allow + totals.deny + totals.indeterminate + totals.alreadyDenied,
      allow: totals.allow,
      deny: totals.deny,
      indeterminate: totals.indeterminate,
      alreadyDenied: totals.alreadyDenied,
      newlyAllowed: totals.newlyAllowed,
      baselineRevision: rec?.baselineRevision ?? null,
      baselineRevisions: rec?.baselineRevisions.size ?? 0,
      actualDenies: totals.actualDenies,
      actualDeniesLastMinute: lastMinuteDenies,
      lostEvents: totals.lostEvents,
      flowsSeen: totals.flowsSeen,
      enrollment: { missing: totals.enrollMissing, seen: totals.enrollSeen },
      topWouldDenyEdges: rec ? topEdges(rec.wouldDenyEdges, TOP_EDGES) : [],
      topActualDenyEdges: rec ? topEdges(rec.actualDenyEdges, TOP_EDGES) : [],
      topNewlyAllowedEdges: rec ? topEdges(rec.newlyAllowedEdges, TOP_EDGES) : [],
      nodes,
    };
  }

  private addCounts(into: Counts, c: Counts): void {
    into.windows += c.windows;
    into.allow += c.allow;
    into.deny += c.deny;
    into.indeterminate += c.indeterminate;
    into.alreadyDenied += c.alreadyDenied;
    into.newlyAllowed += c.newlyAllowed;
    into.actualDenies += c.actualDenies;
    into.lostEvents += c.lostEvents;
    into.flowsSeen += c.flowsSeen;
    into.enrollMissing += c.enrollMissing;
    into.enrollSeen += c.enrollSeen;
  }

  /** All would-deny and actual-deny edges of the current stage, largest first. */
  edges(contract: string, limit = MAX_EDGES_PER_STAGE): { kind: 'would-deny' | 'actual-deny'; edge: EdgeView }[] {
    const rec = this.currentStage.get(contract);
    if (!rec) return [];
    const all = [
      ...topEdges(rec.wouldDenyEdges, limit).map((edge) => ({ kind: 'would-deny' as const, edge })),
      ...topEdges(rec.actualDenyEdges, limit).map((edge) => ({ kind: 'actual-deny' as const, edge })),
    ];
    // Would-deny before actual-deny for the same edge and count: still a total order.
    return all.sort((a, b) => compareEdgeViews(a.edge, b.edge) || compareText(b.kind, a.kind)).slice(0, limit);
  }

  /**
   * The would-deny edges of a contract's current stage with the sample flow each carries
   * (a `hubble observe -o json` line), largest first: what the smallest fix is computed from.
   */
  wouldDenySamples(contract: string, limit = TOP_EDGES): { edge: EdgeView; sampleFlowJson: string }[] {
    return this.samplesOf(contract, 'would-deny', limit);
  }

  /** Would-deny or newly-allowed edges of the current stage with their sample flows, largest first. */
  samplesOf(contract: string, kind: 'would-deny' | 'actual-deny' | 'newly-allowed', limit = TOP_EDGES): { edge: EdgeView; sampleFlowJson: string }[] {
    const rec = this.currentStage.get(contract);
    if (!rec) return [];
    const map = kind === 'would-deny' ? rec.wouldDenyEdges : kind === 'actual-deny' ? rec.actualDenyEdges : rec.newlyAllowedEdges;
    return [...map.values()]
      .sort((a, b) => b.count - a.count || (a.view.from + a.view.to < b.view.from + b.view.to ? -1 : 1))
      .slice(0, limit)
      .map((a) => ({ edge: { ...a.view, count: a.count }, sampleFlowJson: a.sampleFlowJson }));
  }

  /** Per-second rates over the last RATE_WINDOW_MS of arrivals, for the live stream. */
  rates(contract: string, nowMs: number): Rates {
    const rec = this.currentStage.get(contract);
    const sum = zeroCounts();
    if (rec) for (const [start, c] of rec.buckets) if (start >= nowMs - RATE_WINDOW_MS) this.addCounts(sum, c);
    const s = RATE_WINDOW_MS / 1000;
    return {
      flowsPerSecond: (sum.allow + sum.deny + sum.indeterminate + sum.alreadyDenied) / s,
      allowPerSecond: sum.allow / s,
      denyPerSecond: sum.deny / s,
      indeterminatePerSecond: sum.indeterminate / s,
      actualDeniesPerSecond: sum.actualDenies / s,
      alreadyDeniedPerSecond: sum.alreadyDenied / s,
      newlyAllowedPerSecond: sum.newlyAllowed / s,
    };
  }

  /** Arrival times of the windows ingested for a contract since the last call (for decision latency). */
  takeArrivals(contract: string): number[] {
    const a = this.arrivals.get(contract);
    if (!a || a.length === 0) return [];
    this.arrivals.set(contract, []);
    return a;
  }

  // Node liveness, kept here too so callers that hold the store need no second handle.
  seedNode(node: string, lastSeenMs: number): void {
    this.nodes.seed(node, lastSeenMs);
  }

  recentNodes(nowMs: number, ttlMs: number): Map<string, number> {
    return this.nodes.recent(nowMs, ttlMs);
  }

  nodeConnected(node: string, nowMs: number): void {
    this.nodes.connected(node, nowMs);
  }

  nodeDisconnected(node: string, nowMs: number): void {
    this.nodes.disconnected(node, nowMs);
  }

  coverage(o: CoverageOptions): NodeCoverage {
    return this.nodes.coverage(o);
  }

  agents(nowMs: number): AgentView[] {
    return this.nodes.agents(nowMs);
  }

  connectedNodes(): number {
    return this.nodes.connectedCount();
  }
}
