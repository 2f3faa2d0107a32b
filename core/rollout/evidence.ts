/**
 * The evidence the gates read: totals for one contract revision × stage since the stage
 * was entered, plus node coverage. Built by the evidence store, read by assessStage.
 * Counts are evaluated connection-sides: an egress and an ingress evaluation of one
 * connection count twice (product.md "Interfaces").
 */

/** A denied edge between workloads, as the API and the reasons print it. */
export interface EdgeView {
  /** `namespace/workload` of the source. */
  readonly from: string;
  /** `namespace/workload` of the destination. */
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  /** The side whose rules denied it. */
  readonly side: 'egress' | 'ingress';
  readonly count: number;
}

export interface NodeCoverage {
  /** Nodes expected to report: configured, or seen within the expected-node TTL. Sorted. */
  readonly expected: readonly string[];
  /** Expected nodes whose last report is at most `maxReportAge` old and had Hubble connected. Sorted. */
  readonly reporting: readonly string[];
  /** Expected nodes not reporting, with the age of their last report (null: never reported). */
  readonly silent: readonly { readonly node: string; readonly lastReportAgeMs: number | null }[];
}

/**
 * The counts of a stage's evidence: what the gates compare, and what the history records of
 * it at each transition (EvidenceSnapshot). One definition, so the two cannot drift.
 */
export interface EvidenceCounts {
  /** Window reports that carried this contract revision and stage. */
  readonly windows: number;
  /** Evaluated connection-sides: allow + deny + indeterminate + alreadyDenied. */
  readonly flows: number;
  /** Allowed by baseline ∪ contract (newly allowed ones included). */
  readonly allow: number;
  /** Would-deny: denied by baseline ∪ contract and allowed by the baseline alone (newly denied). */
  readonly deny: number;
  readonly indeterminate: number;
  /** Real policy drops on enforced pods. */
  readonly actualDenies: number;
  /** Real policy drops in the last minute (what spec.rollback limits). */
  readonly actualDeniesLastMinute: number;
  /** Hubble (and agent-side) lost events over the stage, from the nodes' reports. */
  readonly lostEvents: number;
  /** Flow events seen from Hubble over the stage, from the nodes' reports. */
  readonly flowsSeen: number;
  /**
   * Kubernetes mode: connection-sides on pods the stage enrolls whose Hubble identity lacks
   * the enrollment label (after the agents' settle time), and sides whose identity carries it.
   */
  readonly enrollment?: { readonly missing: number; readonly seen: number };
}

export interface StageEvidence extends EvidenceCounts {
  /** Denied by the baseline alone already (never the contract's doing, never blocks its gate). */
  readonly alreadyDenied: number;
  /** Denied by the baseline alone, allowed with the contract (it broadens access). */
  readonly newlyAllowed: number;
  /** The baseline revision the latest evidence was judged against (null: no baseline in play). */
  readonly baselineRevision: string | null;
  /** Distinct baseline revisions the stage's evidence was judged against (a new one does not reset it). */
  readonly baselineRevisions: number;
  /** Would-deny edges, largest first (bounded). */
  readonly topWouldDenyEdges: readonly EdgeView[];
  /** Actually denied edges, largest first (bounded). */
  readonly topActualDenyEdges: readonly EdgeView[];
  /** Newly allowed edges, largest first (bounded). */
  readonly topNewlyAllowedEdges: readonly EdgeView[];
  readonly nodes: NodeCoverage;
}

export const EMPTY_COVERAGE: NodeCoverage = { expected: [], reporting: [], silent: [] };

export const EMPTY_EVIDENCE: StageEvidence = {
  windows: 0,
  flows: 0,
  allow: 0,
  deny: 0,
  indeterminate: 0,
  alreadyDenied: 0,
  newlyAllowed: 0,
  baselineRevision: null,
  baselineRevisions: 0,
  actualDenies: 0,
  actualDeniesLastMinute: 0,
  lostEvents: 0,
  flowsSeen: 0,
  topWouldDenyEdges: [],
  topActualDenyEdges: [],
  topNewlyAllowedEdges: [],
  nodes: EMPTY_COVERAGE,
};

/**
 * The judged counts every recorded or shown shape of a stage's evidence starts with (the
 * history's snapshot, the status, the API), in this order, so the shapes cannot drift apart.
 */
export function judgedCounts(e: StageEvidence): {
  windows: number;
  flows: number;
  allow: number;
  deny: number;
  indeterminate: number;
  alreadyDenied: number;
  newlyAllowed: number;
  baselineRevision: string | null;
} {
  return {
    windows: e.windows,
    flows: e.flows,
    allow: e.allow,
    deny: e.deny,
    indeterminate: e.indeterminate,
    alreadyDenied: e.alreadyDenied,
    newlyAllowed: e.newlyAllowed,
    baselineRevision: e.baselineRevision,
  };
}

/** `shop/frontend → payments/db:5432/TCP (312)` */
export function formatEdge(e: EdgeView): string {
  return `${e.from} → ${e.to}:${e.port}/${e.protocol} (${e.count})`;
}
