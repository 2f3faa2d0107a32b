import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseContract } from '../../../core/contract/index.js';
import { parseClusterSpec } from '../../../sim/cluster-spec.js';
import type { SimNode } from '../../../sim/cluster.js';
import { CorePolicyJudge } from '../../../sim/core-judge.js';
import type { AppliedStage } from '../../../core/rollout/applied-stage.js';
import type { FlowRecord } from '../../../sim/records.js';
import { Simulator } from '../../../sim/simulator.js';

const demo = (file: string): unknown => parse(readFileSync(new URL(`../../../demo/${file}`, import.meta.url), 'utf8'));

function contract(file: string): { name: string; policies: readonly unknown[] } {
  const r = parseContract(demo(`contracts/${file}`));
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return { name: r.value.name, policies: r.value.spec.rawPolicies };
}

/** "from → to:port" of every dropped packet, by the workloads Hubble names. */
function droppedEdges(records: readonly FlowRecord[]): Set<string> {
  const out = new Set<string>();
  for (const r of records) {
    if (r.verdict !== 'DROPPED') continue;
    const w = (e: FlowRecord['source']): string => `${e.namespace}/${e.workloads?.[0]?.name}`;
    const port = 'TCP' in r.l4 ? r.l4.TCP.destination_port : r.l4.UDP.destination_port;
    out.add(`${w(r.source)} → ${w(r.destination)}:${port}`);
  }
  return out;
}

describe('the bundled demo scenario, enforced by the real policy engine', () => {
  const spec = parseClusterSpec(demo('cluster.yaml'));
  if (!spec.ok) throw new Error(JSON.stringify(spec.error));
  const shop = contract('shop-lockdown.yaml');
  const payments = contract('payments-lockdown.yaml');

  function simulate(applied: AppliedStage[], seconds: number, late = false): FlowRecord[] {
    if (!spec.ok) return [];
    const out: FlowRecord[] = [];
    const sim = new Simulator({
      spec: spec.value,
      seed: 5,
      judge: (cluster) => new CorePolicyJudge(cluster),
      sink: { publish: (_n: SimNode, r: FlowRecord) => out.push(r) },
    });
    sim.enforcement.setApplied(applied);
    if (late) sim.traffic.activateLate();
    const t0 = 1_700_000_000_000;
    for (let t = t0; t <= t0 + seconds * 1000; t += 250) sim.step(t);
    return out;
  }

  it('the shop lockdown at 100% drops nothing until the new caller appears, then only its calls', () => {
    const applied: AppliedStage[] = [{ contract: shop.name, revision: 1, stageIndex: 3, stageName: 's3', mode: 'percent', percent: 100, namespaces: [], policies: shop.policies }];
    const before = simulate(applied, 30);
    expect(before.length).toBeGreaterThan(1000);
    expect(droppedEdges(before)).toEqual(new Set());
    expect(before.some((r) => r.event_type.type === 5 && r.verdict === 'FORWARDED')).toBe(true);
    const after = simulate(applied, 10, true);
    expect(droppedEdges(after)).toEqual(new Set(['shop/price-scraper → shop/catalog:8080']));
  });

  it('the pre-existing policies admit all of today\'s traffic: nothing is dropped before any contract', () => {
    if (!spec.ok) return;
    expect(spec.value.policies.length).toBeGreaterThan(0);
    const records = simulate([], 100);
    expect(records.length).toBeGreaterThan(1000);
    expect(droppedEdges(records)).toEqual(new Set());
    // They are enforced: their pods emit policy verdicts.
    expect(records.some((r) => r.event_type.type === 5 && r.destination.namespace === 'data')).toBe(true);
  });

  it('the brownfield data lockdown at 100% drops nothing because of the baseline, and everything into data without it', () => {
    if (!spec.ok) return;
    const data = contract('data-lockdown.yaml');
    const applied: AppliedStage[] = [{ contract: data.name, revision: 1, stageIndex: 2, stageName: 's2', mode: 'percent', percent: 100, namespaces: [], policies: data.policies }];
    expect(droppedEdges(simulate(applied, 100))).toEqual(new Set());
    // The same contract on a cluster with no pre-existing policies would cut every store off.
    const out: FlowRecord[] = [];
    const sim = new Simulator({ spec: { ...spec.value, policies: [] }, seed: 5, judge: (cluster) => new CorePolicyJudge(cluster), sink: { publish: (_n: SimNode, r: FlowRecord) => out.push(r) } });
    sim.enforcement.setApplied(applied);
    const t0 = 1_700_000_000_000;
    for (let t = t0; t <= t0 + 100_000; t += 250) sim.step(t);
    const dropped = droppedEdges(out);
    for (const edge of ['shop/catalog → data/postgres:5432', 'shop/cart → data/redis:6379', 'shop/search → data/elasticsearch:9200', 'shop/checkout → data/kafka:9092']) expect(dropped).toContain(edge);
  });

  it('the payments lockdown, if enforced, would break exactly the invoicing job', () => {
    const applied: AppliedStage[] = [{ contract: payments.name, revision: 1, stageIndex: 1, stageName: 's1', mode: 'namespaces', percent: 0, namespaces: ['payments'], policies: payments.policies }];
    // Two minutes from t0 (22:13:20Z) hold the 22:15:00Z run of the job's */3 schedule.
    const records = simulate(applied, 120);
    expect(droppedEdges(records)).toEqual(new Set(['payments/invoice-job → payments/ledger:5432']));
  });
});
