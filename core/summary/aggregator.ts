/**
 * Window aggregation (style.md 2.5): synchronous, no timers, bounded memory. The pipeline
 * feeds it evaluations and a timer in the pipeline calls `flush`.
 *
 * One `ContractWindowAggregator` per (contract, revision, stage) in the window; the top
 * would-deny and actual-deny edges are Space-Saving sketches (top-edges.ts), so a
 * cardinality flood costs O(K) memory per contract and shows up as overflow.
 */
import type { Flow } from '../flow/index.js';
import type { BaselineCounts, ContractWindow, HubbleStats, Side, SideCounts, WindowSummary } from './summary.js';
import type { EdgeKey } from './summary.js';
import { DEFAULT_TOP_K, edgeId, TopEdges } from './top-edges.js';
import { workloadOf } from './workload.js';

/**
 * One evaluated side. Judged against a baseline: `deny` is newly denied (the contract's
 * would-deny), `allow` allowed by baseline ∪ contract and by the baseline alone, and the
 * brownfield outcomes `already-denied` and `newly-allowed` (product.md "the baseline").
 */
export type SideVerdict = 'allow' | 'deny' | 'indeterminate' | 'already-denied' | 'newly-allowed';

/** Identifies a contract window: evidence never mixes revisions or stages. */
export interface ContractWindowKey {
  readonly contract: string;
  readonly revision: number;
  readonly stageIndex: number;
  readonly stageName: string;
}

export const contractWindowId = (k: ContractWindowKey): string => `${k.contract}\u0000${k.revision}\u0000${k.stageIndex}`;

interface MutableSideCounts {
  allow: number;
  deny: number;
  indeterminate: number;
}

const zeroSide = (): MutableSideCounts => ({ allow: 0, deny: 0, indeterminate: 0 });

interface MutableChangeCounts {
  alreadyDenied: number;
  newlyAllowed: number;
}

/** An edge key with its id, computed once per flow and side and shared by every contract. */
export interface KeyedEdge {
  readonly id: string;
  readonly key: EdgeKey;
}

export function keyedEdgeOf(flow: Flow, side: Side): KeyedEdge {
  const key = edgeKeyOf(flow, side);
  return { id: edgeId(key), key };
}

/** Turns a flow into an edge key for the side whose rules decided it. */
export function edgeKeyOf(flow: Flow, side: Side): EdgeKey {
  const from = workloadOf(flow.source);
  const to = workloadOf(flow.destination);
  return {
    fromNamespace: from.namespace,
    fromWorkload: from.workload,
    toNamespace: to.namespace,
    toWorkload: to.workload,
    port: flow.l4?.destinationPort ?? 0,
    protocol: flow.l4?.protocol ?? 'UNKNOWN',
    side,
  };
}

/** Serialises a sample flow for an edge (injected: the agent prints Hubble JSON lines). */
export type SampleFlow = (flow: Flow) => string;

export class ContractWindowAggregator {
  readonly key: ContractWindowKey;
  private readonly egress = zeroSide();
  private readonly ingress = zeroSide();
  private actualDenies = 0;
  private readonly enrollment = { missing: 0, seen: 0 };
  // Slots keep the Flow itself; it is printed only when the window is read.
  private readonly wouldDeny: TopEdges<Flow>;
  private readonly actualDeny: TopEdges<Flow>;
  private readonly newlyAllowed: TopEdges<Flow>;
  private readonly egressChanges: MutableChangeCounts = { alreadyDenied: 0, newlyAllowed: 0 };
  private readonly ingressChanges: MutableChangeCounts = { alreadyDenied: 0, newlyAllowed: 0 };
  /** The baseline revision judged against; null while no baseline is in play. */
  private baselineRevision: string | null = null;

  constructor(key: ContractWindowKey, topK: number, sampleOf: SampleFlow) {
    this.key = key;
    this.wouldDeny = new TopEdges<Flow>(topK, sampleOf);
    this.actualDeny = new TopEdges<Flow>(topK, sampleOf);
    this.newlyAllowed = new TopEdges<Flow>(topK, sampleOf);
  }

  /** The baseline the following evaluations are judged against ('' for none; the latest wins). */
  setBaseline(revision: string): void {
    if (revision !== '' || this.baselineRevision !== null) this.baselineRevision = revision;
  }

  /**
   * One evaluated connection-side. `edge` (for a deny) may be passed in when the caller
   * evaluates one flow against many contracts, so the key is built once.
   */
  addEvaluation(side: Side, verdict: SideVerdict, flow: Flow, edge?: KeyedEdge): void {
    const counts = side === 'egress' ? this.egress : this.ingress;
    switch (verdict) {
      case 'deny': {
        counts.deny++;
        const e = edge ?? keyedEdgeOf(flow, side);
        this.wouldDeny.addKeyed(e.id, e.key, 1, flow.timeMs, flow.timeMs, flow);
        return;
      }
      case 'already-denied':
        (side === 'egress' ? this.egressChanges : this.ingressChanges).alreadyDenied++;
        return;
      case 'newly-allowed': {
        counts.allow++;
        (side === 'egress' ? this.egressChanges : this.ingressChanges).newlyAllowed++;
        const e = edge ?? keyedEdgeOf(flow, side);
        this.newlyAllowed.addKeyed(e.id, e.key, 1, flow.timeMs, flow.timeMs, flow);
        return;
      }
      default:
        counts[verdict]++;
    }
  }

  /** One real policy drop on a pod this contract's stage enforces. */
  addActualDeny(side: Side, flow: Flow, edge?: KeyedEdge): void {
    this.actualDenies++;
    const e = edge ?? keyedEdgeOf(flow, side);
    this.actualDeny.addKeyed(e.id, e.key, 1, flow.timeMs, flow.timeMs, flow);
  }

  /** A side on a local pod the stage enrolls: its identity carries the enrollment label, or lacks it. */
  addEnrollment(carriesLabel: boolean): void {
    if (carriesLabel) this.enrollment.seen++;
    else this.enrollment.missing++;
  }

  snapshot(): ContractWindow {
    const e = this.egressChanges;
    const i = this.ingressChanges;
    const judged = this.baselineRevision !== null || e.alreadyDenied + e.newlyAllowed + i.alreadyDenied + i.newlyAllowed > 0;
    const baseline: BaselineCounts | undefined = judged
      ? {
          revision: this.baselineRevision ?? '',
          egress: { ...e },
          ingress: { ...i },
          newlyAllowedEdges: this.newlyAllowed.edges(),
          newlyAllowedEdgesOverflow: this.newlyAllowed.overflow,
        }
      : undefined;
    return {
      contract: this.key.contract,
      revision: this.key.revision,
      stageIndex: this.key.stageIndex,
      stageName: this.key.stageName,
      egress: { ...this.egress } satisfies SideCounts,
      ingress: { ...this.ingress } satisfies SideCounts,
      actualDenies: this.actualDenies,
      wouldDenyEdges: this.wouldDeny.edges(),
      wouldDenyEdgesOverflow: this.wouldDeny.overflow,
      actualDenyEdges: this.actualDeny.edges(),
      actualDenyEdgesOverflow: this.actualDeny.overflow,
      ...(baseline === undefined ? {} : { baseline }),
      ...(this.enrollment.missing + this.enrollment.seen > 0 ? { enrollment: { ...this.enrollment } } : {}),
    };
  }
}

export interface WindowAggregatorOptions {
  readonly node: string;
  readonly bootId: string;
  /** Edges kept per contract window and kind (default 100). */
  readonly topK?: number;
  readonly sampleOf: SampleFlow;
}

/** What the pipeline hands to `flush` about the window that ends. */
export interface FlushInfo {
  readonly windowEndMs: number;
  readonly contractsGeneration: number;
  /** Whether the Hubble stream is up now (combined with any disconnect in the window). */
  readonly hubbleConnected: boolean;
}

export class WindowAggregator {
  private readonly options: WindowAggregatorOptions;
  private readonly topK: number;
  private contracts = new Map<string, ContractWindowAggregator>();
  private windowStartMs: number;
  private flowsSeen = 0;
  private connections = 0;
  private lost: Record<string, number> = {};
  private reconnects = 0;
  private disconnectedInWindow = false;

  constructor(options: WindowAggregatorOptions, windowStartMs: number) {
    this.options = options;
    this.topK = options.topK ?? DEFAULT_TOP_K;
    this.windowStartMs = windowStartMs;
  }

  get startMs(): number {
    return this.windowStartMs;
  }

  /** The aggregator of one contract window, created on first use. */
  contract(key: ContractWindowKey): ContractWindowAggregator {
    const id = contractWindowId(key);
    let agg = this.contracts.get(id);
    if (!agg) {
      agg = new ContractWindowAggregator(key, this.topK, this.options.sampleOf);
      this.contracts.set(id, agg);
    }
    return agg;
  }

  noteFlowSeen(): void {
    this.flowsSeen++;
  }

  noteConnection(): void {
    this.connections++;
  }

  noteLost(source: string, count: number): void {
    if (count > 0) this.lost[source] = (this.lost[source] ?? 0) + count;
  }

  noteReconnect(): void {
    this.reconnects++;
  }

  noteDisconnected(): void {
    this.disconnectedInWindow = true;
  }

  /**
   * Closes the window and starts the next one at `windowEndMs`. The summary's `seq` is 0:
   * the reporter numbers a window when it first sends it (so merged windows never burn a
   * number the receiver might have seen).
   */
  flush(info: FlushInfo): WindowSummary {
    const hubble: HubbleStats = {
      flowsSeen: this.flowsSeen,
      connections: this.connections,
      lost: this.lost,
      reconnects: this.reconnects,
      connected: info.hubbleConnected && !this.disconnectedInWindow,
    };
    const summary: WindowSummary = {
      node: this.options.node,
      bootId: this.options.bootId,
      seq: 0,
      windowStartMs: this.windowStartMs,
      windowEndMs: Math.max(info.windowEndMs, this.windowStartMs),
      mergedWindows: 1,
      hubble,
      contracts: [...this.contracts.values()].map((c) => c.snapshot()),
      contractsGeneration: info.contractsGeneration,
    };
    this.contracts = new Map();
    this.windowStartMs = summary.windowEndMs;
    this.flowsSeen = 0;
    this.connections = 0;
    this.lost = {};
    this.reconnects = 0;
    this.disconnectedInWindow = !info.hubbleConnected;
    return summary;
  }
}
