import { describe, expect, it } from 'vitest';
import type { GatePhase, StageAssessment } from '../../../core/rollout/assess-stage.js';
import { applyAction, initialRamp, reconcileStep, type Phase, type RampState } from '../../../core/rollout/ramp.js';
import { aContract } from '../../support/window-builders.js';

const T0 = Date.UTC(2026, 0, 1);
const auto = aContract();
const manual = aContract({ advance: 'manual' });
/** spec.rollback.to: previous (the default is monitor). */
const previous: typeof auto = { ...auto, spec: { ...auto.spec, rollback: { ...auto.spec.rollback, to: 'previous' } } };

const assessment = (phase: GatePhase, decision: StageAssessment['decision'] = phase === 'passed' ? 'advance' : 'hold'): StageAssessment => ({
  phase,
  gates: [],
  decision,
  reasons: [`because ${phase}`],
});

const at = (stageIndex: number, phase: Phase): RampState => ({ ...initialRamp('shop-lockdown', 1, 'h', T0), stageIndex, phase });

describe('reconcileStep', () => {
  const cases: { name: string; state: RampState; a: StageAssessment; manual?: boolean; toPrevious?: boolean; stage: number; phase: Phase; decision: string | null }[] = [
    { name: 'auto advance', state: at(0, 'Observing'), a: assessment('passed'), stage: 1, phase: 'Observing', decision: 'advance' },
    { name: 'manual waits for approval', state: at(1, 'Observing'), a: assessment('passed'), manual: true, stage: 1, phase: 'AwaitingApproval', decision: 'hold' },
    { name: 'last stage completes', state: at(3, 'Observing'), a: assessment('passed'), stage: 3, phase: 'Complete', decision: 'advance' },
    { name: 'a failed gate blocks', state: at(0, 'Observing'), a: assessment('failed'), stage: 0, phase: 'Blocked', decision: 'hold' },
    { name: 'inconclusive holds quietly', state: at(0, 'Observing'), a: assessment('inconclusive'), stage: 0, phase: 'Observing', decision: null },
    { name: 'pending holds quietly', state: at(2, 'Observing'), a: assessment('pending'), stage: 2, phase: 'Observing', decision: null },
    { name: 'blocked recovers when the failure is gone', state: at(0, 'Blocked'), a: assessment('inconclusive'), stage: 0, phase: 'Observing', decision: 'hold' },
    { name: 'awaiting approval falls back when evidence goes stale', state: at(1, 'AwaitingApproval'), a: assessment('inconclusive'), manual: true, stage: 1, phase: 'Observing', decision: 'hold' },
    { name: 'rollback to monitor (the default target)', state: at(2, 'Observing'), a: assessment('passed', 'rollback'), stage: 0, phase: 'RolledBack', decision: 'rollback' },
    { name: 'rollback to the previous stage when rollback.to is previous', state: at(2, 'Observing'), a: assessment('passed', 'rollback'), toPrevious: true, stage: 1, phase: 'RolledBack', decision: 'rollback' },
    { name: 'rollback even while paused', state: at(2, 'Paused'), a: assessment('inconclusive', 'rollback'), stage: 0, phase: 'RolledBack', decision: 'rollback' },
    { name: 'rollback from complete', state: at(3, 'Complete'), a: assessment('passed', 'rollback'), stage: 0, phase: 'RolledBack', decision: 'rollback' },
    { name: 'rollback from complete, one stage back', state: at(3, 'Complete'), a: assessment('passed', 'rollback'), toPrevious: true, stage: 2, phase: 'RolledBack', decision: 'rollback' },
    { name: 'paused ignores passing gates', state: at(1, 'Paused'), a: assessment('passed'), stage: 1, phase: 'Paused', decision: null },
    { name: 'rolled back waits for resume', state: at(1, 'RolledBack'), a: assessment('passed'), stage: 1, phase: 'RolledBack', decision: null },
    { name: 'complete stays complete', state: at(3, 'Complete'), a: assessment('failed'), stage: 3, phase: 'Complete', decision: null },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const step = reconcileStep(c.state, c.manual ? manual : c.toPrevious ? previous : auto, c.a, T0 + 60_000);
      expect(step.next.stageIndex).toBe(c.stage);
      expect(step.next.phase).toBe(c.phase);
      expect(step.transition?.decision ?? null).toBe(c.decision);
      if (step.next.stageIndex !== c.state.stageIndex) expect(step.next.stageEnteredAtMs).toBe(T0 + 60_000);
      else expect(step.next.stageEnteredAtMs).toBe(c.state.stageEnteredAtMs);
      if (step.transition) expect(step.transition.reasons).toEqual(c.a.reasons);
    });
  }
});

describe('applyAction', () => {
  it('approve advances only from AwaitingApproval, and names the approver', () => {
    const ok = applyAction(at(1, 'AwaitingApproval'), manual, 'approve', 'alice', T0, null);
    expect(ok.ok && ok.step.next.stageIndex).toBe(2);
    expect(ok.ok && ok.step.transition?.actor).toBe('alice');
    const refused = applyAction(at(1, 'Observing'), manual, 'approve', 'alice', T0, null);
    expect(refused).toEqual({ ok: false, conflict: 'approve needs phase AwaitingApproval, the contract is Observing' });
  });

  it('approve at the last stage completes', () => {
    const r = applyAction(at(3, 'AwaitingApproval'), manual, 'approve', 'bob', T0, null);
    expect(r.ok && r.step.next.phase).toBe('Complete');
  });

  it('pause remembers the phase; resume goes back to Observing', () => {
    const p = applyAction(at(1, 'Blocked'), auto, 'pause', 'alice', T0, 'change freeze');
    expect(p.ok && p.step.next).toMatchObject({ phase: 'Paused', pausedFrom: 'Blocked' });
    expect(p.ok && p.step.transition?.reasons).toEqual(['change freeze']);
    const r = applyAction(p.ok ? p.step.next : at(0, 'Observing'), auto, 'resume', 'alice', T0, null);
    expect(r.ok && r.step.next).toMatchObject({ phase: 'Observing', pausedFrom: null, stageIndex: 1 });
    expect(applyAction(at(1, 'Complete'), auto, 'pause', 'a', T0, null).ok).toBe(false);
    expect(applyAction(at(1, 'Observing'), auto, 'resume', 'a', T0, null).ok).toBe(false);
  });

  it('rollback goes to monitor by default, one stage back with rollback.to previous, never below the first', () => {
    const r = applyAction(at(2, 'Observing'), auto, 'rollback', 'alice', T0 + 5, null);
    expect(r.ok && r.step.next).toMatchObject({ stageIndex: 0, phase: 'RolledBack', stageEnteredAtMs: T0 + 5 });
    const p = applyAction(at(2, 'Observing'), previous, 'rollback', 'alice', T0 + 5, null);
    expect(p.ok && p.step.next).toMatchObject({ stageIndex: 1, phase: 'RolledBack', stageEnteredAtMs: T0 + 5 });
    expect(applyAction(at(0, 'Observing'), auto, 'rollback', 'alice', T0, null).ok).toBe(false);
  });
});
