import { describe, expect, it } from 'vitest';
import { parseHubbleLine } from '../../../core/flow/index.js';
import { formatTable } from '../../../io/table.js';
import { appliedFromContracts } from '../../../sim/applied-follower.js';
import { writeCapture } from '../../../sim/capture.js';
import { buildCluster } from '../../../sim/cluster.js';
import { snapshotOf } from '../../../sim/demo/narrator.js';
import { compressContract, compressSpec, pinFirstRuns } from '../../../sim/demo/workdir.js';
import { historySeed } from '../../../sim/demo/history-seed.js';
import { workloadManifests } from '../../../sim/demo/workload-manifests.js';
import { demoDir, loadClusterSpec } from '../../../sim/load-spec.js';
import { buildInventory } from '../../../core/sufficiency/index.js';
import * as path from 'node:path';
import { seededRandom } from '../../../sim/random.js';
import { syntheticSpec } from '../../../sim/synthetic.js';
import { smallSpec } from './fixtures.js';

describe('compressContract (rampart demo --fast)', () => {
  const doc = {
    kind: 'RampContract',
    metadata: { name: 'x' },
    spec: {
      policies: [],
      rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '60s' }, { name: 'all', percent: 100, minDuration: '1m30s' }] },
      gates: { minFlows: 200, maxReportAge: '30s' },
    },
  };

  it('divides stage durations and minimum flows, keeping report age workable', () => {
    const out = compressContract(doc, 6) as typeof doc;
    expect(out.spec.rollout.stages.map((s) => s.minDuration)).toEqual(['10000ms', '15000ms']);
    expect(out.spec.gates.minFlows).toBe(34);
    expect(out.spec.gates.maxReportAge).toBe('5000ms');
    expect(doc.spec.rollout.stages[0]!.minDuration).toBe('60s'); // the input is not modified
  });

  it('leaves a document alone at factor 1', () => {
    expect(compressContract(doc, 1)).toBe(doc);
  });

  it('compresses periodic jobs but not steady rates', () => {
    const spec = smallSpec({ calls: [
      { from: 'shop/frontend', to: 'shop/api', port: 9090, every: '90s', offset: '30s' },
      { from: 'shop/frontend', to: 'shop/api', port: 9090, rate: 4 },
    ] });
    const out = compressSpec(spec, 6);
    expect(out.calls[0]).toMatchObject({ everyMs: 15_000, offsetMs: 5_000 });
    expect(out.calls[1]).toMatchObject({ everyMs: null, ratePerSec: 4 });
  });
});

describe('reading the control plane API', () => {
  it('takes each contract’s applied stage and skips what does not fit', () => {
    const applied = appliedFromContracts({
      items: [
        { name: 'a', revision: 2, applied: { stageIndex: 1, stageName: 'canary', mode: 'percent', percent: 10, namespaces: [], policies: [{ kind: 'NetworkPolicy' }] } },
        { name: 'b', revision: 1, applied: null },
        { name: 'c', applied: { mode: 'sideways' } },
        { name: 'd', revision: 1, applied: { stageIndex: 2, mode: 'namespaces', namespaces: ['x', 3, 'y'] } },
      ],
    });
    expect(applied).toEqual([
      { contract: 'a', revision: 2, stageIndex: 1, stageName: 'canary', mode: 'percent', percent: 10, namespaces: [], policies: [{ kind: 'NetworkPolicy' }] },
      { contract: 'd', revision: 1, stageIndex: 2, stageName: '', mode: 'namespaces', percent: 0, namespaces: ['x', 'y'], policies: [] },
    ]);
    expect(appliedFromContracts({ nope: true })).toEqual([]);
  });

  it('summarises a contract for the demo narration', () => {
    expect(snapshotOf({ name: 'a', stage: { index: 2, name: 'half' }, phase: 'Blocked', decision: { kind: 'hold', reasons: ['r1', 7] }, evidence: { actualDenies: 3 } })).toEqual({
      name: 'a', stageIndex: 2, stageName: 'half', phase: 'Blocked', decision: 'hold', reasons: ['r1'], actualDenies: 3,
    });
    expect(snapshotOf({ stage: {} })).toBeNull();
  });
});

describe('formatTable', () => {
  it('aligns columns, right-aligns numbers and clips long cells', () => {
    const out = formatTable(['NAME', 'COUNT', 'NOTE'], [['a', 5, 'short'], ['long-name', 123, 'a very long note indeed']], [null, null, 8]);
    expect(out).toBe('NAME       COUNT  NOTE\na              5  short\nlong-name    123  a very …\n');
  });
});

describe('syntheticSpec (rampart simulate --workloads)', () => {
  it('builds a cluster of the requested size where every call names real workloads', () => {
    const spec = syntheticSpec({ workloads: 50, nodes: 5 });
    const cluster = buildCluster(spec, seededRandom(1));
    expect(cluster.nodes).toHaveLength(5);
    expect(cluster.workloads.size).toBe(51); // plus kube-dns
    for (const c of spec.calls) {
      expect(cluster.workloads.has(c.from)).toBe(true);
      expect(cluster.workloads.has(c.to)).toBe(true);
    }
  });
});

describe('writeCapture (rampart simulate --capture)', () => {
  it('prints hubble observe -o json lines that the flow parser reads back', () => {
    const lines: string[] = [];
    const stats = writeCapture({ spec: smallSpec(), durationMs: 3000, endMs: 1_700_000_000_000, write: (l) => lines.push(l) });
    expect(lines.length).toBe(stats.flows);
    expect(lines.length).toBeGreaterThan(50);
    for (const line of lines) {
      expect(line.endsWith('\n')).toBe(true);
      const r = parseHubbleLine(line.trimEnd());
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value.kind).toBe('flow');
    }
    const first = JSON.parse(lines[0]!) as { flow: { time: string }; node_name: string };
    expect(first.node_name).toMatch(/^sim-worker-\d$/);
    expect(Date.parse(first.flow.time)).toBeGreaterThanOrEqual(1_700_000_000_000 - 3000);
  });
});

describe('the demo’s CronJob, workloads and history (issue 21)', () => {
  const spec = loadClusterSpec(path.join(demoDir(), 'cluster.yaml'));
  if (!spec.ok) throw new Error(JSON.stringify(spec.error));

  it('pins the invoicing job’s every-3-minutes schedule so its first run comes 40-100 s after the start', () => {
    for (const start of ['2026-12-06T17:01:40Z', '2026-12-06T17:01:05Z', '2026-12-06T17:02:30Z', '2026-12-06T17:59:59Z']) {
      const now = Date.parse(start);
      const pinned = pinFirstRuns(spec.value, now, 40_000);
      const schedule = pinned.workloads.find((w) => w.name === 'invoice-job')!.schedule!;
      expect(schedule).toMatch(/^[0-2]-59\/3 \* \* \* \*$/);
      const call = pinned.calls.find((c) => c.from === 'payments/invoice-job')!;
      const first = call.schedule!.next(now)!;
      expect(first - now).toBeGreaterThanOrEqual(40_000);
      expect(first - now).toBeLessThan(100_000);
      expect(call.schedule!.next(first)! - first).toBe(180_000);
    }
  });

  it('writes the workloads as manifests the control plane reads back: the CronJob with its schedule and creation time', () => {
    const now = Date.parse('2026-12-06T17:00:00Z');
    const list = workloadManifests(spec.value, now);
    const { inventory, problems } = buildInventory([{ object: list, path: 'workloads.yaml' }], false);
    expect(problems).toEqual([]);
    expect(inventory.workloads).toHaveLength(spec.value.workloads.length);
    expect(inventory.cronJobs.find((j) => j.name === 'invoice-job')).toMatchObject({ namespace: 'payments', schedule: '*/3 * * * *', suspend: false, createdMs: now, podLabels: { app: 'invoice-job' } });
    // The backup job calls on a fixed period, not a schedule: known, not waited for.
    expect(inventory.cronJobs.find((j) => j.name === 'backup')).toMatchObject({ suspend: true });
  });

  it('seeds a week of the steady traffic in the map file format, without the new job', () => {
    const now = Date.parse('2026-12-06T17:00:00Z');
    const seed = historySeed(spec.value, now) as { version: number; collectingSinceMs: number; edges: { from: { workload: string }; to: { workload: string }; buckets: [number, number][] }[] };
    expect(seed.version).toBe(1);
    expect(seed.collectingSinceMs).toBe(now - 7 * 86_400_000);
    const names = seed.edges.map((e) => `${e.from.workload}>${e.to.workload}`);
    expect(names).toContain('payments-api>ledger');
    expect(names).not.toContain('invoice-job>ledger');
    expect(names).not.toContain('price-scraper>catalog');
    expect(seed.edges.every((e) => e.buckets.length >= 40)).toBe(true);
  });
});
