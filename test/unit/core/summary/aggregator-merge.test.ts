import { describe, expect, it } from 'vitest';
import { mergeSummaries, WindowAggregator, workloadOf, type WindowSummary } from '../../../../core/summary/index.js';
import { aFlow, aPod, anExternal, aReserved } from '../../../support/builders.js';

const contract = { contract: 'c1', revision: 2, stageIndex: 0, stageName: 'monitor' };

function newAggregator(topK = 100): WindowAggregator {
  return new WindowAggregator({ node: 'n1', bootId: 'b1', topK, sampleOf: (f) => `sample@${f.timeMs}` }, 1000);
}

describe('workloadOf', () => {
  it('names workloads from Hubble workloads, then labels; never pods or IPs', () => {
    expect(workloadOf(aPod({ namespace: 'shop', labels: { app: 'api' }, workloads: [{ name: 'api-deploy', kind: 'Deployment' }] }))).toEqual({ namespace: 'shop', workload: 'api-deploy' });
    expect(workloadOf(aPod({ namespace: 'shop', labels: { 'k8s-app': 'dns' } }))).toEqual({ namespace: 'shop', workload: 'dns' });
    expect(workloadOf(aPod({ namespace: 'shop', labels: { tier: 'x' }, name: 'pod-abc' })).workload).toBe('(unlabelled)');
    expect(workloadOf(anExternal({ cidr: '1.2.3.4/32' }))).toEqual({ namespace: '', workload: 'world' });
    expect(workloadOf(aReserved('host'))).toEqual({ namespace: '', workload: 'reserved:host' });
  });
});

describe('WindowAggregator', () => {
  it('counts per side and verdict, keeps would-deny edges, and starts a fresh window on flush', () => {
    const agg = newAggregator();
    const c = agg.contract(contract);
    const f = aFlow({ timeMs: 5000 });
    c.addEvaluation('egress', 'allow', f);
    c.addEvaluation('ingress', 'deny', f);
    c.addEvaluation('ingress', 'deny', aFlow({ timeMs: 6000 }));
    c.addEvaluation('egress', 'indeterminate', f);
    c.addActualDeny('ingress', f);
    agg.noteFlowSeen();
    agg.noteConnection();
    agg.noteLost('HUBBLE_RING_BUFFER', 2);
    const s = agg.flush({ windowEndMs: 11_000, contractsGeneration: 3, hubbleConnected: true });
    expect(s).toMatchObject({ node: 'n1', bootId: 'b1', seq: 0, windowStartMs: 1000, windowEndMs: 11_000, mergedWindows: 1, contractsGeneration: 3 });
    expect(s.hubble).toEqual({ flowsSeen: 1, connections: 1, lost: { HUBBLE_RING_BUFFER: 2 }, reconnects: 0, connected: true });
    const w = s.contracts[0]!;
    expect(w.egress).toEqual({ allow: 1, deny: 0, indeterminate: 1 });
    expect(w.ingress).toEqual({ allow: 0, deny: 2, indeterminate: 0 });
    expect(w.actualDenies).toBe(1);
    expect(w.wouldDenyEdges).toEqual([
      expect.objectContaining({ fromWorkload: 'client', toWorkload: 'server', port: 8080, protocol: 'TCP', side: 'ingress', count: 2, firstSeenMs: 5000, lastSeenMs: 6000, sampleFlowJson: 'sample@5000' }),
    ]);
    const next = agg.flush({ windowEndMs: 21_000, contractsGeneration: 3, hubbleConnected: true });
    expect(next.windowStartMs).toBe(11_000);
    expect(next.contracts).toEqual([]);
    expect(next.hubble.flowsSeen).toBe(0);
  });

  it('marks a window disconnected when Hubble went down during it', () => {
    const agg = newAggregator();
    agg.noteDisconnected();
    expect(agg.flush({ windowEndMs: 2000, contractsGeneration: 0, hubbleConnected: true }).hubble.connected).toBe(false);
    expect(agg.flush({ windowEndMs: 3000, contractsGeneration: 0, hubbleConnected: true }).hubble.connected).toBe(true);
  });
});

describe('mergeSummaries', () => {
  function windowWith(deny: number, workloads: string[], start: number): WindowSummary {
    const agg = new WindowAggregator({ node: 'n1', bootId: 'b1', topK: 3, sampleOf: () => '' }, start);
    const c = agg.contract(contract);
    for (let i = 0; i < deny; i++) {
      const wl = workloads[i % workloads.length]!;
      c.addEvaluation('egress', 'deny', aFlow({ timeMs: start + i, source: aPod({ labels: { app: wl } }) }));
    }
    c.addEvaluation('ingress', 'allow', aFlow());
    agg.noteLost('PERF_EVENT_RING_BUFFER', 1);
    agg.noteFlowSeen();
    return agg.flush({ windowEndMs: start + 10_000, contractsGeneration: 1, hubbleConnected: true });
  }

  it('adds every count and keeps edges plus overflow equal to the would-deny total', () => {
    const a = windowWith(10, ['x', 'y', 'z'], 0); // x 4, y 3, z 3
    const b = windowWith(7, ['x', 'p'], 10_000); // x 4, p 3
    const m = mergeSummaries(a, b, 3);
    expect(m).toMatchObject({ windowStartMs: 0, windowEndMs: 20_000, mergedWindows: 2 });
    expect(m.hubble.lost).toEqual({ PERF_EVENT_RING_BUFFER: 2 });
    expect(m.hubble.flowsSeen).toBe(2);
    const w = m.contracts[0]!;
    expect(w.egress.deny).toBe(17);
    expect(w.ingress.allow).toBe(2);
    expect(w.wouldDenyEdges.length).toBeLessThanOrEqual(3);
    expect(w.wouldDenyEdges.reduce((n, e) => n + e.count, 0) + w.wouldDenyEdgesOverflow).toBe(17);
    expect(w.wouldDenyEdges[0]).toMatchObject({ fromWorkload: 'x', count: 8 });
    expect(w.wouldDenyEdgesOverflow).toBe(3); // one of the four 3-count edges did not fit
  });

  it('keeps windows of different stages apart', () => {
    const a = windowWith(1, ['x'], 0);
    const b = { ...windowWith(1, ['x'], 10_000) };
    const other = { ...b, contracts: b.contracts.map((c) => ({ ...c, stageIndex: 1, stageName: 'canary' })) };
    expect(mergeSummaries(a, other).contracts.map((c) => c.stageName)).toEqual(['monitor', 'canary']);
  });
});
