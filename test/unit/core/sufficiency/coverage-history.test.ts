import { describe, expect, it } from 'vitest';
import { MapJudge } from '../../../../core/map/index.js';
import { assessHistory, assessInconclusiveBudget, assessWorkloadCoverage, judgeHistory, PodSelection, selectedWorkloads, type HistoryEdge } from '../../../../core/sufficiency/index.js';
import { parsePolicy } from '../../../../core/policy/index.js';
import { aPeer, allowIngress, denyIngress, policy } from '../../../support/map-builders.js';

const DAY = 86_400_000;
const NOW = Date.parse('2026-12-06T17:00:00Z');

describe('workload coverage', () => {
  it('counts the selected workloads seen with traffic and names the silent ones', () => {
    const sel = new PodSelection([policy(denyIngress('payments'))]);
    const selected = selectedWorkloads(sel, [
      { namespace: 'payments', name: 'ledger', kind: 'StatefulSet', podLabels: { app: 'ledger' } },
      { namespace: 'payments', name: 'notifier', kind: 'Deployment', podLabels: { app: 'notifier' } },
      { namespace: 'payments', name: 'invoice-job', kind: 'CronJob', podLabels: { app: 'invoice-job' } },
      { namespace: 'shop', name: 'frontend', kind: 'Deployment', podLabels: { app: 'frontend' } },
    ]).map((w) => `${w.namespace}/${w.name}`);
    expect(selected).toEqual(['payments/invoice-job', 'payments/ledger', 'payments/notifier']);
    const g = assessWorkloadCoverage(selected, new Set(['payments/ledger']), 0.5);
    expect(g).toMatchObject({ phase: 'inconclusive', silent: ['payments/invoice-job', 'payments/notifier'] });
    expect(g.message).toBe('workload coverage 1/3 (33.3%) < 50%; silent: payments/invoice-job, payments/notifier');
    expect(assessWorkloadCoverage(selected, new Set(['payments/ledger', 'payments/notifier']), 0.5).phase).toBe('passed');
    expect(assessWorkloadCoverage([], new Set(), 0.5).phase).toBe('inconclusive');
  });
});

describe('workload coverage of Cilium policies', () => {
  it('counts the workloads a CNP endpointSelector selects', () => {
    const r = parsePolicy({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'lock', namespace: 'payments' }, spec: { endpointSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['ledger', 'invoice-job'] }] }, ingress: [{}] } }, 'test');
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    const selected = selectedWorkloads(new PodSelection([r.value]), [
      { namespace: 'payments', name: 'ledger', kind: 'StatefulSet', podLabels: { app: 'ledger' } },
      { namespace: 'payments', name: 'notifier', kind: 'Deployment', podLabels: { app: 'notifier' } },
      { namespace: 'payments', name: 'invoice-job', kind: 'CronJob', podLabels: { app: 'invoice-job' } },
      { namespace: 'shop', name: 'ledger', kind: 'Deployment', podLabels: { app: 'ledger' } },
    ]).map((w) => `${w.namespace}/${w.name}`);
    expect(selected).toEqual(['payments/invoice-job', 'payments/ledger']);
    expect(assessWorkloadCoverage(selected, new Set(['payments/ledger']), 1)).toMatchObject({ phase: 'inconclusive', silent: ['payments/invoice-job'] });
  });
});

describe('the inconclusive budget', () => {
  const gates = [
    { phase: 'passed', message: 'would-deny 0 <= 0' },
    { phase: 'inconclusive', message: 'waiting for CronJob payments/invoice-job (next run 2026-12-07T02:00:00Z)' },
  ];
  it('blocks a stage still inconclusive past maxInconclusive after its entry, with the reasons', () => {
    const b = assessInconclusiveBudget(gates, NOW - 3_600_000 - 1000, NOW, 3_600_000);
    expect(b).toEqual({ gate: 'maxInconclusive', phase: 'failed', message: 'inconclusive for 3601s > maxInconclusive 1h: waiting for CronJob payments/invoice-job (next run 2026-12-07T02:00:00Z)' });
  });
  it('says nothing within the budget, without one, when nothing is inconclusive, or when a gate failed already', () => {
    expect(assessInconclusiveBudget(gates, NOW - 3_600_000, NOW, 3_600_000)).toBeNull();
    expect(assessInconclusiveBudget(gates, 0, NOW, null)).toBeNull();
    expect(assessInconclusiveBudget([gates[0]!], 0, NOW, 1000)).toBeNull();
    expect(assessInconclusiveBudget([...gates, { phase: 'failed', message: 'x' }], 0, NOW, 1000)).toBeNull();
  });
});

describe('history first', () => {
  const invoice = aPeer('payments', 'invoice-job');
  const ledger = aPeer('payments', 'ledger');
  const api = aPeer('payments', 'payments-api');
  const edges: HistoryEdge[] = [
    { from: api, to: ledger, port: 5432, protocol: 'TCP', count: 5000, lastSeenMs: NOW - 60_000 },
    { from: invoice, to: ledger, port: 5432, protocol: 'TCP', count: 21, lastSeenMs: NOW - 4 * DAY },
  ];
  const judge = MapJudge.forContract({ baseline: [], proposed: [policy(denyIngress('payments')), policy(allowIngress('payments', 'ledger', 'payments-api', 5432))] });

  it('judges the edges of the window: the job edge seen days ago is would-deny, named with when it was last seen', () => {
    const h = judgeHistory(edges, (e) => judge.judge(e), NOW - 7 * DAY, NOW);
    expect(h).toMatchObject({ edges: 2, connections: 5021, wouldDeny: 21, wouldDenyEdges: 1, indeterminateEdges: 0 });
    expect(h.top.map((e) => `${e.from} → ${e.to}`)).toEqual(['payments/invoice-job → payments/ledger']);
    const g = assessHistory(h, 0);
    expect(g.phase).toBe('failed');
    expect(g.message).toBe('history: would-deny 21 > 0 on 1 edge(s) seen in the 168h before this revision; top edge payments/invoice-job → payments/ledger:5432/TCP (21, last seen 2026-12-02T17:00:00Z)');
  });

  it('passes when nothing in history would be denied, or when the limit is off, or when history is off', () => {
    const clean = judgeHistory([edges[0]!], (e) => judge.judge(e), NOW - DAY, NOW);
    expect(assessHistory(clean, 0)).toMatchObject({ phase: 'passed', message: 'history: would-deny 0 on 1 edge(s) (5000 connections) seen in the 24h before this revision' });
    expect(assessHistory(judgeHistory(edges, (e) => judge.judge(e), NOW - DAY, NOW), null).phase).toBe('passed');
    expect(assessHistory(null, 0).phase).toBe('passed');
  });
});
