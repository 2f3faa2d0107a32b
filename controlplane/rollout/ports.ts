/**
 * What the reconciler is given and what it hands out: its options (the sources, stores and
 * effects it drives), the sufficiency service as it uses it, its event listeners, and the
 * outcome of an operator's action. Kept apart from the loop so callers and tests read the
 * reconciler's edges without its internals.
 */
import type { Clock, Logger } from '../../core/common/index.js';
import type { Contract } from '../../core/contract/index.js';
import type { SufficiencyGate, SufficiencyView } from '../../core/sufficiency/index.js';
import type { ContractSet } from '../../core/summary/index.js';
import type { Actuator } from '../actuation/actuator.js';
import type { BaselineSource } from '../baseline/baseline-source.js';
import type { ContractSource } from '../contracts/contract-source.js';
import type { EvidenceStore } from '../ingest/evidence-store.js';
import type { ControlplaneMetrics } from '../metrics/metrics.js';
import type { HistoryEntry, Journal } from '../state/journal.js';

export interface ReconcilerOptions {
  readonly source: ContractSource;
  /**
   * The policies already in force (product.md "the baseline"), pushed to agents with the
   * contract set; a change is a new generation (agents re-judge), never new evidence.
   * Absent: no baseline.
   */
  readonly baseline?: BaselineSource;
  readonly journal: Journal;
  readonly store: EvidenceStore;
  readonly actuator: Actuator;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: ControlplaneMetrics;
  readonly intervalMs: number;
  readonly configuredNodes: readonly string[];
  readonly expectedNodeTtlMs: number;
  /** First ContractSet generation (see main.ts: above any generation agents may hold). */
  readonly initialGeneration: number;
  /** Whether the evidence is enough (history, schedules, workload coverage); absent: not judged. */
  readonly sufficiency?: SufficiencyJudge;
}

/** controlplane/sufficiency's service, as the reconciler uses it. */
export interface SufficiencyJudge {
  assess(input: { contract: Contract; revision: number; stageIndex: number; stageEnteredAtMs: number; revisionStartedAtMs: number; nowMs: number }): SufficiencyView & { readonly gates: readonly SufficiencyGate[] };
  forget(contract: string): void;
}

export interface ReconcilerEvents {
  transition(entry: HistoryEntry): void;
  contractSet(set: ContractSet): void;
}

export type ActionResult =
  | { readonly ok: true; readonly entry: HistoryEntry }
  | { readonly ok: false; readonly status: 404 | 409; readonly message: string };
