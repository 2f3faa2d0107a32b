import { describe, expect, it } from 'vitest';
import { ContractStore } from '../../../../agent/monitor/contract-store.js';
import { Pipeline } from '../../../../agent/monitor/pipeline.js';
import { sampleFlowJson } from '../../../../agent/monitor/sample-flow.js';
import { silentLogger } from '../../../../io/json-logger.js';
import { peerName, type WindowSummary } from '../../../../core/summary/index.js';
import { aFlow, anExternal, aPod, tcp } from '../../../support/builders.js';
import { everyFlowClassifier, fakeEngine, type FakeSet } from '../support/fake-engine.js';

function setup(observedEdgeCapacity?: number) {
  let now = 1_000_000;
  const windows: WindowSummary[] = [];
  const pipeline = new Pipeline<FakeSet>({
    node: 'node-1',
    bootId: 'boot',
    windowMs: 10_000,
    topK: 5,
    classifier: everyFlowClassifier,
    engine: fakeEngine,
    contracts: new ContractStore<FakeSet>(fakeEngine),
    hubble: { connected: true, reconnects: 0 },
    clock: { nowMs: () => now },
    sampleOf: sampleFlowJson,
    onWindow: (s) => windows.push(s),
    logger: silentLogger,
    ...(observedEdgeCapacity === undefined ? {} : { observedEdgeCapacity }),
  });
  return { pipeline, windows, advance: (ms: number) => (now += ms) };
}

const web = aPod({ namespace: 'shop', labels: { app: 'web' } });
const api = aPod({ namespace: 'shop', labels: { app: 'api' } });

describe('Pipeline: observed edges for the traffic map', () => {
  it('reports every connection start by workload, with no contract active, once per connection across nodes', () => {
    const { pipeline, advance } = setup();
    pipeline.handle({ kind: 'flow', flow: aFlow({ source: web, destination: api, l4: tcp(8080) }) });
    pipeline.handle({ kind: 'flow', flow: aFlow({ source: web, destination: api, l4: tcp(8080) }) });
    // Seen on the destination's node only (source remote): the source's node counts it.
    pipeline.handle({ kind: 'flow', flow: aFlow({ source: aPod({ namespace: 'shop', labels: { app: 'web' }, id: null }), destination: api, l4: tcp(9090) }) });
    // From outside the cluster: only the destination's node can count it.
    pipeline.handle({ kind: 'flow', flow: aFlow({ source: anExternal(), destination: api, l4: tcp(443) }) });
    advance(10_000);
    const s = pipeline.flush();
    expect(s.contracts).toEqual([]);
    expect((s.observedEdges ?? []).map((e) => `${peerName(e.from)}>${peerName(e.to)}:${e.port}=${e.count}`)).toEqual(['shop/web>shop/api:8080=2', 'world>shop/api:443=1']);
    expect(s.observedEdgesOverflow).toBe(0);
    // The next window starts empty.
    advance(10_000);
    expect(pipeline.flush().observedEdges).toEqual([]);
  });

  it('folds what does not fit into the overflow count', () => {
    const { pipeline, advance } = setup(2);
    for (let i = 0; i < 10; i++) pipeline.handle({ kind: 'flow', flow: aFlow({ source: aPod({ namespace: 'x', labels: { app: `w${i}` } }), destination: api }) });
    advance(10_000);
    const s = pipeline.flush();
    expect(s.observedEdges).toHaveLength(2);
    expect(s.observedEdgesOverflow).toBe(8);
  });
});
