/**
 * Child process for bench/agent.bench.ts: the agent's pipeline (connection tracker, policy
 * engine, `contracts` contracts, window aggregation with top-K edges) under a cardinality flood of
 * `pairs` distinct workload pairs, windows closed every 100,000 flows. Prints one JSON line:
 * CPU per flow, peak RSS, and what the windows kept and overflowed.
 */
import { ContractStore } from '../agent/monitor/contract-store.js';
import { silentLogger } from '../io/json-logger.js';
import { Pipeline } from '../agent/monitor/pipeline.js';
import { networkPolicyEngine } from '../agent/monitor/policy-engine.js';
import { sampleFlowJson } from '../agent/monitor/sample-flow.js';
import { ConnectionTracker } from '../core/flow/index.js';
import type { Flow, PodEndpoint } from '../core/flow/index.js';
import type { WindowSummary } from '../core/summary/index.js';
import { aFlow, tcp } from '../test/support/builders.js';
import { benchContracts } from './agent-contracts.js';

const pairs = Number(process.argv[2] ?? 1_000_000);
const contracts = Number(process.argv[3] ?? 20);
const SIDE = Math.ceil(Math.sqrt(pairs));

const store = new ContractStore(networkPolicyEngine);
const installed = await store.offer(benchContracts(contracts, 'flood'));
if (!installed.ok) throw new Error(JSON.stringify(installed.error.slice(0, 3)));
let now = 0;
let kept = 0;
let overflow = 0;
let denies = 0;
let maxEdges = 0;
const pipeline = new Pipeline({
  node: 'flood-node',
  bootId: 'bench',
  windowMs: 10_000,
  topK: 100,
  classifier: new ConnectionTracker(),
  engine: networkPolicyEngine,
  contracts: store,
  hubble: { connected: true, reconnects: 0 },
  clock: { nowMs: () => now },
  sampleOf: sampleFlowJson,
  onWindow: (s: WindowSummary) => {
    for (const c of s.contracts) {
      denies += c.egress.deny + c.ingress.deny;
      kept += c.wouldDenyEdges.reduce((n, e) => n + e.count, 0);
      overflow += c.wouldDenyEdgesOverflow;
      maxEdges = Math.max(maxEdges, c.wouldDenyEdges.length);
    }
  },
  logger: silentLogger,
});

function pod(namespace: string, app: string, id: number | null): PodEndpoint {
  const labels = { app };
  return {
    kind: 'pod',
    id,
    identity: 0,
    labels: [`k8s:app=${app}`, `k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=${namespace}`, `k8s:io.kubernetes.pod.namespace=${namespace}`],
    namespace,
    podName: '',
    podLabels: labels,
    namespaceLabels: { 'kubernetes.io/metadata.name': namespace },
    workloads: [],
  };
}
const sources = Array.from({ length: SIDE }, (_, i) => pod('flood', `src-${i}`, 1));
const destinations = Array.from({ length: SIDE }, (_, i) => pod('flood', `dst-${i}`, 2));
const flowAt = (i: number): Flow =>
  aFlow({
    timeMs: 1_700_000_000_000 + i,
    time: '',
    node: 'flood-node',
    ip: { source: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, destination: '10.200.0.1', version: 4 },
    l4: tcp(8080, { sourcePort: 1024 + (i % 60_000) }),
    source: sources[i % SIDE]!,
    destination: destinations[Math.floor(i / SIDE) % SIDE]!,
  });

const cpu0 = process.cpuUsage();
for (let i = 0; i < pairs; i++) {
  pipeline.handle({ kind: 'flow', flow: flowAt(i) });
  if ((i + 1) % 100_000 === 0) {
    now += 10_000;
    pipeline.flush();
  }
}
now += 10_000;
pipeline.flush();
const cpu = process.cpuUsage(cpu0);
process.stdout.write(
  `${JSON.stringify({
    pairs,
    contracts,
    usCpuPerFlow: (cpu.user + cpu.system) / pairs,
    maxRssMb: process.resourceUsage().maxRSS / 1024,
    denies,
    keptInEdges: kept,
    overflow,
    maxEdgesPerWindow: maxEdges,
  })}\n`,
);
