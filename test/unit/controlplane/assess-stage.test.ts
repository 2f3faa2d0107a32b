import { describe, expect, it } from 'vitest';
import { assessStage, formatPercent, worstPhase, type AssessInput } from '../../../core/rollout/assess-stage.js';
import { EMPTY_EVIDENCE, type StageEvidence } from '../../../core/rollout/evidence.js';
import { aContract } from '../../support/window-builders.js';

const T0 = Date.UTC(2026, 0, 1);

/** Evidence that passes every gate of aContract({ minDuration: '1s' }). */
const good: StageEvidence = {
  ...EMPTY_EVIDENCE,
  windows: 6,
  flows: 1000,
  allow: 1000,
  flowsSeen: 5000,
  nodes: { expected: ['node-a', 'node-b'], reporting: ['node-a', 'node-b'], silent: [] },
};

const input = (evidence: Partial<StageEvidence>, o: { stageIndex?: number; elapsedMs?: number; contract?: Parameters<typeof aContract>[0] } = {}): AssessInput => ({
  contract: aContract({ minDuration: '1s', maxWouldDenyRatio: 0.001, maxWouldDeny: null, ...o.contract }),
  stageIndex: o.stageIndex ?? 0,
  stageEnteredAtMs: T0,
  nowMs: T0 + (o.elapsedMs ?? 5000),
  evidence: { ...good, ...evidence },
});

const edge = { from: 'shop/frontend', to: 'payments/db', port: 5432, protocol: 'TCP', side: 'ingress' as const, count: 312 };

describe('assessStage', () => {
  it('advances when every gate passes', () => {
    const a = assessStage(input({}));
    expect(a.phase).toBe('passed');
    expect(a.decision).toBe('advance');
    expect(a.gates.every((g) => g.phase === 'passed')).toBe(true);
  });

  const cases: { name: string; evidence: Partial<StageEvidence>; elapsedMs?: number; phase: string; gate: string; reason: RegExp }[] = [
    { name: 'no window reports', evidence: { windows: 0, flows: 0, allow: 0 }, phase: 'inconclusive', gate: 'evidence', reason: /no evidence: no window report for stage monitor/ },
    { name: 'too few flows', evidence: { flows: 5, allow: 5 }, phase: 'inconclusive', gate: 'minFlows', reason: /evaluated flows 5 < 10 minimum/ },
    {
      name: 'would-deny ratio over the limit names the numbers and the top edge',
      evidence: { flows: 78_000, allow: 77_688, deny: 312, topWouldDenyEdges: [edge] },
      phase: 'failed',
      gate: 'maxWouldDenyRatio',
      reason: /would-deny ratio 0\.4% > 0\.1%; top edge shop\/frontend → payments\/db:5432\/TCP \(312\)/,
    },
    {
      name: 'a silent node counts against coverage',
      evidence: { nodes: { expected: ['node-a', 'node-b'], reporting: ['node-a'], silent: [{ node: 'node-b', lastReportAgeMs: 45_000 }] } },
      phase: 'inconclusive',
      gate: 'minNodeCoverage',
      reason: /node coverage 1\/2 \(50%\) < 100%; not reporting: node-b \(silent 45s\)/,
    },
    { name: 'no expected nodes', evidence: { nodes: { expected: [], reporting: [], silent: [] } }, phase: 'inconclusive', gate: 'minNodeCoverage', reason: /no expected nodes/ },
    { name: 'lost events above the threshold', evidence: { lostEvents: 120, flowsSeen: 6000 }, phase: 'inconclusive', gate: 'maxLostEventsRatio', reason: /lost events ratio 2% > 0\.1% \(120 lost of 6000 seen\)/ },
    { name: 'lost events with no flows seen', evidence: { lostEvents: 3, flowsSeen: 0 }, phase: 'inconclusive', gate: 'maxLostEventsRatio', reason: /lost events 3 with no flows seen/ },
    { name: 'minDuration not elapsed', evidence: {}, elapsedMs: 400, phase: 'pending', gate: 'minDuration', reason: /time in stage 0s < minDuration 1s/ },
  ];
  for (const c of cases) {
    it(`holds: ${c.name}`, () => {
      const a = assessStage(input(c.evidence, { elapsedMs: c.elapsedMs }));
      expect(a.phase).toBe(c.phase);
      expect(a.decision).toBe('hold');
      expect(a.gates.find((g) => g.gate === c.gate)?.phase).toBe(c.phase);
      expect(a.reasons.join('\n')).toMatch(c.reason);
    });
  }

  it('fails on the would-deny count even with few flows', () => {
    const a = assessStage(input({ flows: 3, allow: 2, deny: 1, topWouldDenyEdges: [{ ...edge, count: 1 }] }, { contract: { maxWouldDeny: 0 } }));
    expect(a.phase).toBe('failed');
    expect(a.reasons[0]).toMatch(/^failed: would-deny 1 > 0; top edge shop\/frontend → payments\/db:5432\/TCP \(1\)/);
  });

  it('the worst phase wins and is listed first', () => {
    const a = assessStage(input({ windows: 1, flows: 5, allow: 4, deny: 1 }, { elapsedMs: 100 }));
    expect(a.phase).toBe('failed');
    expect(a.reasons[0]).toMatch(/^failed:/);
    expect(a.reasons.at(-1)).toMatch(/^pending:/);
  });

  it('rolls back on actual denies above spec.rollback in an enforced stage', () => {
    const a = assessStage(input({ actualDenies: 40, actualDeniesLastMinute: 11, topActualDenyEdges: [{ ...edge, count: 11 }] }, { stageIndex: 1 }));
    expect(a.decision).toBe('rollback');
    expect(a.reasons[0]).toBe('actual denies 11/min > 10/min in enforced stage canary; top edge shop/frontend → payments/db:5432/TCP (11)');
  });

  it('does not roll back at the limit, nor in monitor, nor without a limit', () => {
    expect(assessStage(input({ actualDeniesLastMinute: 10 }, { stageIndex: 1 })).decision).toBe('advance');
    expect(assessStage(input({ actualDeniesLastMinute: 50 }, { stageIndex: 0 })).decision).toBe('advance');
    expect(assessStage(input({ actualDeniesLastMinute: 50 }, { stageIndex: 2, contract: { maxActualDeniesPerMinute: null } })).decision).toBe('advance');
  });

  it('a stage index outside the contract is an error, never an advance', () => {
    const a = assessStage(input({}, { stageIndex: 9 }));
    expect(a.phase).toBe('error');
    expect(a.decision).toBe('hold');
  });
});

describe('helpers', () => {
  it('worstPhase orders passed < pending < inconclusive < error < failed', () => {
    expect(worstPhase([])).toBe('passed');
    expect(worstPhase(['passed', 'pending'])).toBe('pending');
    expect(worstPhase(['inconclusive', 'pending'])).toBe('inconclusive');
    expect(worstPhase(['error', 'inconclusive'])).toBe('error');
    expect(worstPhase(['failed', 'error', 'passed'])).toBe('failed');
  });

  it('formatPercent keeps three significant digits', () => {
    expect(formatPercent(0.004)).toBe('0.4%');
    expect(formatPercent(0.001)).toBe('0.1%');
    expect(formatPercent(2 / 3)).toBe('66.7%');
    expect(formatPercent(1)).toBe('100%');
  });
});
