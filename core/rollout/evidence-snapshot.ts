/**
 * What the history records of a stage's evidence at each transition: its EvidenceCounts,
 * with the brownfield counts, nodes as numbers, edges as text and the gates (bounded).
 */
import type { StageAssessment } from './assess-stage.js';
import { formatEdge, judgedCounts, type EvidenceCounts, type StageEvidence } from './evidence.js';

/**
 * What the gates saw when a transition happened: the stage's evidence counts (the same
 * EvidenceCounts as StageEvidence), with nodes as numbers and edges as text (bounded).
 */
export interface EvidenceSnapshot extends EvidenceCounts {
  /** Brownfield counts and the baseline revision judged against (absent in entries written before them). */
  readonly alreadyDenied?: number;
  readonly newlyAllowed?: number;
  readonly baselineRevision?: string | null;
  readonly nodes: { readonly expected: number; readonly reporting: number };
  readonly topEdges: readonly string[];
  readonly gates: readonly { readonly gate: string; readonly phase: string; readonly message: string }[];
}

/**
 * A stage's evidence as numbers, in the order every recorded or shown shape lists them (the
 * history's snapshot, the object's status): the judged counts, denies, lost events, flows
 * seen and node coverage.
 */
export function evidenceNumbers(e: StageEvidence): ReturnType<typeof judgedCounts> & {
  actualDenies: number;
  actualDeniesLastMinute: number;
  lostEvents: number;
  flowsSeen: number;
  nodes: { expected: number; reporting: number };
} {
  return {
    ...judgedCounts(e),
    actualDenies: e.actualDenies,
    actualDeniesLastMinute: e.actualDeniesLastMinute,
    lostEvents: e.lostEvents,
    flowsSeen: e.flowsSeen,
    nodes: { expected: e.nodes.expected.length, reporting: e.nodes.reporting.length },
  };
}

export function snapshotOf(e: StageEvidence, a: StageAssessment | null): EvidenceSnapshot {
  return {
    ...evidenceNumbers(e),
    topEdges: [...e.topWouldDenyEdges.slice(0, 5), ...e.topActualDenyEdges.slice(0, 5)].map(formatEdge),
    gates: (a?.gates ?? []).map((g) => ({ gate: g.gate, phase: g.phase, message: g.message })),
  };
}
