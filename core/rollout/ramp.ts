/**
 * The ramp state machine, pure: given a contract's ramp state and what the evidence says
 * (or an operator's action), the next state and the transition to record. The reconciler
 * applies the effects (journal, actuator, push to agents, stream).
 *
 * Phases: Observing (gathering evidence), Blocked (a gate failed), AwaitingApproval (gates
 * passed, advance is manual), RolledBack (real denies or an operator moved it back; held
 * until resumed), Paused (held by an operator), Complete (the last stage passed).
 */
import { assertNever } from '../common/index.js';
import type { Contract, ContractPhase, DecisionKind } from '../contract/index.js';
import type { StageAssessment } from './assess-stage.js';
import { isEnforced } from './assess-stage.js';

/** The ramp's phases are the ones its status reports: one vocabulary, core/contract/status.ts. */
export type Phase = ContractPhase;

export interface RampState {
  readonly contract: string;
  /** Bumps on every change of spec.policies (persisted); starts at 1. */
  readonly revision: number;
  readonly policiesHash: string;
  readonly stageIndex: number;
  readonly phase: Phase;
  /** When the current stage (at this revision) was entered; evidence counts from here. */
  readonly stageEnteredAtMs: number;
  /** The phase to return to on resume (only while Paused). */
  readonly pausedFrom: Phase | null;
}

export type ActionKind = 'revision' | 'reconcile' | 'approve' | 'pause' | 'resume' | 'rollback';

/** What the history records about a change of stage or phase. */
export interface Transition {
  readonly kind: ActionKind;
  readonly decision: DecisionKind;
  readonly reasons: readonly string[];
  /** `auto`, or who acted through the API. */
  readonly actor: string;
}

export interface Step {
  readonly next: RampState;
  /** null when nothing changed (no history entry). */
  readonly transition: Transition | null;
}

/** The state of a contract's first revision, or of a new revision: monitor, Observing. */
export function initialRamp(contract: string, revision: number, policiesHash: string, nowMs: number): RampState {
  return { contract, revision, policiesHash, stageIndex: 0, phase: 'Observing', stageEnteredAtMs: nowMs, pausedFrom: null };
}

const unchanged = (state: RampState): Step => ({ next: state, transition: null });

/** The level-triggered step: what the current evidence says, applied to the current state. */
export function reconcileStep(state: RampState, contract: Contract, a: StageAssessment, nowMs: number): Step {
  const last = contract.spec.stages.length - 1;
  const stage = contract.spec.stages[state.stageIndex];
  // Real denies roll back from any phase of an enforced stage (safety before an operator's pause).
  if (a.decision === 'rollback' && stage && isEnforced(stage) && state.stageIndex > 0) {
    return {
      next: { ...state, stageIndex: rollbackTarget(state, contract), phase: 'RolledBack', stageEnteredAtMs: nowMs, pausedFrom: null },
      transition: { kind: 'reconcile', decision: 'rollback', reasons: a.reasons, actor: 'auto' },
    };
  }
  if (state.phase === 'Paused' || state.phase === 'RolledBack' || state.phase === 'Complete') return unchanged(state);

  const hold = (phase: Phase): Step =>
    phase === state.phase ? unchanged(state) : { next: { ...state, phase }, transition: { kind: 'reconcile', decision: 'hold', reasons: a.reasons, actor: 'auto' } };

  if (a.phase === 'failed') return hold('Blocked');
  if (a.phase !== 'passed') return hold('Observing');
  if (contract.spec.advance === 'manual') return hold('AwaitingApproval');
  return advance(state, last, nowMs, { kind: 'reconcile', decision: 'advance', reasons: a.reasons, actor: 'auto' });
}

function advance(state: RampState, lastStage: number, nowMs: number, transition: Transition): Step {
  if (state.stageIndex >= lastStage) {
    return { next: { ...state, phase: 'Complete', pausedFrom: null }, transition };
  }
  return { next: { ...state, stageIndex: state.stageIndex + 1, phase: 'Observing', stageEnteredAtMs: nowMs, pausedFrom: null }, transition };
}

/**
 * The stage a rollback lands on (spec.rollback.to): monitor (stage 0: nothing enforced, at
 * once, while real denies go on) or the previous stage.
 */
export function rollbackTarget(state: RampState, contract: Contract): number {
  return contract.spec.rollback.to === 'previous' ? Math.max(0, state.stageIndex - 1) : 0;
}

export type OperatorAction = 'approve' | 'pause' | 'resume' | 'rollback';

export type ActionOutcome = { readonly ok: true; readonly step: Step } | { readonly ok: false; readonly conflict: string };

/** An operator's action through the API. Refused (a conflict) when the phase does not allow it. */
export function applyAction(
  state: RampState,
  contract: Contract,
  action: OperatorAction,
  actor: string,
  nowMs: number,
  reason: string | null,
): ActionOutcome {
  const why = (fallback: string): string[] => [reason ?? fallback];
  switch (action) {
    case 'approve':
      if (state.phase !== 'AwaitingApproval') return { ok: false, conflict: `approve needs phase AwaitingApproval, the contract is ${state.phase}` };
      return { ok: true, step: advance(state, contract.spec.stages.length - 1, nowMs, { kind: 'approve', decision: 'advance', reasons: why(`approved by ${actor}`), actor }) };
    case 'pause':
      if (state.phase === 'Paused' || state.phase === 'Complete') return { ok: false, conflict: `cannot pause a contract that is ${state.phase}` };
      return {
        ok: true,
        step: { next: { ...state, phase: 'Paused', pausedFrom: state.phase }, transition: { kind: 'pause', decision: 'hold', reasons: why(`paused by ${actor}`), actor } },
      };
    case 'resume':
      if (state.phase !== 'Paused' && state.phase !== 'RolledBack') return { ok: false, conflict: `resume needs phase Paused or RolledBack, the contract is ${state.phase}` };
      // Resuming re-assesses from Observing: the reconcile loop moves it on from there.
      return {
        ok: true,
        step: { next: { ...state, phase: 'Observing', pausedFrom: null }, transition: { kind: 'resume', decision: 'hold', reasons: why(`resumed by ${actor}`), actor } },
      };
    case 'rollback':
      if (state.stageIndex === 0) return { ok: false, conflict: 'the contract is at its first stage: there is nothing to roll back to' };
      return {
        ok: true,
        step: {
          next: { ...state, stageIndex: rollbackTarget(state, contract), phase: 'RolledBack', stageEnteredAtMs: nowMs, pausedFrom: null },
          transition: { kind: 'rollback', decision: 'rollback', reasons: why(`rolled back by ${actor}`), actor },
        },
      };
    default:
      return assertNever(action, 'action');
  }
}
