import { describe, expect, it } from 'vitest';
import { ContractStore } from '../../../../agent/monitor/contract-store.js';
import { Pipeline } from '../../../../agent/monitor/pipeline.js';
import { sampleFlowJson } from '../../../../agent/monitor/sample-flow.js';
import { silentLogger } from '../../../../io/json-logger.js';
import type { ActiveContract, WindowSummary } from '../../../../core/summary/index.js';
import { aFlow, aPod, tcp } from '../../../support/builders.js';
import { everyFlowClassifier, fakeEngine, type FakeSet } from '../support/fake-engine.js';

function setup() {
  let now = 1_000_000;
  const clock = { nowMs: () => now };
  const store = new ContractStore<FakeSet>(fakeEngine);
  const windows: WindowSummary[] = [];
  const hubble = { connected: true, reconnects: 0 };
  const pipeline = new Pipeline<FakeSet>({
    node: 'node-1',
    bootId: 'boot',
    windowMs: 10_000,
    topK: 5,
    classifier: everyFlowClassifier,
    engine: fakeEngine,
    contracts: store,
    hubble,
    clock,
    sampleOf: sampleFlowJson,
    onWindow: (s) => windows.push(s),
    logger: silentLogger,
  });
  return { pipeline, store, windows, hubble, advance: (ms: number) => (now += ms) };
}

const contract = (name: string, denyPorts: number[], extra: Partial<ActiveContract> = {}): ActiveContract => ({
  name,
  revision: 1,
  stageIndex: 0,
  stageName: 'monitor',
  policies: [{ denyPorts }],
  enforcement: { mode: 'monitor' },
  ...extra,
});

describe('Pipeline', () => {
  it('reports windows without contracts until a set arrives, then names contract, revision and stage', async () => {
    const { pipeline, store, windows, advance } = setup();
    pipeline.handle({ kind: 'flow', flow: aFlow() });
    advance(10_000);
    pipeline.flush();
    expect(windows[0]!.contracts).toEqual([]);
    expect(windows[0]!.hubble).toMatchObject({ flowsSeen: 1, connections: 1 });

    await store.offer({ generation: 3, contracts: [contract('c1', [5432]), contract('c2', [])] });
    pipeline.handle({ kind: 'flow', flow: aFlow({ l4: tcp(5432) }) });
    pipeline.handle({ kind: 'flow', flow: aFlow({ l4: tcp(80), destination: aPod({ id: null }) }) });
    pipeline.handle({ kind: 'lost', source: 'HUBBLE_RING_BUFFER', count: 4, node: 'node-1' });
    advance(10_000);
    const s = pipeline.flush();
    expect(s.contractsGeneration).toBe(3);
    expect(s.hubble.lost).toEqual({ HUBBLE_RING_BUFFER: 4 });
    const c1 = s.contracts.find((c) => c.contract === 'c1')!;
    expect(c1).toMatchObject({ revision: 1, stageIndex: 0, stageName: 'monitor' });
    expect(c1.egress).toEqual({ allow: 1, deny: 1, indeterminate: 0 });
    expect(c1.ingress).toEqual({ allow: 0, deny: 1, indeterminate: 0 });
    expect(c1.wouldDenyEdges.map((e) => [e.side, e.count, e.port])).toEqual([
      ['egress', 1, 5432],
      ['ingress', 1, 5432],
    ]);
    // The sample is a Hubble JSON line with the flow's real facts.
    const sample = JSON.parse(c1.wouldDenyEdges[0]!.sampleFlowJson) as { flow: { l4: { TCP: { destination_port: number } } } };
    expect(sample.flow.l4.TCP.destination_port).toBe(5432);
    // A contract with no traffic still reports (zero evidence is evidence of coverage).
    const c2 = s.contracts.find((c) => c.contract === 'c2')!;
    expect(c2.egress).toEqual({ allow: 2, deny: 0, indeterminate: 0 });
  });

  it('counts a flow the client skipped on the wire as seen, and as nothing else', async () => {
    const { pipeline, store, advance } = setup();
    await store.offer({ generation: 1, contracts: [contract('c1', [80])] });
    pipeline.handle({ kind: 'flow-skipped' });
    pipeline.handle({ kind: 'flow-skipped' });
    pipeline.handle({ kind: 'flow', flow: aFlow({ l4: tcp(80) }) });
    advance(10_000);
    const s = pipeline.flush();
    expect(s.hubble).toMatchObject({ flowsSeen: 3, connections: 1 });
    expect(s.contracts[0]!.egress).toEqual({ allow: 0, deny: 1, indeterminate: 0 });
    expect(pipeline.totals).toMatchObject({ events: 3, flows: 3, connections: 1 });
  });

  it('keeps the old revision evidence of a window in which the set changed', async () => {
    const { pipeline, store } = setup();
    await store.offer({ generation: 1, contracts: [contract('c1', [80])] });
    pipeline.handle({ kind: 'flow', flow: aFlow({ l4: tcp(80) }) });
    await store.offer({ generation: 2, contracts: [contract('c1', [80], { revision: 2 })] });
    pipeline.handle({ kind: 'flow', flow: aFlow({ l4: tcp(80) }) });
    pipeline.handle({ kind: 'flow', flow: aFlow({ l4: tcp(80) }) });
    const s = pipeline.flush();
    expect(s.contracts.map((c) => [c.revision, c.egress.deny])).toEqual([
      [1, 1],
      [2, 2],
    ]);
  });

  it('counts real policy drops only where the contract stage enforces the dropping side', async () => {
    const { pipeline, store } = setup();
    await store.offer({
      generation: 1,
      contracts: [
        contract('enforced-ns', [5432], { stageIndex: 1, stageName: 'ns1', enforcement: { mode: 'namespaces', namespaces: ['db'] } }),
        contract('other-ns', [5432], { stageIndex: 1, stageName: 'ns1', enforcement: { mode: 'namespaces', namespaces: ['web'] } }),
        contract('monitor', [5432]),
        contract('allows-it', [], { enforcement: { mode: 'percent', percent: 100 } }),
      ],
    });
    const drop = aFlow({
      observed: 'DROPPED',
      dropReason: 'POLICY_DENIED',
      direction: 'ingress',
      l4: tcp(5432),
      destination: aPod({ namespace: 'db', labels: { app: 'postgres' } }),
    });
    pipeline.handle({ kind: 'flow', flow: drop });
    const s = pipeline.flush();
    const by = Object.fromEntries(s.contracts.map((c) => [c.contract, c.actualDenies]));
    expect(by).toEqual({ 'enforced-ns': 1, 'other-ns': 0, monitor: 0, 'allows-it': 0 });
    const edge = s.contracts.find((c) => c.contract === 'enforced-ns')!.actualDenyEdges[0]!;
    expect(edge).toMatchObject({ side: 'ingress', toNamespace: 'db', toWorkload: 'postgres', count: 1 });
  });

  it('counts reconnects and a disconnected Hubble in the window', () => {
    const { pipeline, hubble } = setup();
    hubble.reconnects = 2;
    hubble.connected = false;
    const s = pipeline.flush();
    expect(s.hubble).toMatchObject({ reconnects: 2, connected: false });
    hubble.connected = true;
    expect(pipeline.flush().hubble).toMatchObject({ reconnects: 0, connected: false });
    expect(pipeline.flush().hubble.connected).toBe(true);
  });
});
