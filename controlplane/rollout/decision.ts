/**
 * What the API shows as a contract's decision on a pass: the transition's when one was made,
 * else what the evidence says given the phase (a paused or rolled-back ramp holds whatever
 * the gates say).
 */
import { assertNever } from '../../core/common/index.js';
import type { ContractDecision, RampState, StageAssessment, Transition } from '../../core/rollout/index.js';

export function describeDecision(state: RampState, a: StageAssessment, t: Transition | null, nowMs: number): ContractDecision {
  if (t) return { kind: t.decision, reasons: t.reasons, atMs: nowMs };
  switch (state.phase) {
    case 'Complete':
      return { kind: 'advance', reasons: ['complete: every stage passed'], atMs: nowMs };
    case 'Paused':
      return { kind: 'hold', reasons: ['paused: resume to continue', ...a.reasons], atMs: nowMs };
    case 'RolledBack':
      return { kind: 'hold', reasons: ['rolled back: resume to continue', ...a.reasons], atMs: nowMs };
    case 'AwaitingApproval':
      return { kind: 'hold', reasons: ['awaiting approval: all gates passed'], atMs: nowMs };
    case 'Observing':
    case 'Blocked':
      return { kind: a.decision, reasons: a.reasons, atMs: nowMs };
    default:
      return assertNever(state.phase, 'phase');
  }
}
