/**
 * The sufficiency of a contract's evidence as the API, status and dashboard show it, apart
 * from the live evidence of the stage.
 */
import type { HistoryEvidence } from './history.js';

/** What the API, status and dashboard show about the evidence's sufficiency, apart from the live evidence. */
export interface SufficiencyView {
  /** The revision's history evidence (null: historyWindow 0). */
  readonly history: HistoryEvidence | null;
  /** Selected workloads with no traffic in the evidence (when minWorkloadCoverage is set). */
  readonly silentWorkloads: readonly string[];
  /** The CronJobs the monitor stage waits for, one message each. */
  readonly waitingFor: readonly string[];
}
