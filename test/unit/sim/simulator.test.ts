import { describe, expect, it } from 'vitest';
import { isEnrolled } from '../../../core/contract/enrollment.js';
import { ConnectionTracker, flowFromRecord, type Flow } from '../../../core/flow/index.js';
import { encodeRecord, decodeRecord, hubbleType } from '../../../proto/codec/hubble-types.js';
import type { SimNode } from '../../../sim/cluster.js';
import type { AppliedStage } from '../../../core/rollout/applied-stage.js';
import type { FlowRecord } from '../../../sim/records.js';
import { Simulator } from '../../../sim/simulator.js';
import { smallSpec, tableJudge } from './fixtures.js';

interface Published {
  node: string;
  record: FlowRecord;
}

function run(opts: { applied?: AppliedStage[]; seconds?: number; spec?: ReturnType<typeof smallSpec> } = {}): { sim: Simulator; out: Published[] } {
  const out: Published[] = [];
  const sim = new Simulator({
    spec: opts.spec ?? smallSpec(),
    judge: tableJudge,
    seed: 11,
    sink: { publish: (node: SimNode, record: FlowRecord) => out.push({ node: node.name, record }) },
  });
  sim.enforcement.setApplied(opts.applied ?? []);
  const t0 = 1_700_000_000_000;
  for (let t = t0; t <= t0 + (opts.seconds ?? 5) * 1000; t += 100) sim.step(t);
  return { sim, out };
}

const enforceAll = (policies: unknown[]): AppliedStage => ({
  contract: 'c', revision: 1, stageIndex: 3, stageName: 'full', mode: 'percent', percent: 100, namespaces: [], policies,
});

describe('Simulator flows', () => {
  it('sets endpoint IDs only for endpoints local to the reporting node', () => {
    const { sim, out } = run();
    expect(out.length).toBeGreaterThan(100);
    const podsByIp = new Map(sim.cluster.pods.map((p) => [p.ip, p]));
    for (const { node, record } of out) {
      expect(record.node_name).toBe(node);
      const src = podsByIp.get(record.IP.source)!;
      const dst = podsByIp.get(record.IP.destination)!;
      expect(record.source.ID !== undefined).toBe(src.node.name === node);
      expect(record.destination.ID !== undefined).toBe(dst.node.name === node);
      if (record.source.ID !== undefined) expect(record.source.ID).toBe(src.endpointId);
    }
  });

  it('emits no policy verdicts and no drops where nothing is enforced', () => {
    const { out } = run();
    expect(out.filter((o) => o.record.event_type.type !== 4)).toEqual([]);
    expect(out.every((o) => o.record.verdict === 'FORWARDED')).toBe(true);
    const overlay = out.find((o) => o.record.trace_observation_point === 'TO_OVERLAY')!;
    expect(overlay.record.is_reply).toBeUndefined();
    expect(overlay.record.traffic_direction).toBeUndefined();
    const start = out.find((o) => o.record.trace_reason === 'NEW')!;
    expect(start.record).toMatchObject({ trace_observation_point: 'TO_ENDPOINT', is_reply: { value: false }, traffic_direction: 'INGRESS' });
    expect(out.some((o) => o.record.trace_reason === 'REPLY' && o.record.is_reply?.value === true)).toBe(true);
  });

  it('drops a denied SYN with POLICY_DENIED on an enforced pod, retransmits included', () => {
    const { sim, out } = run({ applied: [enforceAll([{ side: 'egress', deny: 'shop/api' }])], seconds: 2 });
    const drops = out.filter((o) => o.record.event_type.type === 1);
    expect(drops.length).toBeGreaterThan(0);
    for (const d of drops) {
      expect(d.record).toMatchObject({ verdict: 'DROPPED', drop_reason: 133, drop_reason_desc: 'POLICY_DENIED', event_type: { type: 1, sub_type: 133 }, traffic_direction: 'EGRESS' });
      expect(d.record.source.ID).toBeDefined();
    }
    // Nothing reaches the destination endpoint, and each connection is tried more than once.
    expect(out.some((o) => o.record.trace_observation_point === 'TO_ENDPOINT')).toBe(false);
    const tuples = new Set(drops.map((d) => `${d.record.IP.source}:${JSON.stringify(d.record.l4)}`));
    expect(drops.length).toBeGreaterThan(tuples.size);
    expect(sim.stats().droppedAttempts).toBe(drops.length);
  });

  it('enforces only on the pods a percent stage enrols', () => {
    // Pick a contract name whose 50% enrols exactly one of the two api pods.
    const probe = run({ seconds: 0 }).sim;
    const apiPods = probe.cluster.workloads.get('shop/api')!.pods;
    const name = Array.from({ length: 100 }, (_, i) => `contract-${i}`).find(
      (n) => apiPods.filter((p) => isEnrolled(n, p.namespace, p.name, 50)).length === 1,
    )!;
    const applied: AppliedStage = { ...enforceAll([{ side: 'ingress', deny: 'shop/frontend' }]), contract: name, percent: 50 };
    const { sim, out } = run({ applied: [applied] });
    const enforced = new Set(sim.cluster.pods.filter((p) => sim.enforcement.contractsEnforcing(p).length > 0).map((p) => p.ip));
    const drops = out.filter((o) => o.record.verdict === 'DROPPED');
    const forwardedToApi = out.filter((o) => o.record.trace_observation_point === 'TO_ENDPOINT' && o.record.trace_reason === 'NEW');
    expect(drops.length).toBeGreaterThan(0);
    expect(forwardedToApi.length).toBeGreaterThan(0);
    for (const d of drops) expect(enforced.has(d.record.IP.destination)).toBe(true);
    for (const f of forwardedToApi) expect(enforced.has(f.record.IP.destination)).toBe(false);
  });

  it('emits allowed policy verdicts on enforced pods and still forwards', () => {
    const { out } = run({ applied: [enforceAll([{ side: 'egress', deny: 'nobody' }])] });
    const verdicts = out.filter((o) => o.record.event_type.type === 5);
    expect(verdicts.length).toBeGreaterThan(0);
    for (const v of verdicts) expect(v.record).toMatchObject({ verdict: 'FORWARDED', traffic_direction: 'EGRESS', is_reply: { value: false } });
    expect(out.some((o) => o.record.verdict === 'DROPPED')).toBe(false);
  });

  it('publishes records the Hubble proto encodes and the flow parser reads back, counted once per side', () => {
    const spec = smallSpec({ dns: { perCall: 0.5 }, probeEvery: '1s', calls: [
      { from: 'shop/frontend', to: 'shop/api', port: 9090, rate: 10 },
      { from: 'shop/api', to: 'external/bank', port: 443, rate: 3 },
    ] });
    const { sim, out } = run({ spec });
    const flowType = hubbleType('flow.Flow');
    const tracker = new ConnectionTracker();
    let sides = 0;
    let egressSides = 0;
    for (const { record } of out) {
      const decoded = decodeRecord(flowType, encodeRecord(flowType, record as unknown as Record<string, unknown>));
      const parsed = flowFromRecord(decoded);
      expect(parsed.ok).toBe(true);
      if (!parsed.ok) continue;
      const flow: Flow = parsed.value;
      expect(flow.node).toBe(record.node_name);
      expect(flow.uuid).toBe(record.uuid);
      const c = tracker.classify(flow);
      if (c.kind === 'connection') {
        sides += Number(c.egress) + Number(c.ingress);
        egressSides += Number(c.egress);
      }
    }
    // Every connection is counted once on each of its sides: egress where the client is a
    // pod, ingress where the server is a pod (kubelet probes have no egress side, the world no ingress).
    const stats = sim.stats();
    expect(stats.connections).toBeGreaterThan(50);
    const flows = out.map((o) => o.record);
    const probes = flows.filter((r) => r.source.labels[0] === 'reserved:host' && r.trace_reason === 'NEW').length;
    const toWorld = flows.filter((r) => r.destination.labels.includes('reserved:world') && r.trace_reason === 'NEW').length;
    expect(egressSides).toBe(stats.connections - probes);
    expect(sides).toBe(2 * stats.connections - probes - toWorld);
  });
});
