/**
 * What an agent reports per window: the domain twin of proto/rampart/v1 `WindowReport`.
 * All counts are additive, so windows (and merged windows) sum without loss.
 */

import type { ObservedEdge } from './observed-edges.js';

export interface SideCounts {
  readonly allow: number;
  readonly deny: number;
  readonly indeterminate: number;
}

export type Side = 'egress' | 'ingress';

export interface Edge {
  readonly fromNamespace: string;
  readonly fromWorkload: string;
  readonly toNamespace: string;
  readonly toWorkload: string;
  readonly port: number;
  readonly protocol: string;
  readonly side: Side;
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

/** What each stage of a contract enforces (mirrors proto `Enforcement`). */
export type Enforcement =
  | { readonly mode: 'monitor' }
  | { readonly mode: 'percent'; readonly percent: number }
  | { readonly mode: 'namespaces'; readonly namespaces: readonly string[] };

/** One contract as pushed to agents (mirrors proto `ActiveContract`). */
export interface ActiveContract {
  readonly name: string;
  readonly revision: number;
  readonly stageIndex: number;
  readonly stageName: string;
  /** The NetworkPolicy manifests, as plain JSON objects (validated by core/policy). */
  readonly policies: readonly unknown[];
  readonly enforcement: Enforcement;
}

export interface ContractSet {
  readonly generation: number;
  readonly contracts: readonly ActiveContract[];
}
