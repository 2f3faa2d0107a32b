import { describe, expect, it } from 'vitest';
import { EvidenceStore } from '../../../controlplane/ingest/evidence-store.js';
import type { CoverageOptions } from '../../../controlplane/ingest/node-liveness.js';
import { aContractWindow, aSummary, anEdge } from '../../support/window-builders.js';

const T0 = Date.UTC(2026, 0, 1);
const cov = (nowMs: number, o: Partial<CoverageOptions> = {}): CoverageOptions => ({ nowMs, maxReportAgeMs: 30_000, configuredNodes: [], expectedNodeTtlMs: 600_000, ...o });

function storeAtMonitor(): EvidenceStore {
  const s = new EvidenceStore();
  s.beginStage('shop-lockdown', 1, 0, T0 - 60_000);
  return s;
}

describe('EvidenceStore', () => {
  it('sums evaluated connection-sides per stage over nodes', () => {
    const s = storeAtMonitor();
    s.ingest(aSummary({ node: 'node-a', windowEndMs: T0, contracts: [aContractWindow({ allow: 90, deny: 3, indeterminate: 2 })] }), T0);
    s.ingest(aSummary({ node: 'node-b', windowEndMs: T0, flowsSeen: 500, lost: { HUBBLE_RING_BUFFER: 7 }, contracts: [aContractWindow({ allow: 10 })] }), T0);
    const e = s.evidence('shop-lockdown', 1, 0, cov(T0));
    expect(e).toMatchObject({ windows: 2, flows: 105, allow: 100, deny: 3, indeterminate: 2, lostEvents: 7, flowsSeen: 1500 });
    expect(e.nodes).toEqual({ expected: ['node-a', 'node-b'], reporting: ['node-a', 'node-b'], silent: [] });
  });

  it('classifies stale revisions, other stages and unknown contracts, and ignores them', () => {
    const s = storeAtMonitor();
    const out = s.ingest(
      aSummary({
        contracts: [
          aContractWindow({ revision: 0 }),
          aContractWindow({ stageIndex: 1, stageName: 'canary' }),
          aContractWindow({ contract: 'other' }),
          aContractWindow({ allow: 5 }),
        ],
      }),
      T0,
    );
    expect(out).toMatchObject({ current: 1, staleRevision: 1, otherStage: 1, unknownContract: 1, touched: ['shop-lockdown'] });
    expect(s.evidence('shop-lockdown', 1, 0, cov(T0)).flows).toBe(5);
  });

  it('a new stage (or revision) starts from nothing; windows ending before the stage began are not counted', () => {
    const s = storeAtMonitor();
    s.ingest(aSummary({ windowEndMs: T0 }), T0);
    s.beginStage('shop-lockdown', 2, 0, T0 + 1000);
    expect(s.evidence('shop-lockdown', 2, 0, cov(T0 + 1000)).flows).toBe(0);
    const late = s.ingest(aSummary({ windowEndMs: T0 + 500, contracts: [aContractWindow({ revision: 2 })] }), T0 + 1500);
    expect(late.current).toBe(0);
    s.ingest(aSummary({ windowEndMs: T0 + 2000, contracts: [aContractWindow({ revision: 2, allow: 7 })] }), T0 + 2000);
    expect(s.evidence('shop-lockdown', 2, 0, cov(T0 + 2000)).flows).toBe(7);
    expect(s.classify(aContractWindow({ revision: 1 }))).toBe('stale-revision');
  });

  it('a node that stops reporting (or lost Hubble) counts against coverage; configured nodes that never reported too', () => {
    const s = storeAtMonitor();
    s.ingest(aSummary({ node: 'node-a' }), T0);
    s.ingest(aSummary({ node: 'node-b' }), T0 + 25_000);
    s.ingest(aSummary({ node: 'node-c', connected: false }), T0 + 25_000);
    const c = s.coverage(cov(T0 + 40_000));
    expect(c.reporting).toEqual(['node-b']);
    expect(c.silent).toEqual([
      { node: 'node-a', lastReportAgeMs: 40_000 },
      { node: 'node-c', lastReportAgeMs: 15_000 },
    ]);
    const configured = s.coverage(cov(T0 + 26_000, { configuredNodes: ['node-b', 'node-z'] }));
    expect(configured).toEqual({ expected: ['node-b', 'node-z'], reporting: ['node-b'], silent: [{ node: 'node-z', lastReportAgeMs: null }] });
  });

  it('forgets nodes not seen within the TTL unless still connected', () => {
    const s = storeAtMonitor();
    s.ingest(aSummary({ node: 'gone' }), T0);
    s.nodeConnected('idle', T0);
    expect(s.coverage(cov(T0 + 700_000)).expected).toEqual(['idle']);
    s.nodeDisconnected('idle', T0 + 1);
    expect(s.coverage(cov(T0 + 700_000)).expected).toEqual([]);
  });

  it('aggregates edges, reports each new one once, largest first', () => {
    const s = storeAtMonitor();
    const first = s.ingest(aSummary({ contracts: [aContractWindow({ deny: 3, wouldDenyEdges: [anEdge({ count: 3 })] })] }), T0);
    expect(first.newEdges).toHaveLength(1);
    expect(first.newEdges[0]).toMatchObject({ kind: 'would-deny', edge: { from: 'shop/frontend', to: 'payments/db', port: 5432, count: 3 } });
    const second = s.ingest(
      aSummary({ seq: 2, contracts: [aContractWindow({ deny: 9, wouldDenyEdges: [anEdge({ count: 4 }), anEdge({ toWorkload: 'cache', port: 6379, count: 5 })] })] }),
      T0,
    );
    expect(second.newEdges.map((n) => n.edge.to)).toEqual(['payments/cache']);
    const e = s.evidence('shop-lockdown', 1, 0, cov(T0));
    expect(e.topWouldDenyEdges.map((x) => [x.to, x.count])).toEqual([
      ['payments/db', 7],
      ['payments/cache', 5],
    ]);
  });

  it('counts actual denies of the last minute by arrival time, and rates over ten seconds', () => {
    const s = storeAtMonitor();
    s.ingest(aSummary({ contracts: [aContractWindow({ actualDenies: 5 })] }), T0);
    s.ingest(aSummary({ seq: 2, contracts: [aContractWindow({ actualDenies: 8, allow: 50 })] }), T0 + 50_000);
    expect(s.evidence('shop-lockdown', 1, 0, cov(T0 + 55_000)).actualDeniesLastMinute).toBe(13);
    const later = s.evidence('shop-lockdown', 1, 0, cov(T0 + 70_000));
    expect(later.actualDeniesLastMinute).toBe(8);
    expect(later.actualDenies).toBe(13);
    expect(s.rates('shop-lockdown', T0 + 55_000)).toMatchObject({ flowsPerSecond: 5, actualDeniesPerSecond: 0.8 });
  });

  it('hands each arrival to the decision-latency measurement once', () => {
    const s = storeAtMonitor();
    s.ingest(aSummary(), T0);
    s.ingest(aSummary({ seq: 2 }), T0 + 5);
    expect(s.takeArrivals('shop-lockdown')).toEqual([T0, T0 + 5]);
    expect(s.takeArrivals('shop-lockdown')).toEqual([]);
  });
});

describe('windows of a stage not opened yet (a standby following the leader)', () => {
  it('are held and counted once when the stage opens, never counted twice, and never for a stage that ended earlier', () => {
    const store = new EvidenceStore();
    const t0 = 1_000_000;
    // The standby has not opened the stage yet: the leader's status lags behind the agents.
    for (let i = 1; i <= 3; i++) store.ingest(aSummary({ node: 'node-a', seq: i, windowEndMs: t0 + i * 1000, contracts: [aContractWindow({ revision: 2, stageIndex: 1, allow: 100 })] }), t0 + i * 1000);
    expect(store.evidence('shop-lockdown', 2, 1, cov(t0 + 4000)).windows).toBe(0);
    store.beginStage('shop-lockdown', 2, 1, t0);
    expect(store.evidence('shop-lockdown', 2, 1, cov(t0 + 4000))).toMatchObject({ windows: 3, allow: 300 });
    // Opening it again (the same stage and start, as a new leader does) keeps the count: nothing replayed twice.
    store.beginStage('shop-lockdown', 2, 1, t0);
    expect(store.evidence('shop-lockdown', 2, 1, cov(t0 + 4000)).windows).toBe(3);
    // Held windows of the next stage wait for it; those of an older revision are dropped.
    store.ingest(aSummary({ node: 'node-a', seq: 4, windowEndMs: t0 + 5000, contracts: [aContractWindow({ revision: 2, stageIndex: 2, allow: 7 })] }), t0 + 5000);
    store.ingest(aSummary({ node: 'node-a', seq: 5, windowEndMs: t0 + 5000, contracts: [aContractWindow({ revision: 1, stageIndex: 2, allow: 9 })] }), t0 + 5000);
    store.beginStage('shop-lockdown', 2, 2, t0 + 4500);
    expect(store.evidence('shop-lockdown', 2, 2, cov(t0 + 6000))).toMatchObject({ windows: 1, allow: 7 });
  });

  it('count a held window with the merged windows, flows seen and lost events of its report (kept without the report)', () => {
    const store = new EvidenceStore();
    const t0 = 1_000_000;
    const report = { ...aSummary({ node: 'node-a', seq: 1, windowEndMs: t0 + 1000, flowsSeen: 640, lost: { HUBBLE_RING_BUFFER: 4, OBSERVER_EVENTS_QUEUE: 3 }, contracts: [aContractWindow({ revision: 2, stageIndex: 1, allow: 11 })] }), mergedWindows: 3 };
    store.ingest(report, t0 + 1000);
    store.beginStage('shop-lockdown', 2, 1, t0);
    expect(store.evidence('shop-lockdown', 2, 1, cov(t0 + 2000))).toMatchObject({ windows: 3, allow: 11, flowsSeen: 640, lostEvents: 7 });
  });
});
