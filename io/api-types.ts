/**
 * The JSON shapes of the control plane's HTTP API and live stream (docs/api.md), shared by
 * the server that writes them (controlplane/http, controlplane/live), the CLI that reads
 * them (cli/commands/status, history, watch) and the stream hub. The fields product.md names
 * are the stable core; the rest are additions. A reader still treats what arrives as
 * untrusted: a server of another version may send less.
 */
import type { ContractPhase, DecisionKind } from '../core/contract/index.js';
import type { PolicyIdentity } from '../core/policy/index.js';
import type { EvidenceCounts, EvidenceSnapshot } from '../core/rollout/index.js';

export type EdgeKind = 'would-deny' | 'actual-deny' | 'newly-allowed';

export interface EdgeJson {
  from: string;
  to: string;
  port: number;
  protocol: string;
  count: number;
  side: 'egress' | 'ingress';
  kind: EdgeKind;
}

export interface StagePointJson {
  index: number;
  name: string;
  phase: ContractPhase;
}

/** One history entry (GET …/history, the `transition` stream message, the status). */
export interface HistoryItemJson {
  id: number;
  /** RFC 3339. */
  at: string;
  revision: number;
  kind: string;
  /** Stage names. */
  from: string | null;
  to: string;
  fromStage: StagePointJson | null;
  toStage: StagePointJson;
  phase: ContractPhase;
  decision: DecisionKind;
  reasons: readonly string[];
  actor: string;
  evidence: EvidenceSnapshot | null;
}

/** A contract's evidence: its EvidenceCounts (core/rollout), with the brownfield counts, nodes and top edges. */
export interface ContractEvidenceJson extends Omit<EvidenceCounts, 'enrollment'> {
  alreadyDenied: number;
  newlyAllowed: number;
  baselineRevision: string | null;
  baselineRevisions: number;
  wouldDenyRatio: number | null;
  nodes: { expected: number; reporting: number; silent: readonly { readonly node: string; readonly lastReportAgeMs: number | null }[] };
  topEdges: EdgeJson[];
  topNewlyAllowedEdges: EdgeJson[];
}

/** A contract as GET /api/v1/contracts/{name} shows it (and each item of GET /api/v1/contracts). */
export interface HistoryEvidenceJson {
  from: string;
  to: string;
  edges: number;
  connections: number;
  wouldDeny: number;
  wouldDenyEdges: number;
  indeterminateEdges: number;
  topEdges: { from: string; to: string; port: number; protocol: string; count: number; lastSeen: string; reason: string; kind: 'would-deny' }[];
}

export interface ContractJson {
  name: string;
  origin: string;
  revision: number;
  stage: { index: number; name: string; count: number };
  stages: { index: number; name: string; kind: string; minDurationMs: number; percent?: number; namespaces?: readonly string[] }[];
  phase: ContractPhase | null;
  advance: string | null;
  /** Policies in force the contract rewrites or deletes (`namespace/name`, `Kind namespace/name` for other kinds). */
  replaces: readonly string[];
  removes: readonly string[];
  stageEnteredAt: string | null;
  decision: { kind: DecisionKind; reasons: readonly string[]; at: string };
  gates: { gate: string; phase: string; message: string }[];
  /** The numbers the gates and the rollback check compare against (null while the contract is invalid). */
  thresholds: Record<string, number | null> | null;
  evidence: ContractEvidenceJson;
  /** History first: the revision judged on the traffic map before it started (null: historyWindow 0). */
  historyEvidence: HistoryEvidenceJson | null;
  /** The CronJobs the monitor stage waits for, one message each. */
  waitingFor: string[];
  /** Selected workloads with no traffic in the evidence (with gates.minWorkloadCoverage). */
  silentWorkloads: string[];
  problems: { path: string; message: string }[];
  /** Non-blocking: where Cilium enforces a policy of the contract other than its text. */
  warnings: { path: string; message: string }[];
  applied: {
    revision: number;
    stageIndex: number;
    stageName: string;
    mode: string;
    percent: number;
    namespaces: readonly string[];
    policies: readonly unknown[];
    /** Policies in force that stop governing the pods the stage enforces. */
    replaces: readonly PolicyIdentity[];
    removes: readonly PolicyIdentity[];
  } | null;
  history: HistoryItemJson[];
}

/** A contract's live rates (the `rates` stream message). */
export interface ContractRatesJson {
  name: string;
  revision: number;
  stage: { index: number; name: string };
  phase: ContractPhase | null;
  decision: DecisionKind;
  flowsPerSecond: number;
  allowPerSecond: number;
  denyPerSecond: number;
  indeterminatePerSecond: number;
  actualDeniesPerSecond: number;
  alreadyDeniedPerSecond: number;
  newlyAllowedPerSecond: number;
  wouldDenyRatio: number | null;
}

/** The live stream's messages (WebSocket /api/v1/stream), one JSON object each. */
export type StreamMessage =
  /** First message to each client: every contract. */
  | { type: 'snapshot'; at: string; contracts: ContractJson[] }
  /** Every few seconds while a client is connected. */
  | { type: 'rates'; at: string; contracts: ContractRatesJson[] }
  | ({ type: 'transition'; contract: string } & HistoryItemJson)
  /** An edge seen for the first time in the current stage. */
  | { type: 'edge'; at: string; contract: string; revision: number; stageIndex: number; edge: EdgeJson };

export type SnapshotMessage = Extract<StreamMessage, { type: 'snapshot' }>;

/**
 * A shape as a reader receives it: the field names of T, each value still unknown (a server
 * of another version may send less), so the CLI reads every value with a fallback while the
 * compiler checks the names against what the server writes.
 */
export type Received<T> = { readonly [K in keyof T]?: unknown };
