/**
 * The reconciler with the sufficiency service (controlplane/sufficiency) over a real traffic
 * map and inventory: history first, the CronJob schedule wait, workload coverage and the
 * inconclusive budget, pass by pass on a fake clock.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EMPTY_BASELINE, MapService } from '../../../controlplane/map/map-service.js';
import { StaticInventorySource } from '../../../controlplane/sufficiency/inventory-source.js';
import { SufficiencyService } from '../../../controlplane/sufficiency/sufficiency-service.js';
import { parseContract, type Contract } from '../../../core/contract/index.js';
import { buildInventory } from '../../../core/sufficiency/index.js';
import type { ObservedEdge } from '../../../core/summary/index.js';
import { silentLogger } from '../../../io/json-logger.js';
import { FakeClock } from '../../support/fake-clock.js';
import { aReconciler, ListSource } from '../../support/reconciler-harness.js';
import { aPeer, allowIngress, denyIngress } from '../../support/map-builders.js';
import { aContractWindow, aSummary } from '../../support/window-builders.js';

const DAY = 86_400_000;
const T0 = Date.parse('2026-12-06T17:01:30Z');

function contract(gates: Record<string, unknown> = {}): Contract {
  const r = parseContract({
    apiVersion: 'rampart.dev/v1alpha1',
    kind: 'RampContract',
    metadata: { name: 'payments-lockdown' },
    spec: {
      policies: [denyIngress('payments'), allowIngress('payments', 'ledger', 'payments-api', 5432)],
      rollout: { strategy: 'namespaces', stages: [{ name: 'monitor', minDuration: '30s' }, { name: 'payments', namespaces: ['payments'], minDuration: '30s' }] },
      gates: { minFlows: 10, minNodeCoverage: 0, maxReportAge: '10s', ...gates },
    },
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const invoiceCronJob = (createdAt: string) => ({
  object: {
    kind: 'CronJob',
    metadata: { name: 'invoice-job', namespace: 'payments', creationTimestamp: createdAt },
    spec: { schedule: '*/3 * * * *', jobTemplate: { spec: { template: { metadata: { labels: { app: 'invoice-job' } } } } } },
  },
  path: 'workloads.yaml',
});
const deployment = (ns: string, name: string) => ({ object: { kind: 'Deployment', metadata: { name, namespace: ns }, spec: { template: { metadata: { labels: { app: name } } } } }, path: 'workloads.yaml' });

function setup(inventoryObjects: { object: unknown; path: string }[] = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-suff-'));
  dirs.push(dir);
  const clock = new FakeClock(T0 - 7 * DAY);
  const map = new MapService({ stateDir: null, baseline: EMPTY_BASELINE, clock, log: silentLogger });
  const { inventory } = buildInventory(inventoryObjects, false);
  const source = new ListSource();
  const { store, r } = aReconciler(dir, { source, clock, initialGeneration: 100, sufficiency: new SufficiencyService({ map, inventory: new StaticInventorySource(inventory) }) });
  return { clock, store, map, source, r };
}

/**
 * A week of traffic, ingested a day at a time as agents would have sent it: a bench-sized map
 * (10,000 edges among 40 namespaces × 25 workloads) plus the payments edges, the invoicing
 * job's call to the ledger among them only on `jobDay` (days before T0), if given.
 */
function aWeekOfTraffic(t: ReturnType<typeof setup>, jobDay: number | null): void {
  const api = aPeer('payments', 'payments-api');
  const ledger = aPeer('payments', 'ledger');
  for (let d = 7; d >= 1; d--) {
    t.clock.set(T0 - d * DAY);
    const at = t.clock.nowMs();
    const edges: ObservedEdge[] = [{ from: api, to: ledger, port: 5432, protocol: 'TCP', count: 500, firstSeenMs: at, lastSeenMs: at }];
    if (d === jobDay) edges.push({ from: aPeer('payments', 'invoice-job'), to: ledger, port: 5432, protocol: 'TCP', count: 3, firstSeenMs: at, lastSeenMs: at });
    for (let i = 0; i < 10_000; i++) {
      const from = aPeer(`ns-${i % 40}`, `w-${Math.floor(i / 40) % 25}`);
      const to = aPeer(`ns-${(i * 7) % 40}`, `w-${(i * 3) % 25}`);
      edges.push({ from, to, port: 8000 + Math.floor(i / 1000), protocol: 'TCP', count: 1 + (i % 5), firstSeenMs: at, lastSeenMs: at });
    }
    t.map.map.ingest(edges, 0, at);
  }
  t.clock.set(T0);
}

let seq = 0;
function report(t: ReturnType<typeof setup>, o: { deny?: number } = {}): void {
  const view = t.r.get('payments-lockdown')!;
  t.clock.advance(1000);
  t.store.ingest(
    aSummary({ node: 'node-a', seq: ++seq, windowEndMs: t.clock.nowMs(), contracts: [aContractWindow({ contract: 'payments-lockdown', revision: view.state!.revision, stageIndex: view.state!.stageIndex, allow: 100, deny: o.deny ?? 0 })] }),
    t.clock.nowMs(),
  );
}

describe('history first', () => {
  it('a contract created after a week of traffic is Blocked on its first pass, before any live window, by an edge seen four days earlier', () => {
    const t = setup();
    aWeekOfTraffic(t, 4);
    expect(t.map.map.size).toBeGreaterThan(5000);
    t.source.entries = [{ name: 'payments-lockdown', origin: 'test.yaml', contract: contract(), problems: [] }];
    t.r.reconcileAll();
    const v = t.r.get('payments-lockdown')!;
    expect(v.state?.phase).toBe('Blocked');
    expect(v.evidence.windows).toBe(0);
    expect(v.decision.reasons[0]).toMatch(/^failed: history: would-deny 3 > 0 on 1 edge\(s\) seen in the 168h before this revision; top edge payments\/invoice-job → payments\/ledger:5432\/TCP \(3, last seen 2026-12-02T17:01:30Z\)/);
    expect(v.sufficiency?.history).toMatchObject({ wouldDeny: 3, wouldDenyEdges: 1, toMs: T0 });
    expect(v.sufficiency!.history!.edges).toBeGreaterThan(5000);
    // Kept apart from the live evidence: the stage's own counts are untouched.
    expect(v.evidence.deny).toBe(0);
  });

  it('a week without the forgotten edge passes the history gate, and historyWindow 0 switches it off', () => {
    const t = setup();
    aWeekOfTraffic(t, null);
    t.source.entries = [{ name: 'payments-lockdown', origin: 'test.yaml', contract: contract(), problems: [] }];
    t.r.reconcileAll();
    const g = t.r.get('payments-lockdown')!.assessment!.gates.find((x) => x.gate === 'history');
    expect(g).toMatchObject({ phase: 'passed' });
    expect(g!.message).toContain('would-deny 0 on');

    const off = setup();
    aWeekOfTraffic(off, 4);
    off.source.entries = [{ name: 'payments-lockdown', origin: 'test.yaml', contract: contract({ historyWindow: '0' }), problems: [] }];
    off.r.reconcileAll();
    expect(off.r.get('payments-lockdown')!.state?.phase).toBe('Observing');
    expect(off.r.get('payments-lockdown')!.sufficiency?.history).toBeNull();
  });

  it('a window shorter than the edge’s age does not see it', () => {
    const t = setup();
    aWeekOfTraffic(t, 4);
    t.source.entries = [{ name: 'payments-lockdown', origin: 'test.yaml', contract: contract({ historyWindow: '3d' }), problems: [] }];
    t.r.reconcileAll();
    expect(t.r.get('payments-lockdown')!.state?.phase).toBe('Observing');
  });
});

describe('CronJob schedules', () => {
  it('holds the monitor stage for a CronJob that has not run, naming its next run; after the run the live would-deny blocks', () => {
    const t = setup([invoiceCronJob('2026-12-06T17:00:00Z'), deployment('payments', 'ledger')]);
    aWeekOfTraffic(t, null);
    t.source.entries = [{ name: 'payments-lockdown', origin: 'test.yaml', contract: contract(), problems: [] }];
    t.r.reconcileAll();
    for (let i = 0; i < 40; i++) report(t); // 40 s of clean windows: past minDuration and minFlows
    t.r.reconcileAll();
    let v = t.r.get('payments-lockdown')!;
    expect(v.state?.phase).toBe('Observing');
    expect(v.decision.reasons).toEqual(['inconclusive: waiting for CronJob payments/invoice-job (next run 2026-12-06T17:03:00Z)']);
    expect(v.sufficiency?.waitingFor).toEqual(['waiting for CronJob payments/invoice-job (next run 2026-12-06T17:03:00Z)']);
    // The run at 17:03:00: its connection is a would-deny in the live windows.
    t.clock.set(Date.parse('2026-12-06T17:03:00Z'));
    report(t, { deny: 3 });
    t.r.reconcileAll();
    v = t.r.get('payments-lockdown')!;
    expect(v.state?.phase).toBe('Blocked');
    expect(v.decision.reasons[0]).toMatch(/^failed: would-deny 3 > 0/);
  });

  it('a CronJob whose run has settled in the stage lets a clean stage advance', () => {
    const t = setup([invoiceCronJob('2026-12-06T17:00:00Z')]);
    t.clock.set(T0);
    t.source.entries = [{ name: 'payments-lockdown', origin: 'test.yaml', contract: contract(), problems: [] }];
    t.r.reconcileAll();
    for (let i = 0; i < 110; i++) report(t); // to 17:03:20: the 17:03:00 run plus maxReportAge 10s
    t.r.reconcileAll();
    const v = t.r.get('payments-lockdown')!;
    expect(v.decision.reasons).toEqual(['all gates passed']);
    expect(v.state?.stageIndex).toBe(1);
  });
});

describe('workload coverage and the inconclusive budget', () => {
  it('names the silent selected workloads; past maxInconclusive the stage is Blocked with the reasons', () => {
    const t = setup([deployment('payments', 'ledger'), deployment('payments', 'notifier'), deployment('shop', 'frontend')]);
    aWeekOfTraffic(t, null);
    t.source.entries = [{ name: 'payments-lockdown', origin: 'test.yaml', contract: contract({ minWorkloadCoverage: 1, maxInconclusive: '1m' }), problems: [] }];
    t.r.reconcileAll();
    for (let i = 0; i < 40; i++) report(t);
    t.r.reconcileAll();
    let v = t.r.get('payments-lockdown')!;
    expect(v.state?.phase).toBe('Observing');
    expect(v.decision.reasons).toEqual(['inconclusive: workload coverage 2/3 (66.7%) < 100%; silent: payments/notifier']);
    expect(v.sufficiency?.silentWorkloads).toEqual(['payments/notifier']);
    for (let i = 0; i < 25; i++) report(t);
    t.r.reconcileAll();
    v = t.r.get('payments-lockdown')!;
    expect(v.state?.phase).toBe('Blocked');
    expect(v.decision.reasons[0]).toBe('failed: inconclusive for 65s > maxInconclusive 1m: workload coverage 2/3 (66.7%) < 100%; silent: payments/notifier');
  });
});
