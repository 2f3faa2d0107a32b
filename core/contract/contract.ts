/**
 * The RampContract model (rampart.dev/v1alpha1, cluster-scoped), after parsing, validation
 * and defaulting. See ../shared/docs/product.md "Contracts".
 */
import type { Problem } from '../common/index.js';
import type { Policy, PolicyIdentity } from '../policy/index.js';

export type RolloutStrategy = 'percent' | 'namespaces';

export type Stage =
  /** Nothing enforced: evidence only. Always the first stage. */
  | { readonly kind: 'monitor'; readonly name: string; readonly minDurationMs: number }
  /** Enforced on a deterministic, monotonic subset of the selected pods (see enrollment.ts). */
  | { readonly kind: 'percent'; readonly name: string; readonly percent: number; readonly minDurationMs: number }
  /** Enforced in these namespaces plus those of every earlier stage. */
  | { readonly kind: 'namespaces'; readonly name: string; readonly namespaces: readonly string[]; readonly minDurationMs: number };

export interface Gates {
  /** Evaluated connection-sides in the stage, at least. */
  readonly minFlows: number;
  /** Would-be-denied connection-sides in the stage, at most (null: no limit). */
  readonly maxWouldDeny: number | null;
  /** would-deny / evaluated, at most (null: no limit). */
  readonly maxWouldDenyRatio: number | null;
  /**
   * Connection-sides the baseline denies and the contract would allow, at most (null: no
   * limit). A contract that broadens access is reported; this caps it.
   */
  readonly maxNewlyAllowed: number | null;
  /** Share of expected nodes reporting, at least (0..1). */
  readonly minNodeCoverage: number;
  /** Hubble lost events / flows seen, at most. */
  readonly maxLostEventsRatio: number;
  /** A node silent for longer is not reporting. */
  readonly maxReportAgeMs: number;
  /** How far back the traffic map judges a new revision before it starts (0: no history). */
  readonly historyWindowMs: number;
  /** Share of the selected workloads seen with traffic in the evidence, at least (0..1; 0: not checked). */
  readonly minWorkloadCoverage: number;
  /** A stage still inconclusive this long after it was entered is Blocked (null: no limit). */
  readonly maxInconclusiveMs: number | null;
}

export interface Rollback {
  /** In an enforced stage, real policy drops per minute above this roll back (null: never). */
  readonly maxActualDeniesPerMinute: number | null;
  /** Where a rollback goes: `monitor` (stop enforcing at once) or `previous` (one stage back). */
  readonly to: RollbackTarget;
}

export const ROLLBACK_TARGETS = ['monitor', 'previous'] as const;
export type RollbackTarget = (typeof ROLLBACK_TARGETS)[number];

export type AdvanceMode = 'auto' | 'manual';

export interface ContractSpec {
  /** The manifests as written (what is applied to the cluster and pushed to agents). */
  readonly rawPolicies: readonly unknown[];
  /** The same, parsed and defaulted. */
  readonly policies: readonly Policy[];
  /** Policies in force whose new text is in `policies` (spec.replaces); empty when none. */
  readonly replaces: readonly PolicyIdentity[];
  /** Policies in force the contract deletes (spec.removes); empty when none. */
  readonly removes: readonly PolicyIdentity[];
  readonly strategy: RolloutStrategy;
  readonly stages: readonly Stage[];
  readonly gates: Gates;
  readonly rollback: Rollback;
  readonly advance: AdvanceMode;
}

export interface Contract {
  readonly name: string;
  readonly spec: ContractSpec;
  /** Content hash of spec.policies (with spec.replaces and spec.removes when set): a change to it is a new revision. */
  readonly policiesHash: string;
  /**
   * Non-fatal findings with field paths (e.g. a policy without a namespace taken to be in
   * `default`, a CIDR with host bits masked). Absent or empty when there were none.
   */
  readonly warnings?: readonly Problem[];
  /**
   * NetworkPolicies of the contract that Cilium enforces differently from their text (netpol.md
   * section 4): verdicts follow Cilium, and these say where (shown with the contract's problems,
   * never blocking).
   */
  readonly departures?: readonly Problem[];
}
