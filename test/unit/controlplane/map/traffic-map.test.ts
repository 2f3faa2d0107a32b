import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadMapFile, MAP_FILE, saveMapFile } from '../../../../controlplane/map/map-file.js';
import { EMPTY_BASELINE, MapService } from '../../../../controlplane/map/map-service.js';
import { TrafficMap } from '../../../../controlplane/map/traffic-map.js';
import { parseContract } from '../../../../core/contract/index.js';
import { createJsonLogger } from '../../../../io/json-logger.js';
import { aPeer, anEdge, contractDocWith, denyIngress, policyDoc } from '../../../support/map-builders.js';
import type { BaselineSource } from '../../../../controlplane/baseline/baseline-source.js';

const T0 = Date.parse('2026-03-01T00:00:00Z');
const H = 3600_000;
const a = aPeer('shop', 'frontend');
const b = aPeer('shop', 'api');
const c = aPeer('shop', 'db');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-map-'));
  dirs.push(d);
  return d;
};
const silent = createJsonLogger('error', () => undefined);

describe('TrafficMap', () => {
  it('merges the same edge from several nodes and answers since', () => {
    const m = new TrafficMap({ retentionMs: 168 * H });
    m.ingest([anEdge(a, b, 8080, { count: 3, atMs: T0 })], 0, T0);
    m.ingest([anEdge(a, b, 8080, { count: 4, atMs: T0 + 10 * H })], 0, T0 + 10 * H);
    m.ingest([anEdge(b, c, 5432, { count: 1, atMs: T0 + 10 * H })], 2, T0 + 10 * H);
    const all = m.query(T0 - H, T0 + 10 * H);
    expect(all.map((x) => [x.edge.id.split('\u0000')[3], x.count])).toEqual([['api', 7], ['db', 1]]);
    // Only the last bucket (4 h at 7 d retention) is within a one-hour `since`.
    const recent = m.query(T0 + 9 * H, T0 + 10 * H);
    expect(recent.find((x) => x.edge.port === 8080)?.count).toBe(4);
    expect(m.otherSince(T0)).toBe(2);
  });

  it('drops what leaves the retention', () => {
    const m = new TrafficMap({ retentionMs: 24 * H });
    m.ingest([anEdge(a, b, 1, { atMs: T0 })], 0, T0);
    m.ingest([anEdge(a, c, 2, { atMs: T0 + 30 * H })], 0, T0 + 30 * H);
    m.prune(T0 + 30 * H);
    expect(m.size).toBe(1);
    expect(m.query(0, T0 + 30 * H).map((x) => x.edge.port)).toEqual([2]);
  });

  it('stays bounded in edges under a flood, folding the evicted into "other"', () => {
    const m = new TrafficMap({ maxEdges: 100 });
    for (let i = 0; i < 5000; i++) m.ingest([anEdge(aPeer('flood', `w${i}`), b, 80, { atMs: T0 + i })], 0, T0 + i);
    expect(m.size).toBeLessThanOrEqual(100);
    const kept = m.query(0, T0 + 5000).reduce((s, x) => s + x.count, 0);
    expect(kept + m.stats().other).toBe(5000);
    // The most recently seen edge is kept.
    expect(m.query(0, T0 + 5000).some((x) => x.edge.from.workload === 'w4999')).toBe(true);
  });

  it('keeps each workload\'s labels once, shared by its edges, and forgets them with the last edge', () => {
    const m = new TrafficMap({ retentionMs: 24 * H });
    m.ingest([anEdge(a, b, 1, { atMs: T0 }), anEdge(a, c, 2, { atMs: T0 })], 0, T0);
    // A later identity of frontend with other labels does not replace the representative.
    m.ingest([anEdge({ ...a, labels: { app: 'frontend', extra: 'x' } }, c, 3, { atMs: T0 + H })], 0, T0 + H);
    const [e1, e2, e3] = m.query(0, T0 + H).map((x) => x.edge);
    expect(e1!.from).toBe(e2!.from);
    expect(e3!.from).toBe(e1!.from);
    expect(m.stats().workloads).toBe(3);
    // The first two edges leave the retention; the third keeps frontend and db.
    m.ingest([anEdge(a, c, 3, { atMs: T0 + 30 * H })], 0, T0 + 30 * H);
    m.prune(T0 + 30 * H);
    expect(m.query(0, T0 + 30 * H).map((x) => x.edge.from.labels)).toEqual([{ app: 'frontend' }]);
    expect(m.stats().workloads).toBe(2);
  });

  it('survives a restart through the state file, and sets a torn file aside', () => {
    const dir = tmp();
    const clock = { nowMs: () => T0 + H };
    const s1 = new MapService({ stateDir: dir, baseline: EMPTY_BASELINE, clock, log: silent });
    s1.ingest({ node: 'n', bootId: 'b', seq: 1, windowStartMs: T0, windowEndMs: T0, mergedWindows: 1, hubble: { flowsSeen: 0, connections: 0, lost: {}, reconnects: 0, connected: true }, contracts: [], contractsGeneration: 0, observedEdges: [anEdge(a, b, 8080, { count: 5, atMs: T0 })], observedEdgesOverflow: 1 }, T0 + H);
    s1.close();
    const s2 = new MapService({ stateDir: dir, baseline: EMPTY_BASELINE, clock, log: silent });
    const j = s2.judged(null, T0 - H);
    expect(j.edges).toMatchObject([{ from: 'shop/frontend', to: 'shop/api', port: 8080, protocol: 'TCP', count: 5, verdict: 'allow' }]);
    expect(j.other).toBe(1);
    fs.writeFileSync(path.join(dir, MAP_FILE), '{"version":1,"bucketMs":');
    const bad = loadMapFile(dir);
    expect(bad.kind).toBe('bad');
    expect(fs.existsSync(path.join(dir, `${MAP_FILE}.bad`))).toBe(true);
    const s3 = new MapService({ stateDir: dir, baseline: EMPTY_BASELINE, clock, log: silent });
    expect(s3.map.size).toBe(0);
    saveMapFile(dir, s2.map.toJSON());
    expect(loadMapFile(dir).kind).toBe('loaded');
  });

  it('writes a changed map on the save interval, without a clean stop, and says what the file holds', () => {
    vi.useFakeTimers();
    try {
      const dir = tmp();
      const clock = { nowMs: () => T0 };
      const s = new MapService({ stateDir: dir, baseline: EMPTY_BASELINE, clock, log: silent, saveIntervalMs: 1000 });
      s.start();
      s.map.ingest([anEdge(a, b, 8080, { atMs: T0 })], 0, T0);
      vi.advanceTimersByTime(999);
      expect(loadMapFile(dir).kind).toBe('none');
      vi.advanceTimersByTime(1);
      const saved = loadMapFile(dir);
      expect(saved.kind === 'loaded' && saved.snapshot.edges.length).toBe(1);
      expect(s.saves()).toMatchObject({ saves: 1, lastSavedAtMs: T0, lastSavedEdges: 1 });
      // Unchanged: not written again.
      vi.advanceTimersByTime(5000);
      expect(s.saves().saves).toBe(1);
      s.map.ingest([anEdge(a, c, 5432, { atMs: T0 })], 0, T0);
      vi.advanceTimersByTime(1000);
      expect(s.saves()).toMatchObject({ saves: 2, lastSavedEdges: 2 });
      s.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('judges a contract over the map: the default-deny breaks the seen edge', () => {
    const clock = { nowMs: () => T0 };
    const s = new MapService({ stateDir: null, baseline: EMPTY_BASELINE, clock, log: silent });
    s.map.ingest([anEdge(a, b, 8080, { count: 2, atMs: T0 }), anEdge(aPeer('pay', 'x'), aPeer('pay', 'y'), 1, { atMs: T0 })], 0, T0);
    const contract = parseContract(contractDocWith('lock', [denyIngress('shop')]));
    if (!contract.ok) throw new Error(JSON.stringify(contract.error));
    const j = s.judged(contract.value, T0 - H);
    expect(j.edges.find((e) => e.to === 'shop/api')?.verdict).toBe('would-deny');
    expect(j.edges.find((e) => e.to === 'pay/y')?.verdict).toBe('allow');
    expect(j.verdicts['would-deny']).toBe(1);
    expect(j.nodes.map((n) => n.id)).toEqual(['pay/x', 'pay/y', 'shop/api', 'shop/frontend']);
  });

  it('warns where Cilium departs from the text of a baseline policy of a namespace shown, and of the contract\'s', () => {
    // Ingress rules without Ingress in policyTypes: Cilium enforces them anyway.
    const departs = (ns: string): Record<string, unknown> => policyDoc(ns, 'odd', { podSelector: {}, policyTypes: ['Egress'], ingress: [{}], egress: [{}] });
    const baseline: BaselineSource = {
      start: () => Promise.resolve(),
      snapshot: () => ({ revision: '1', policies: [{ ref: 'shop/odd', manifest: departs('shop'), owner: null }, { ref: 'elsewhere/odd', manifest: departs('elsewhere'), owner: null }] }),
      onChange: () => undefined,
    };
    const s = new MapService({ stateDir: null, baseline, clock: { nowMs: () => T0 }, log: silent });
    s.map.ingest([anEdge(a, b, 8080, { atMs: T0 })], 0, T0);
    const base = s.judged(null, T0 - H);
    expect(base.warnings.map((w) => w.path)).toEqual(['baseline shop/odd.spec.ingress']);
    expect(base.warnings[0]!.message).toMatch(/^shop\/odd: policyTypes does not list Ingress/);
    const contract = parseContract(contractDocWith('lock', [departs('shop')]));
    if (!contract.ok) throw new Error(JSON.stringify(contract.error));
    expect(s.judged(contract.value, T0 - H).warnings.map((w) => w.path)).toEqual(['spec.policies[0].spec.ingress', 'baseline shop/odd.spec.ingress']);
  });
});
