/**
 * A cardinality flood: a million distinct workload pairs, all would-be-denied, through the
 * agent's real pipeline (connection tracker, policy engine, window aggregation). Memory stays
 * bounded (top-K edges per window plus an overflow count, bounded tracker), and nothing is
 * lost: kept edge counts plus overflow equal the would-deny count of every window.
 * (The benchmark runs the same flood through the agent process and reports its RSS.)
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';
import { ContractStore } from '../../agent/monitor/contract-store.js';
import { silentLogger } from '../../io/json-logger.js';
import { Pipeline } from '../../agent/monitor/pipeline.js';
import { networkPolicyEngine } from '../../agent/monitor/policy-engine.js';
import { sampleFlowJson } from '../../agent/monitor/sample-flow.js';
import { ConnectionTracker } from '../../core/flow/connection-tracker.js';
import type { Flow, PodEndpoint } from '../../core/flow/index.js';
import type { WindowSummary } from '../../core/summary/index.js';
import { aFlow, aPod, tcp } from '../support/builders.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapMb = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1e6;
};

const PAIRS = 1_000_000;
const SIDE = 1000; // 1000 sources × 1000 destinations
const TOP_K = 100;

describe('agent under a cardinality flood', () => {
  it('keeps memory bounded and counts the overflow for a million distinct workload pairs', { timeout: 180_000 }, async () => {
    const engine = networkPolicyEngine;
    const store = new ContractStore(engine);
    const installed = await store.offer({
      generation: 1,
      contracts: [
        {
          name: 'flood-lockdown',
          revision: 1,
          stageIndex: 0,
          stageName: 'monitor',
          policies: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all', namespace: 'flood' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }],
          enforcement: { mode: 'monitor' },
        },
      ],
    });
    expect(installed.ok).toBe(true);
    const windows: WindowSummary[] = [];
    let now = 0;
    const pipeline = new Pipeline({
      node: 'flood-node',
      bootId: 'b',
      windowMs: 10_000,
      topK: TOP_K,
      classifier: new ConnectionTracker(),
      engine,
      contracts: store,
      hubble: { connected: true, reconnects: 0 },
      clock: { nowMs: () => now },
      sampleOf: sampleFlowJson,
      onWindow: (s) => windows.push(s),
      logger: silentLogger,
    });
    // Endpoints are built once per workload (as Hubble's identities repeat); pairs are what explode.
    const sources: PodEndpoint[] = Array.from({ length: SIDE }, (_, i) => aPod({ namespace: 'flood', labels: { app: `src-${i}` }, id: 1 }));
    const destinations: PodEndpoint[] = Array.from({ length: SIDE }, (_, i) => aPod({ namespace: 'flood', labels: { app: `dst-${i}` }, id: 2 }));
    const template = aFlow();
    const flowAt = (i: number): Flow => ({
      ...template,
      timeMs: 1_700_000_000_000 + i,
      source: sources[i % SIDE]!,
      destination: destinations[Math.floor(i / SIDE)]!,
      ip: { source: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, destination: '10.200.0.1', version: 4 },
      l4: tcp(8080, { sourcePort: 1024 + (i % 60_000) }),
    });

    let baseline = 0;
    for (let i = 0; i < PAIRS; i++) {
      pipeline.handle({ kind: 'flow', flow: flowAt(i) });
      if ((i + 1) % 100_000 === 0) {
        now += 10_000;
        pipeline.flush();
        if (i + 1 === 100_000) baseline = heapMb();
      }
    }
    const end = heapMb();

    expect(windows).toHaveLength(PAIRS / 100_000);
    let denies = 0;
    let kept = 0;
    let overflow = 0;
    for (const w of windows) {
      expect(w.hubble.connections).toBe(100_000);
      const c = w.contracts[0]!;
      expect(c.wouldDenyEdges.length).toBe(TOP_K);
      const windowDenies = c.egress.deny + c.ingress.deny;
      const windowKept = c.wouldDenyEdges.reduce((n, e) => n + e.count, 0);
      expect(windowKept + c.wouldDenyEdgesOverflow).toBe(windowDenies);
      denies += windowDenies;
      kept += windowKept;
      overflow += c.wouldDenyEdgesOverflow;
    }
    expect(denies).toBe(2 * PAIRS); // both sides local, both denied
    expect(overflow).toBe(denies - kept);
    expect(overflow).toBeGreaterThan(2 * PAIRS - 2 * TOP_K * windows.length);
    // Nine more windows of a million-pair flood cost (almost) nothing beyond the first.
    expect(end - baseline).toBeLessThan(50);
  });
});
