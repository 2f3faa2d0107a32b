/**
 * Gate assessment, pure (style.md 2.4, Argo's assess shape): each gate maps one contract's
 * stage evidence to a phase with a reason that names the numbers; `assessStage` folds them,
 * worst phase wins, and maps the fold to a decision. Missing, stale or lossy evidence is
 * `inconclusive` and holds: it never advances a ramp (fail closed).
 */
import type { Contract, DecisionKind, Stage } from '../contract/index.js';
import { formatDurationMs } from '../common/index.js';
import { assessInconclusiveBudget, type SufficiencyGate, type SufficiencyGateName } from '../sufficiency/index.js';
import { formatEdge, type StageEvidence } from './evidence.js';

export const GATE_PHASES = ['passed', 'pending', 'inconclusive', 'error', 'failed'] as const; // best → worst
export type GatePhase = (typeof GATE_PHASES)[number];

export type GateName =
  | 'evidence'
  | 'minFlows'
  | 'maxWouldDeny'
  | 'maxWouldDenyRatio'
  | 'maxNewlyAllowed'
  | 'minNodeCoverage'
  | 'maxLostEventsRatio'
  | 'minDuration'
  | SufficiencyGateName;

export interface GateResult {
  readonly gate: GateName;
  readonly phase: GatePhase;
  readonly message: string;
}

export interface StageAssessment {
  /** The worst gate phase. */
  readonly phase: GatePhase;
  readonly gates: readonly GateResult[];
  /** What the evidence says; the ramp state machine decides what to do with it. */
  readonly decision: DecisionKind;
  /** Why: the messages of the gates that hold the stage (or the rollback trigger), worst first. */
  readonly reasons: readonly string[];
}

export interface AssessInput {
  readonly contract: Contract;
  readonly stageIndex: number;
  readonly stageEnteredAtMs: number;
  readonly nowMs: number;
  readonly evidence: StageEvidence;
  /**
   * Whether the evidence is enough (core/sufficiency, judged by the caller against the map and
   * the inventory): history, schedules, workload coverage. They join the gates as they are.
   */
  readonly sufficiency?: readonly SufficiencyGate[];
}

export function worstPhase(phases: Iterable<GatePhase>): GatePhase {
  let worst = 0;
  for (const p of phases) worst = Math.max(worst, GATE_PHASES.indexOf(p));
  return GATE_PHASES[worst]!;
}

/** `0.4%`: three significant digits, no trailing zeros. */
export function formatPercent(ratio: number): string {
  return `${Number((ratio * 100).toPrecision(3))}%`;
}

export const isEnforced = (stage: Stage): boolean => stage.kind !== 'monitor';

function topEdgeSuffix(e: StageEvidence): string {
  const top = e.topWouldDenyEdges[0];
  return top ? `; top edge ${formatEdge(top)}` : '';
}

/** The gates of one stage, in a fixed order. Each is a pure function of the input. */
export function assessGates(input: AssessInput): GateResult[] {
  const { contract, evidence: e, nowMs, stageEnteredAtMs } = input;
  const gates = contract.spec.gates;
  const stage = contract.spec.stages[input.stageIndex];
  const results: GateResult[] = [];
  const add = (gate: GateName, phase: GatePhase, message: string): void => {
    results.push({ gate, phase, message });
  };

  if (!stage) {
    add('evidence', 'error', `stage index ${input.stageIndex} is outside the ${contract.spec.stages.length} stages of the contract`);
    return results;
  }

  add(
    'evidence',
    e.windows > 0 ? 'passed' : 'inconclusive',
    e.windows > 0 ? `${e.windows} window reports for stage ${stage.name}` : `no evidence: no window report for stage ${stage.name} yet`,
  );

  add(
    'minFlows',
    e.flows >= gates.minFlows ? 'passed' : 'inconclusive',
    `evaluated flows ${e.flows} ${e.flows >= gates.minFlows ? '>=' : '<'} ${gates.minFlows} minimum`,
  );

  if (gates.maxWouldDeny !== null) {
    const over = e.deny > gates.maxWouldDeny;
    add('maxWouldDeny', over ? 'failed' : 'passed', `would-deny ${e.deny} ${over ? '>' : '<='} ${gates.maxWouldDeny}${over ? topEdgeSuffix(e) : ''}`);
  }

  if (gates.maxWouldDenyRatio !== null) {
    if (e.flows === 0) {
      add('maxWouldDenyRatio', 'inconclusive', 'would-deny ratio unknown: no evaluated flows');
    } else {
      const ratio = e.deny / e.flows;
      const over = ratio > gates.maxWouldDenyRatio;
      // A ratio over too small a sample is not evidence of safety; an exceeded one is still a failure.
      const phase: GatePhase = over ? 'failed' : e.flows < gates.minFlows ? 'inconclusive' : 'passed';
      add(
        'maxWouldDenyRatio',
        phase,
        `would-deny ratio ${formatPercent(ratio)} ${over ? '>' : '<='} ${formatPercent(gates.maxWouldDenyRatio)}${over ? topEdgeSuffix(e) : ''}`,
      );
    }
  }

  if (gates.maxNewlyAllowed !== null) {
    const over = e.newlyAllowed > gates.maxNewlyAllowed;
    const top = e.topNewlyAllowedEdges[0];
    add(
      'maxNewlyAllowed',
      over ? 'failed' : 'passed',
      `newly allowed ${e.newlyAllowed} ${over ? '>' : '<='} ${gates.maxNewlyAllowed} (sides the baseline denies that the contract would allow)${over && top ? `; top edge ${formatEdge(top)}` : ''}`,
    );
  }

  const { expected, reporting, silent } = e.nodes;
  if (expected.length === 0) {
    add('minNodeCoverage', 'inconclusive', 'node coverage unknown: no expected nodes (none configured, none seen)');
  } else {
    const coverage = reporting.length / expected.length;
    const enough = coverage >= gates.minNodeCoverage;
    const silentText = silent
      .slice(0, 5)
      .map((s) => (s.lastReportAgeMs === null ? `${s.node} (never reported)` : `${s.node} (silent ${formatDurationMs(Math.round(s.lastReportAgeMs / 1000) * 1000)})`))
      .join(', ');
    add(
      'minNodeCoverage',
      enough ? 'passed' : 'inconclusive',
      `node coverage ${reporting.length}/${expected.length} (${formatPercent(coverage)}) ${enough ? '>=' : '<'} ${formatPercent(gates.minNodeCoverage)}` +
        (silent.length > 0 ? `; not reporting: ${silentText}${silent.length > 5 ? `, +${silent.length - 5} more` : ''}` : ''),
    );
  }

  if (e.flowsSeen === 0) {
    add(
      'maxLostEventsRatio',
      e.lostEvents > 0 ? 'inconclusive' : 'passed',
      e.lostEvents > 0 ? `lost events ${e.lostEvents} with no flows seen` : 'lost events 0',
    );
  } else {
    const ratio = e.lostEvents / e.flowsSeen;
    const over = ratio > gates.maxLostEventsRatio;
    add(
      'maxLostEventsRatio',
      over ? 'inconclusive' : 'passed',
      `lost events ratio ${formatPercent(ratio)} ${over ? '>' : '<='} ${formatPercent(gates.maxLostEventsRatio)} (${e.lostEvents} lost of ${e.flowsSeen} seen)`,
    );
  }

  const elapsedMs = Math.max(0, nowMs - stageEnteredAtMs);
  const done = elapsedMs >= stage.minDurationMs;
  add(
    'minDuration',
    done ? 'passed' : 'pending',
    `time in stage ${formatDurationMs(Math.floor(elapsedMs / 1000) * 1000)} ${done ? '>=' : '<'} minDuration ${formatDurationMs(stage.minDurationMs)}`,
  );
  return results;
}

/** The rollback trigger: real denies per minute over spec.rollback in an enforced stage. */
export function rollbackReason(input: AssessInput): string | null {
  const stage = input.contract.spec.stages[input.stageIndex];
  const max = input.contract.spec.rollback.maxActualDeniesPerMinute;
  if (!stage || !isEnforced(stage) || max === null) return null;
  const n = input.evidence.actualDeniesLastMinute;
  if (n <= max) return null;
  const top = input.evidence.topActualDenyEdges[0];
  return `actual denies ${n}/min > ${max}/min in enforced stage ${stage.name}${top ? `; top edge ${formatEdge(top)}` : ''}`;
}

export function assessStage(input: AssessInput): StageAssessment {
  const gates: GateResult[] = [...assessGates(input), ...(input.sufficiency ?? [])];
  // Inconclusive has a budget (gates.maxInconclusive): past it the stage is Blocked with the reasons.
  const budget = assessInconclusiveBudget(gates, input.stageEnteredAtMs, input.nowMs, input.contract.spec.gates.maxInconclusiveMs);
  if (budget !== null) gates.push(budget);
  const phase = worstPhase(gates.map((g) => g.phase));
  const rollback = rollbackReason(input);
  if (rollback !== null) {
    return { phase, gates, decision: 'rollback', reasons: [rollback] };
  }
  if (phase === 'passed') {
    return { phase, gates, decision: 'advance', reasons: ['all gates passed'] };
  }
  const holding = gates
    .filter((g) => g.phase !== 'passed')
    .sort((a, b) => GATE_PHASES.indexOf(b.phase) - GATE_PHASES.indexOf(a.phase))
    .map((g) => `${g.phase}: ${g.message}`);
  return { phase, gates, decision: 'hold', reasons: holding };
}
