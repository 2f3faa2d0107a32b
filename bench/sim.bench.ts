/**
 * The simulator's own speed (issue 6): how many Hubble flows per CPU-second the simulated
 * cluster generates, which bounds the load a single `rampart simulate` process can offer.
 *  - generate: traffic model + datapath (the real policy engine enforcing shop-lockdown at
 *    100 %) + observation points, flows discarded;
 *  - generate+publish: the same, each flow published into its node's Hubble ring (encoded
 *    once, as replay/server.ts does), no reader attached.
 * Simulated time runs as fast as the CPU allows. Prints figures; asserts nothing.
 * Run: `npm run bench -- sim`.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { parseContract } from '../core/contract/index.js';
import { HubbleServer } from '../replay/server.js';
import { CorePolicyJudge } from '../sim/core-judge.js';
import { demoDir, loadClusterSpec } from '../sim/load-spec.js';
import { Simulator, type FlowSink } from '../sim/simulator.js';
import { syntheticSpec } from '../sim/synthetic.js';
import type { ClusterSpec } from '../sim/cluster-spec.js';

const SIMULATED_MS = 20_000;
const STEP_MS = 100;

function shopPolicies(): readonly unknown[] {
  const r = parseContract(parse(readFileSync(path.join(demoDir(), 'contracts', 'shop-lockdown.yaml'), 'utf8')));
  if (!r.ok) throw new Error('shop-lockdown.yaml does not parse');
  return r.value.spec.rawPolicies;
}

function run(label: string, spec: ClusterSpec, rateScale: number, publish: boolean): void {
  const servers = new Map<string, HubbleServer>();
  let flows = 0;
  const sink: FlowSink = {
    publish(node, record) {
      flows++;
      if (!publish) return;
      let s = servers.get(node.name);
      if (!s) servers.set(node.name, (s = new HubbleServer({ nodeName: node.name })));
      s.publish(record as unknown as Record<string, unknown>);
    },
  };
  const sim = new Simulator({ spec, rateScale, seed: 3, sink, judge: (c) => new CorePolicyJudge(c) });
  sim.enforcement.setApplied([{ contract: 'shop-lockdown', revision: 1, stageIndex: 3, stageName: 'full', mode: 'percent', percent: 100, namespaces: [], policies: shopPolicies() }]);
  const t0 = 1_700_000_000_000;
  // Warm-up (JIT, policy compilation), then the measured span.
  for (let t = t0; t < t0 + 2000; t += STEP_MS) sim.step(t);
  flows = 0;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  for (let t = t0 + 2000; t <= t0 + 2000 + SIMULATED_MS; t += STEP_MS) sim.step(t);
  const wallMs = performance.now() - wall0;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const s = sim.stats();
  process.stdout.write(
    `${label.padEnd(44)} ${String(flows).padStart(8)} flows in ${(SIMULATED_MS / 1000).toFixed(0)} s simulated  ` +
      `${Math.round(flows / cpuS).toLocaleString('en-US').padStart(10)} flows/CPU-s  ${(wallMs).toFixed(0).padStart(6)} ms wall  ` +
      `${(SIMULATED_MS / wallMs).toFixed(1)}x real time  (${s.connections} connections)\n`,
  );
}

const demo = loadClusterSpec(path.join(demoDir(), 'cluster.yaml'));
if (!demo.ok) throw new Error('demo/cluster.yaml does not parse');
run('demo cluster, rate x1, generate', demo.value, 1, false);
run('demo cluster, rate x20, generate', demo.value, 20, false);
run('demo cluster, rate x20, generate+publish', demo.value, 20, true);
run('synthetic 200 workloads / 10 nodes, publish', syntheticSpec({ workloads: 200, nodes: 10 }), 2, true);
