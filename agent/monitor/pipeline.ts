/**
 * The hot path: Hubble events → classification → evaluation against every active contract →
 * window aggregation. Synchronous per event; a timer (owned here, not by the aggregator)
 * closes each window and hands the summary to `onWindow` (the outbox).
 *
 * Actual denies: a policy drop (DROPPED with POLICY_DENIED / POLICY_DENY) counts for a
 * contract when the dropping side's pod is enforced by the contract's current stage and the
 * contract itself does not allow that side (a drop the contract would allow is some other
 * policy's doing, so it must not roll this contract back).
 */
import { assertNever, type Clock, type Logger } from '../../core/common/index.js';
import { isPolicyDrop, type Flow } from '../../core/flow/index.js';
import { countsOnThisNode, keyedEdgeOf, ObservedEdgeCollector, WindowAggregator, type ContractWindowAggregator, type KeyedEdge, type SampleFlow, type Side, type WindowSummary } from '../../core/summary/index.js';
import type { ActiveSet, CompiledContract, ContractStore } from './contract-store.js';
import { isEnforcedOn } from './enforcement.js';
import { EnrollmentCheck } from './enrollment-check.js';

const enrollKey = <S>(c: CompiledContract<S>): string => `${c.name}\u0000${c.key.revision}\u0000${c.enforcement.mode === 'percent' ? (c.enforcement.enrollLabel ?? '') : ''}`;
import type { BatchedEvents, Classifier, ConnectionVerdict, HubbleEvent, HubbleStatus, PolicyEngine, SideResult } from './ports.js';
import { VerdictMemo } from './verdict-memo.js';

export interface PipelineOptions<S> {
  readonly node: string;
  readonly bootId: string;
  readonly windowMs: number;
  readonly topK: number;
  readonly classifier: Classifier;
  readonly engine: PolicyEngine<S>;
  readonly contracts: ContractStore<S>;
  readonly hubble: HubbleStatus;
  readonly clock: Clock;
  readonly sampleOf: SampleFlow;
  readonly onWindow: (summary: WindowSummary) => void;
  readonly logger: Logger;
  /** How long an enrolled pod may lack the enrollment label in its identity before it counts as missing. */
  readonly enrollSettleMs?: number;
  /** Observed edges kept per window for the traffic map (default 2000; 0 turns them off). */
  readonly observedEdgeCapacity?: number;
}

interface Bound<S> {
  readonly contract: CompiledContract<S>;
  readonly agg: ContractWindowAggregator;
  /** Kubernetes mode, percent stages enforced by a label: does the label reach the identities? */
  readonly enrollment: EnrollmentCheck | null;
}

export class Pipeline<S> {
  private readonly o: PipelineOptions<S>;
  private window: WindowAggregator;
  private bound: readonly Bound<S>[] = [];
  private boundSet: ActiveSet<S> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastReconnects: number;
  private lastMalformed: number;
  private lastOversized: number;
  /** Verdicts of the bound contract set per kind of connection; cleared when the set changes. */
  readonly verdicts = new VerdictMemo();
  /** The traffic map's edges of the current window (core/summary/observed-edges.ts). */
  private readonly observed: ObservedEdgeCollector;
  /** Totals since start, for tests and the benchmark. */
  readonly totals = { events: 0, flows: 0, connections: 0, lost: 0, windows: 0 };

  constructor(options: PipelineOptions<S>) {
    this.o = options;
    this.window = new WindowAggregator({ node: options.node, bootId: options.bootId, topK: options.topK, sampleOf: options.sampleOf }, options.clock.nowMs());
    this.observed = new ObservedEdgeCollector(options.observedEdgeCapacity);
    this.lastReconnects = options.hubble.reconnects;
    this.lastMalformed = options.hubble.malformed ?? 0;
    this.lastOversized = options.hubble.oversized ?? 0;
    options.contracts.onInstalled(() => {
      this.rebind();
    });
    this.rebind();
  }

  /** Starts closing a window every `windowMs`. */
  start(): void {
    if (this.timer !== null) return;
    const schedule = (): void => {
      const due = this.window.startMs + this.o.windowMs - this.o.clock.nowMs();
      this.timer = setTimeout(
        () => {
          this.flush();
          schedule();
        },
        Math.max(0, due),
      );
    };
    schedule();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Consumes events until the source ends or the signal fires. A source that also offers
   * `batches()` (agent/hubble's client) is read a batch at a time: handling is synchronous, so
   * this changes nothing but the number of awaits.
   */
  async run(events: AsyncIterable<HubbleEvent> & Partial<BatchedEvents>, signal: AbortSignal): Promise<void> {
    if (typeof events.batches === 'function') {
      for await (const batch of events.batches()) {
        for (const event of batch) this.handle(event);
        if (signal.aborted) break;
      }
      return;
    }
    for await (const event of events) {
      this.handle(event);
      if (signal.aborted) break;
    }
  }

  handle(event: HubbleEvent): void {
    this.totals.events++;
    switch (event.kind) {
      case 'flow':
        this.handleFlow(event.flow);
        return;
      case 'flow-skipped':
        // The client recognised one of the connection tracker's own skips on the wire.
        this.totals.flows++;
        this.window.noteFlowSeen();
        return;
      case 'lost':
        this.totals.lost += event.count;
        this.window.noteLost(event.source, event.count);
        return;
      case 'node-status':
        // Relay node status: informational for a node-local agent.
        return;
      default:
        assertNever(event, 'hubble event');
    }
  }

  private handleFlow(flow: Flow): void {
    this.totals.flows++;
    this.window.noteFlowSeen();
    const c = this.o.classifier.classify(flow);
    if (c.kind === 'skip') return;
    this.totals.connections++;
    this.window.noteConnection();
    const counted = countsOnThisNode(flow, c.egress, c.ingress);
    const active = this.o.contracts.active;
    if (active !== this.boundSet) this.rebind();
    const bound = this.bound;
    if (bound.length === 0) {
      if (counted) this.observed.add(flow);
      return;
    }
    const drop = isPolicyDrop(flow);
    const remembered = this.verdicts.lookup(flow, c.egress, c.ingress);
    // A repeated connection brings its names along with its verdicts: no strings built.
    const names = remembered === undefined ? undefined : this.verdicts.names(flow);
    if (counted) {
      if (names === undefined) this.observed.add(flow);
      else this.observed.addKeyed(names.observedId, flow);
    }
    // Edge keys are built at most once per flow and side, whatever the number of contracts.
    let egressEdge: KeyedEdge | undefined = names?.egress;
    let ingressEdge: KeyedEdge | undefined = names?.ingress;
    const computed: ConnectionVerdict[] | null = remembered === undefined ? [] : null;
    for (let k = 0; k < bound.length; k++) {
      const b = bound[k]!;
      let v: ConnectionVerdict;
      if (computed === null) v = remembered![k]!;
      else {
        v = this.o.engine.evaluate(b.contract.compiled, flow, c);
        computed.push(v);
      }
      const egress = v.egress;
      const ingress = v.ingress;
      if (egress !== 'none') {
        if (egress === 'deny' || egress === 'newly-allowed') egressEdge ??= keyedEdgeOf(flow, 'egress');
        b.agg.addEvaluation('egress', egress, flow, egressEdge);
      }
      if (ingress !== 'none') {
        if (ingress === 'deny' || ingress === 'newly-allowed') ingressEdge ??= keyedEdgeOf(flow, 'ingress');
        b.agg.addEvaluation('ingress', ingress, flow, ingressEdge);
      }
      if (drop) {
        const side = this.droppingSide(flow, c.egress, c.ingress, b.contract, egress, ingress);
        if (side !== null) b.agg.addActualDeny(side, flow);
      }
      if (b.enrollment !== null) {
        const nowMs = this.o.clock.nowMs();
        if (c.egress) this.noteEnrollment(b, flow.source, nowMs);
        if (c.ingress) this.noteEnrollment(b, flow.destination, nowMs);
      }
    }
    if (computed !== null) this.verdicts.remember(flow, c.egress, c.ingress, computed);
    else if (names !== undefined) {
      names.egress = egressEdge;
      names.ingress = ingressEdge;
    }
  }

  private noteEnrollment(b: Bound<S>, endpoint: Flow['source'], nowMs: number): void {
    const r = b.enrollment!.check(endpoint, nowMs);
    if (r !== null) b.agg.addEnrollment(r === 'seen');
  }

  /** The side whose enforcement (by this contract) explains a real policy drop, if any. */
  private droppingSide(flow: Flow, egressLocal: boolean, ingressLocal: boolean, contract: CompiledContract<S>, egress: SideResult, ingress: SideResult): Side | null {
    const blames = (side: Side): boolean => {
      const local = side === 'egress' ? egressLocal : ingressLocal;
      const verdict = side === 'egress' ? egress : ingress;
      const pod = side === 'egress' ? flow.source : flow.destination;
      // Only a side this contract denies (newly) or may deny: a drop the baseline alone
      // explains (already-denied) is not the contract's doing and never rolls it back.
      return local && (verdict === 'deny' || verdict === 'indeterminate') && isEnforcedOn(contract.name, contract.enforcement, pod);
    };
    // Hubble's traffic direction names the side that dropped; without it, either local side may have.
    if (flow.direction === 'egress') return blames('egress') ? 'egress' : null;
    if (flow.direction === 'ingress') return blames('ingress') ? 'ingress' : null;
    if (blames('egress')) return 'egress';
    if (blames('ingress')) return 'ingress';
    return null;
  }

  /** Points each active contract at its aggregator in the current window. */
  private rebind(): void {
    const active = this.o.contracts.active;
    if (active !== this.boundSet) this.verdicts.clear();
    this.boundSet = active;
    const checks = new Map<string, EnrollmentCheck>();
    for (const b of this.bound) if (b.enrollment) checks.set(enrollKey(b.contract), b.enrollment);
    this.bound = (active?.contracts ?? []).map((contract) => {
      const agg = this.window.contract(contract.key);
      agg.setBaseline(contract.baselineRevision);
      const e = contract.enforcement;
      // A revision keeps its check (and when each pod was first expected enrolled) across
      // windows and stages: a pod enrolled at 10% is still enrolled at 50%.
      let enrollment: EnrollmentCheck | null = null;
      if (e.mode === 'percent' && e.enrollLabel) {
        enrollment = checks.get(enrollKey(contract)) ?? new EnrollmentCheck({ contract: contract.name, label: e.enrollLabel, policies: contract.policies, settleMs: this.o.enrollSettleMs });
        enrollment.percent = e.percent;
      }
      return { contract, agg, enrollment };
    });
  }

  /** Closes the current window now and hands it on (also used on shutdown). */
  flush(): WindowSummary {
    const hubble = this.o.hubble;
    for (let n = this.lastReconnects; n < hubble.reconnects; n++) this.window.noteReconnect();
    this.lastReconnects = hubble.reconnects;
    // Messages our client had to skip are losses too: gates must see them.
    const malformed = hubble.malformed ?? 0;
    const oversized = hubble.oversized ?? 0;
    this.window.noteLost('RAMPART_MALFORMED', malformed - this.lastMalformed);
    this.window.noteLost('RAMPART_OVERSIZED', oversized - this.lastOversized);
    this.lastMalformed = malformed;
    this.lastOversized = oversized;
    const observed = this.observed.flush();
    const summary: WindowSummary = {
      ...this.window.flush({
        windowEndMs: this.o.clock.nowMs(),
        contractsGeneration: this.boundSet?.generation ?? this.o.contracts.active?.generation ?? 0,
        hubbleConnected: hubble.connected,
      }),
      observedEdges: observed.edges,
      observedEdgesOverflow: observed.overflow,
    };
    this.totals.windows++;
    this.rebind();
    this.o.onWindow(summary);
    return summary;
  }
}
