/**
 * History first (product.md "Enough evidence"): a new contract, or a new revision, is judged
 * at once against the traffic the map holds from before it started (`gates.historyWindow`,
 * default 7d, capped by what the map holds). Its newly denied edges are evidence from the
 * first second: kept apart from the live evidence of the stage (they are connections folded
 * to workloads over days, not connection-sides of this stage), and they fail the monitor
 * stage like live would-denies.
 *
 * The window ends where the revision started, so every replica (and every restart) judges the
 * same span: what comes after is live evidence, counted once.
 */
import { formatDurationMs } from '../common/index.js';
import type { Flow } from '../flow/index.js';
import type { EdgeJudgement, JudgeableEdge } from '../map/index.js';
import { peerName } from '../summary/index.js';
import type { SufficiencyGate } from './gate.js';

export interface HistoryEdge extends JudgeableEdge {
  /** Connections within the window. */
  readonly count: number;
  readonly lastSeenMs: number;
  /** The edge as a flow (what the map judge judged): the sample a fix is computed from. */
  readonly flow?: Flow;
}

export interface HistoryEdgeView {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly count: number;
  readonly lastSeenMs: number;
  readonly reason: string;
  /** The edge's sample flow, for the fix of a contract blocked by history (never serialised). */
  readonly flow?: Flow;
}

export interface HistoryEvidence {
  readonly fromMs: number;
  /** Where the revision started: the window's end. */
  readonly toMs: number;
  /** Edges judged (seen in the window). */
  readonly edges: number;
  /** Connections on them. */
  readonly connections: number;
  /** Connections on edges the contract would newly deny. */
  readonly wouldDeny: number;
  readonly wouldDenyEdges: number;
  /** Edges whose verdict cannot be settled from the map (unknown labels, ipBlock on an external end). */
  readonly indeterminateEdges: number;
  /** Would-deny edges, largest first (bounded). */
  readonly top: readonly HistoryEdgeView[];
}

export const HISTORY_TOP_EDGES = 10;

/** Judges the window's edges; `judge` is the contract's map judge (baseline against baseline ∪ contract). */
export function judgeHistory<E extends HistoryEdge>(edges: Iterable<E>, judge: (e: E) => EdgeJudgement, fromMs: number, toMs: number): HistoryEvidence {
  let n = 0;
  let connections = 0;
  let wouldDeny = 0;
  let indeterminate = 0;
  const denied: HistoryEdgeView[] = [];
  for (const e of edges) {
    n++;
    connections += e.count;
    const j = judge(e);
    if (j.verdict === 'indeterminate') indeterminate++;
    if (j.verdict !== 'would-deny') continue;
    wouldDeny += e.count;
    denied.push({ from: peerName(e.from), to: peerName(e.to), port: e.port, protocol: e.protocol, count: e.count, lastSeenMs: e.lastSeenMs, reason: j.reason, ...(e.flow !== undefined ? { flow: e.flow } : {}) });
  }
  denied.sort((a, b) => b.count - a.count || b.lastSeenMs - a.lastSeenMs);
  return { fromMs, toMs, edges: n, connections, wouldDeny, wouldDenyEdges: denied.length, indeterminateEdges: indeterminate, top: denied.slice(0, HISTORY_TOP_EDGES) };
}

const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** `payments/invoice-job → payments/ledger:5432/TCP (36, last seen 2026-12-01T02:00:00Z)` */
export function formatHistoryEdge(e: HistoryEdgeView): string {
  return `${e.from} → ${e.to}:${e.port}/${e.protocol} (${e.count}, last seen ${iso(e.lastSeenMs)})`;
}

/**
 * The history gate (monitor stage): would-deny connections from history over
 * `gates.maxWouldDeny` fail it, as live ones do. No history (window off, nothing held) passes:
 * it is the live gates' evidence that must then suffice.
 */
export function assessHistory(h: HistoryEvidence | null, maxWouldDeny: number | null): SufficiencyGate {
  if (h === null) return { gate: 'history', phase: 'passed', message: 'history: off (historyWindow 0s)' };
  const span = formatDurationMs(Math.max(0, Math.floor((h.toMs - h.fromMs) / 1000) * 1000));
  if (maxWouldDeny !== null && h.wouldDeny > maxWouldDeny) {
    const top = h.top[0];
    return {
      gate: 'history',
      phase: 'failed',
      message: `history: would-deny ${h.wouldDeny} > ${maxWouldDeny} on ${h.wouldDenyEdges} edge(s) seen in the ${span} before this revision${top ? `; top edge ${formatHistoryEdge(top)}` : ''}`,
    };
  }
  return { gate: 'history', phase: 'passed', message: `history: would-deny ${h.wouldDeny} on ${h.edges} edge(s) (${h.connections} connections) seen in the ${span} before this revision` };
}
