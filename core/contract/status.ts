/**
 * The `status` of a RampContract custom resource, as the control plane writes it through
 * the status subresource. It mirrors the CRD schema (deploy/crds/rampcontracts.yaml), which
 * prunes unknown fields and rejects values outside these enums; timestamps are RFC 3339.
 */

/**
 * The rollout's vocabulary, spelled once (core/rollout uses these names). Phases:
 * Observing (gathering evidence), Blocked (a gate failed), AwaitingApproval (gates passed,
 * advance is manual), RolledBack (real denies or an operator moved it back; held until
 * resumed), Paused (held by an operator), Complete (the last stage passed).
 */
export const CONTRACT_PHASES = ['Observing', 'Blocked', 'AwaitingApproval', 'RolledBack', 'Paused', 'Complete'] as const;
export type ContractPhase = (typeof CONTRACT_PHASES)[number];

/** What the evidence says about a stage: the ramp state machine decides what to do with it. */
export type DecisionKind = 'advance' | 'hold' | 'rollback';

/** Bounds of the status lists (CRD maxItems): keep the newest entries when trimming. */
export const STATUS_LIMITS = Object.freeze({ history: 100, problems: 200, reasons: 50 });

/** Evidence totals in connection-sides (an egress and an ingress evaluation count twice). */
export interface EvidenceTotalsJson {
  flows: number;
  allow: number;
  deny: number;
  indeterminate: number;
  actualDenies: number;
  lostEvents: number;
  nodes: { expected: number; reporting: number };
}

export interface HistoryEntryJson {
  /** RFC 3339 time of the transition. */
  at: string;
  /** Stage names. */
  from?: string;
  to: string;
  phase?: ContractPhase;
  decision?: DecisionKind;
  reasons?: string[];
  /** `controlplane`, or the user who approved, paused, resumed or rolled back. */
  actor?: string;
  /** The revision (policies hash) the evidence belongs to. */
  revision?: string;
  /** The evidence the decision was taken on. */
  evidence?: EvidenceTotalsJson;
}

export interface ConditionJson {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  observedGeneration?: number;
  lastTransitionTime?: string;
}

export interface RampContractStatusJson {
  /** metadata.generation of the spec this status describes. */
  observedGeneration?: number;
  /** Content hash of spec.policies (Contract.policiesHash). */
  revision?: string;
  stage?: { index: number; name: string };
  /** RFC 3339 time the current stage was entered. */
  stageEnteredAt?: string;
  phase?: ContractPhase;
  decision?: { kind: DecisionKind; reasons: string[]; at?: string };
  evidence?: EvidenceTotalsJson;
  /** Why the spec cannot be used (parseContract's problems); empty or absent when valid. */
  problems?: { path: string; message: string }[];
  /** Oldest first, at most STATUS_LIMITS.history entries. */
  history?: HistoryEntryJson[];
  conditions?: ConditionJson[];
}
