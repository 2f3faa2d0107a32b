/**
 * What an agent reports per window: the domain twin of proto/rampart/v1 `WindowReport`.
 * All counts are additive, so windows (and merged windows) sum without loss.
 */

import type { ObservedEdge } from './observed-edges.js';
import type { EnforcementRule } from '../contract/index.js';
import type { PolicyIdentity } from '../policy/index.js';

export interface SideCounts {
  readonly allow: number;
  readonly deny: number;
  readonly indeterminate: number;
}

export type Side = 'egress' | 'ingress';

/** An edge's identity: workloads, port and protocol, and the side whose rules denied it. */
export interface EdgeKey {
  readonly fromNamespace: string;
  readonly fromWorkload: string;
  readonly toNamespace: string;
  readonly toWorkload: string;
  readonly port: number;
  readonly protocol: string;
  readonly side: Side;
}

export interface Edge extends EdgeKey {
  readonly count: number;
  readonly firstSeenMs: number;
  readonly lastSeenMs: number;
  /** One example, as a `hubble observe -o json` line ('' when none was kept). */
  readonly sampleFlowJson: string;
}

export interface ContractWindow {
  readonly contract: string;
  readonly revision: number;
  readonly stageIndex: number;
  readonly stageName: string;
  readonly egress: SideCounts;
  readonly ingress: SideCounts;
  readonly actualDenies: number;
  readonly wouldDenyEdges: readonly Edge[];
  readonly wouldDenyEdgesOverflow: number;
  readonly actualDenyEdges: readonly Edge[];
  readonly actualDenyEdgesOverflow: number;
  /**
   * Brownfield counts (product.md "What is already enforced"), when the contract was judged
   * against a baseline. `egress`/`ingress` above then count `deny` = newly denied, `allow`
   * includes newly allowed, and already-denied sides are counted here, apart (never in `deny`).
   * Absent: no baseline was in play (every count below is zero).
   */
  readonly baseline?: BaselineCounts;
  /**
   * Kubernetes mode (percent stages enforced by the enrollment label): sides on local pods the
   * stage enrolls whose Hubble identity lacks the label (after a settle time), and sides whose
   * identity carries it. Absent: zero (no label in play).
   */
  readonly enrollment?: EnrollmentCounts;
}

export interface EnrollmentCounts {
  readonly missing: number;
  readonly seen: number;
}

export interface SideChangeCounts {
  /** Denied by the baseline alone, and by baseline ∪ contract too. */
  readonly alreadyDenied: number;
  /** Denied by the baseline alone, allowed by baseline ∪ contract (the contract broadens access). */
  readonly newlyAllowed: number;
}

export interface BaselineCounts {
  /** The baseline revision the window was judged against (the latest, if it changed mid-window). */
  readonly revision: string;
  readonly egress: SideChangeCounts;
  readonly ingress: SideChangeCounts;
  /** Top-K newly-allowed edges, largest first, and how many fell outside them. */
  readonly newlyAllowedEdges: readonly Edge[];
  readonly newlyAllowedEdgesOverflow: number;
}

export interface HubbleStats {
  readonly flowsSeen: number;
  readonly connections: number;
  /** Lost events by source (PERF_EVENT_RING_BUFFER, HUBBLE_RING_BUFFER, RAMPART_MALFORMED, …). */
  readonly lost: Readonly<Record<string, number>>;
  readonly reconnects: number;
  readonly connected: boolean;
}

export interface WindowSummary {
  readonly node: string;
  readonly bootId: string;
  readonly seq: number;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly mergedWindows: number;
  readonly hubble: HubbleStats;
  readonly contracts: readonly ContractWindow[];
  readonly contractsGeneration: number;
  /**
   * Every connection start counted on this node, by workload (observed-edges.ts), for the
   * traffic map. Absent from older agents: read as none.
   */
  readonly observedEdges?: readonly ObservedEdge[];
  /** Connections on edges that did not fit (the "other" bucket). */
  readonly observedEdgesOverflow?: number;
}

/** What each stage of a contract enforces (mirrors proto `Enforcement`): the contract's own rule. */
export type Enforcement = EnforcementRule;

/** One contract as pushed to agents (mirrors proto `ActiveContract`). */
export interface ActiveContract {
  readonly name: string;
  readonly revision: number;
  readonly stageIndex: number;
  readonly stageName: string;
  /** The NetworkPolicy manifests, as plain JSON objects (validated by core/policy). */
  readonly policies: readonly unknown[];
  readonly enforcement: Enforcement;
  /** The baseline revision this contract is judged against ('' or absent: no baseline). */
  readonly baselineRevision?: string;
  /** Policies in force the contract replaces (new text in `policies`) or removes; absent: none. */
  readonly replaces?: readonly PolicyIdentity[];
  readonly removes?: readonly PolicyIdentity[];
}

/** A NetworkPolicy already in force (mirrors proto `BaselinePolicy`). */
export interface BaselinePolicyManifest {
  /** namespace/name */
  readonly ref: string;
  /** The manifest as a plain JSON object (validated by core/policy). */
  readonly manifest: unknown;
  /** The contract that wrote it (`rampart.dev/contract`), or null. */
  readonly owner: string | null;
}

export interface ContractSet {
  readonly generation: number;
  readonly contracts: readonly ActiveContract[];
  /**
   * The policies already in force. A contract C is judged against every one whose owner is not
   * C (baselineFor). Absent: no baseline (verdicts from each contract's own policies alone).
   */
  readonly baseline?: { readonly revision: string; readonly policies: readonly BaselinePolicyManifest[] };
}

/** The baseline contract `name` is judged against: every policy it did not write. */
export function baselineManifestsFor(set: ContractSet, name: string): readonly unknown[] {
  const out: unknown[] = [];
  for (const p of set.baseline?.policies ?? []) if (p.owner !== name) out.push(p.manifest);
  return out;
}
