/**
 * Every control plane metric, bound to an injected Registry (style.md 2.3): names
 * `rampart_controlplane_…`, base units, `_total` on counters, labels from bounded
 * vocabularies only (contract names, phases, decision kinds, reasons; never nodes or pods).
 */
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import { CONTRACT_PHASES } from '../../core/contract/index.js';

export const METRIC_PREFIX = 'rampart_controlplane_';
const DECISION_KINDS = ['advance', 'hold', 'rollback'] as const;

export class ControlplaneMetrics {
  readonly stage: Gauge;
  readonly phase: Gauge;
  readonly decision: Gauge;
  readonly wouldDenyRatio: Gauge;
  readonly evaluatedFlows: Gauge;
  readonly alreadyDenied: Gauge;
  readonly newlyAllowed: Gauge;
  readonly nodeCoverage: Gauge;
  readonly actualDenies: Counter;
  readonly agentsConnected: Gauge;
  readonly reports: Counter;
  readonly ingestErrors: Counter;
  readonly windows: Counter;
  readonly transitions: Counter;
  readonly contractsInvalid: Gauge;
  readonly decisionLatency: Histogram;
  readonly reconcileDuration: Histogram;
  readonly streamClients: Gauge;
  readonly streamDropped: Counter;
  readonly streamClientsDropped: Counter;
  readonly contractSetPushes: Counter;
  readonly actuatorErrors: Counter;
  readonly journalBadLines: Counter;
  readonly reconcileErrors: Counter;

  constructor(registry: Registry, { defaultMetrics = true }: { defaultMetrics?: boolean } = {}) {
    const registers = [registry];
    const p = METRIC_PREFIX;
    if (defaultMetrics) collectDefaultMetrics({ register: registry, prefix: p });
    this.stage = new Gauge({ name: `${p}stage`, help: 'Current stage index of each contract (0 = monitor).', labelNames: ['contract'], registers });
    this.phase = new Gauge({ name: `${p}phase`, help: 'Ramp phase of each contract: 1 for the current phase, 0 otherwise.', labelNames: ['contract', 'phase'], registers });
    this.decision = new Gauge({ name: `${p}last_decision`, help: 'Last decision for each contract: 1 for its kind, 0 otherwise.', labelNames: ['contract', 'kind'], registers });
    this.wouldDenyRatio = new Gauge({ name: `${p}would_deny_ratio`, help: 'Would-deny / evaluated connection-sides in the current stage.', labelNames: ['contract'], registers });
    this.evaluatedFlows = new Gauge({ name: `${p}stage_evaluated_flows`, help: 'Evaluated connection-sides in the current stage.', labelNames: ['contract'], registers });
    this.alreadyDenied = new Gauge({ name: `${p}stage_already_denied`, help: 'Connection-sides in the current stage that the baseline (the policies already in force) denies already; never counted as would-deny.', labelNames: ['contract'], registers });
    this.newlyAllowed = new Gauge({ name: `${p}stage_newly_allowed`, help: 'Connection-sides in the current stage that the baseline denies and the contract would allow.', labelNames: ['contract'], registers });
    this.nodeCoverage = new Gauge({ name: `${p}node_coverage_ratio`, help: 'Reporting / expected nodes.', labelNames: ['contract'], registers });
    this.actualDenies = new Counter({ name: `${p}actual_denies_total`, help: 'Real policy drops reported on enforced pods.', labelNames: ['contract'], registers });
    this.agentsConnected = new Gauge({ name: `${p}agents_connected`, help: 'Agent streams currently open.', registers });
    this.reports = new Counter({ name: `${p}reports_total`, help: 'Window reports received, by result.', labelNames: ['result'], registers });
    this.ingestErrors = new Counter({ name: `${p}ingest_errors_total`, help: 'Reports or messages refused, by reason.', labelNames: ['reason'], registers });
    this.windows = new Counter({ name: `${p}contract_windows_total`, help: 'Contract windows in accepted reports, by how they were used.', labelNames: ['result'], registers });
    this.transitions = new Counter({ name: `${p}transitions_total`, help: 'Ramp transitions recorded in the history.', labelNames: ['contract', 'decision'], registers });
    this.contractsInvalid = new Gauge({ name: `${p}contracts_invalid`, help: 'Contracts whose current document has problems.', registers });
    this.decisionLatency = new Histogram({
      name: `${p}decision_latency_seconds`,
      help: "Time from a window's arrival to the decision that used it.",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2.5, 5],
      registers,
    });
    this.reconcileDuration = new Histogram({ name: `${p}reconcile_duration_seconds`, help: 'Duration of one reconcile pass over all contracts.', buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1], registers });
    this.streamClients = new Gauge({ name: `${p}stream_clients`, help: 'WebSocket stream clients connected.', registers });
    this.streamDropped = new Counter({ name: `${p}stream_dropped_messages_total`, help: 'Live stream messages not sent to a slow client.', registers });
    this.streamClientsDropped = new Counter({ name: `${p}stream_clients_dropped_total`, help: 'Live stream clients disconnected for being too slow.', registers });
    this.contractSetPushes = new Counter({ name: `${p}contract_set_generations_total`, help: 'New ContractSet generations pushed to agents.', registers });
    this.actuatorErrors = new Counter({ name: `${p}actuator_errors_total`, help: 'Stage applications that failed.', registers });
    this.reconcileErrors = new Counter({ name: `${p}reconcile_errors_total`, help: 'Reconcile passes that failed (e.g. the history could not be written); the ramp holds.', registers });
    this.journalBadLines = new Counter({ name: `${p}journal_bad_lines_total`, help: 'History log lines that could not be read at start.', registers });
  }

  setPhase(contract: string, phase: string): void {
    for (const p of CONTRACT_PHASES) this.phase.set({ contract, phase: p }, p === phase ? 1 : 0);
  }

  setDecision(contract: string, kind: string): void {
    for (const k of DECISION_KINDS) this.decision.set({ contract, kind: k }, k === kind ? 1 : 0);
  }

  /**
   * A contract the reconciler passes over: its counters exist from then on, at 0, so a
   * dashboard (or a test) tells "none yet" from "not exported".
   */
  knowContract(contract: string): void {
    for (const k of DECISION_KINDS) this.transitions.inc({ contract, decision: k }, 0);
    this.actualDenies.inc({ contract }, 0);
  }

  forgetContract(contract: string): void {
    this.stage.remove({ contract });
    this.wouldDenyRatio.remove({ contract });
    this.evaluatedFlows.remove({ contract });
    this.alreadyDenied.remove({ contract });
    this.newlyAllowed.remove({ contract });
    this.nodeCoverage.remove({ contract });
    for (const p of CONTRACT_PHASES) this.phase.remove({ contract, phase: p });
    for (const k of DECISION_KINDS) this.decision.remove({ contract, kind: k });
  }
}
