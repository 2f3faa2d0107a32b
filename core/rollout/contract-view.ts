/**
 * What the control plane shows about one contract (API, status, authoring handlers): the
 * reconciler builds these views; readers depend on this shape, not on the reconciler.
 */
import type { Problem } from '../common/index.js';
import type { Contract, DecisionKind } from '../contract/index.js';
import type { AppliedStage } from './applied-stage.js';
import type { StageAssessment } from './assess-stage.js';
import type { StageEvidence } from './evidence.js';
import type { RampState } from './ramp.js';
import type { SufficiencyView } from '../sufficiency/index.js';

export interface ContractDecision {
  readonly kind: DecisionKind;
  readonly reasons: readonly string[];
  readonly atMs: number;
}

/** Everything the API shows about one contract. */
export interface ContractView {
  readonly name: string;
  readonly origin: string;
  /** The contract being ramped: the current document, or the last valid one while the current is invalid. */
  readonly contract: Contract | null;
  readonly problems: readonly Problem[];
  readonly state: RampState | null;
  readonly assessment: StageAssessment | null;
  readonly evidence: StageEvidence;
  readonly decision: ContractDecision;
  readonly applied: AppliedStage | null;
  /** History evidence, silent workloads, CronJobs waited for (absent: not judged, e.g. no map). */
  readonly sufficiency?: SufficiencyView;
}

/** The current views, by name (the reconciler holds them). */
export interface ContractViews {
  list(): ContractView[];
  get(name: string): ContractView | null;
}
