/**
 * Agent throughput (issue 4 item 8): replay server → Hubble client → classification →
 * evaluation against 20 contracts → window aggregation, beside a no-op consumer of the same
 * stream (same grpc-js transport, raw bytes, no decoding), in the same run. The server runs in
 * a child process, so `process.cpuUsage()` here is the consumer's CPU alone. Then the
 * cardinality flood (a million distinct workload pairs) in a child process, for its peak RSS.
 *
 * Targets: ratio (no-op consumer's CPU per flow / the agent's) ≥ 0.8 (issue 18); RSS ≤ 200 MB under
 * the in-process cardinality flood; the connection flood through the processes with 0 events
 * lost and the agent's peak RSS ≤ 128 MB as deployed.
 * The reporter is left out of the throughput loop: it sends one message per window (10 s).
 */
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { AGENT_FILTERS, createHubbleClient } from '../agent/hubble/client.js';
import { FastDecoder } from '../agent/hubble/fast-decode.js';
import { ContractStore } from '../agent/monitor/contract-store.js';
import { silentLogger } from '../io/json-logger.js';
import { Pipeline } from '../agent/monitor/pipeline.js';
import { networkPolicyEngine, type ContractEvaluator } from '../agent/monitor/policy-engine.js';
import { sampleFlowJson } from '../agent/monitor/sample-flow.js';
import { ConnectionTracker } from '../core/flow/index.js';
import { encodeRecord, hubbleType } from '../proto/codec/hubble-types.js';
import { benchContracts } from './agent-contracts.js';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { TestCollector } from '../test/support/collector.js';
import { stallGuard } from './stall-guard.js';
import { measure, startBenchServer, type Sample } from './stream-bench.js';

const FLOWS = 65_535;
/**
 * One decoder for every round's client, as one agent has one stream (and one decoder) for its
 * life: its endpoint and address caches are warm after the first round, as they are in a
 * running agent (they were module state before, shared the same way).
 */
const fastDecoder = new FastDecoder();
const ROUNDS = 9;
const CONTRACTS = 20;
const FLOOD_PAIRS = 1_000_000;
/** Every flood flow is denied by every contract on both sides: 5 contracts is already 10 top-K updates per flow. */
const FLOOD_CONTRACTS = 5;
const here = dirname(fileURLToPath(import.meta.url));
/** RAMPART_AGENT_BENCH=throughput,flood,process-flood (default: all three) picks the parts to run. */
const parts = new Set((process.env['RAMPART_AGENT_BENCH'] ?? 'throughput,flood,process-flood').split(','));
/** Rounds a stall guard ended early (fewer messages than asked for), printed with the figures. */
const stoppedEarly: string[] = [];

/** Same request, same transport, no decoding. */
async function noopConsumer(address: string): Promise<number> {
  const client = new grpc.Client(address, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  const requestType = hubbleType('observer.GetFlowsRequest');
  const request = { follow: true, number: FLOWS, whitelist: [...(AGENT_FILTERS.whitelist ?? [])] };
  const call = client.makeServerStreamRequest<typeof request, Buffer>('/observer.Observer/GetFlows', (r) => encodeRecord(requestType, r), (b) => b, request, {});
  call.on('error', () => {}); // the cancel at the end
  let n = 0;
  let bytes = 0;
  const guard = stallGuard(() => n, () => call.cancel());
  try {
    for await (const buf of call as AsyncIterable<Buffer>) {
      bytes += buf.length;
      if (++n === FLOWS) break;
    }
  } catch (e) {
    if (!guard.stopped) throw e; // the guard's cancel ends the loop with CANCELLED
  } finally {
    guard.dispose();
    call.cancel();
    client.close();
  }
  if (guard.stopped) stoppedEarly.push(`no-op consumer: ${guard.reason}`);
  if (bytes === 0) throw new Error('no bytes');
  return n;
}

/** The Hubble client alone (decode to domain Flow, early skip), read as the agent reads it, to show where the agent's time goes. */
async function clientOnly(address: string): Promise<number> {
  const ac = new AbortController();
  const client = createHubbleClient({ target: address, filters: AGENT_FILTERS, signal: ac.signal, initialNumber: FLOWS, earlySkip: true, fastDecoder });
  let n = 0;
  let ports = 0;
  const guard = stallGuard(() => n, () => ac.abort());
  read: for await (const batch of client.batches()) {
    for (const ev of batch) {
      if (ev.kind === 'flow') ports += ev.flow.l4?.destinationPort ?? 0;
      if (++n === FLOWS) break read;
    }
  }
  guard.dispose();
  ac.abort();
  if (guard.stopped) stoppedEarly.push(`Hubble client alone: ${guard.reason}`);
  if (ports === 0) throw new Error('no ports decoded');
  return n;
}

let lastConnections = 0;
let lastEvaluations = 0;
let lastSkippedEarly = 0;
let lastMemo = { hits: 0, misses: 0 };

/**
 * The contract set, compiled once as the agent compiles each set it is sent (off the hot
 * path, not per flow), so the rounds measure what the agent does per flow.
 */
async function benchStore(): Promise<ContractStore<ContractEvaluator>> {
  const store = new ContractStore(networkPolicyEngine);
  const installed = await store.offer(benchContracts(CONTRACTS));
  if (!installed.ok) throw new Error(`bench contracts do not compile: ${JSON.stringify(installed.error.slice(0, 3))}`);
  return store;
}

/**
 * The agent's read-and-evaluate path: real client, tracker, engine, 20 contracts, windows.
 * Each round is a fresh pipeline (a cold connection tracker and verdict memo) over the
 * compiled set.
 */
async function agentConsumer(address: string, store: Awaited<ReturnType<typeof benchStore>>): Promise<number> {
  const ac = new AbortController();
  const client = createHubbleClient({ target: address, filters: AGENT_FILTERS, signal: ac.signal, initialNumber: FLOWS, earlySkip: true, fastDecoder });
  let evaluations = 0;
  const pipeline = new Pipeline({
    node: 'bench',
    bootId: 'bench',
    windowMs: 10_000,
    topK: 100,
    classifier: new ConnectionTracker(),
    engine: networkPolicyEngine,
    contracts: store,
    hubble: client.stats,
    clock: { nowMs: () => Date.now() },
    sampleOf: sampleFlowJson,
    onWindow: (s) => {
      for (const c of s.contracts) evaluations += c.egress.allow + c.egress.deny + c.egress.indeterminate + c.ingress.allow + c.ingress.deny + c.ingress.indeterminate;
    },
    logger: silentLogger,
  });
  const guard = stallGuard(() => pipeline.totals.events, () => ac.abort());
  let skippedEarly = 0;
  // As Pipeline.run reads the client in the agent: a batch at a time, each event handled in turn.
  read: for await (const batch of client.batches()) {
    for (const ev of batch) {
      if (ev.kind === 'flow-skipped') skippedEarly++;
      pipeline.handle(ev);
      if (pipeline.totals.flows === FLOWS) break read;
    }
  }
  guard.dispose();
  ac.abort();
  if (guard.stopped) stoppedEarly.push(`agent pipeline: ${guard.reason}`);
  pipeline.flush(); // one window close per round (the real agent closes one per 10 s)
  lastConnections = pipeline.totals.connections;
  lastEvaluations = evaluations;
  lastSkippedEarly = skippedEarly;
  lastMemo = { hits: pipeline.verdicts.hits, misses: pipeline.verdicts.misses };
  return pipeline.totals.flows;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function summarize(name: string, samples: Sample[]): { usPerFlow: number } {
  const perWallS = median(samples.map((s) => s.flows / (s.wallMs / 1000)));
  const usPerFlow = median(samples.map((s) => (s.cpuMs * 1000) / s.flows));
  process.stdout.write(`${name.padEnd(34)} ${usPerFlow.toFixed(2).padStart(6)} µs CPU/flow  ${fmt(1e6 / usPerFlow).padStart(9)} flows/CPU-s  ${fmt(perWallS).padStart(9)} flows/s wall\n`);
  return { usPerFlow };
}

async function throughput(): Promise<void> {
  const server = await startBenchServer('agent-bench-server', FLOWS);
  try {
    process.stdout.write(
      `server: child process (its CPU is not counted), ${fmt(FLOWS)} L3/L4 flows per round from ../shared/flows, ${ROUNDS} rounds (medians); CPU is this process's (process.cpuUsage)\n` +
        `  no-op consumer: a grpc-js client sending the agent's GetFlows request to the same server and receiving the same stream as raw bytes (identity deserializer, for await over the call), discarding every message: no decoding, no evaluation\n` +
        `  agent: agent/hubble's client (fast wire decoder, early skip of what the tracker skips anyway) → core ConnectionTracker → ${CONTRACTS} contracts of 5 policies through the VerdictMemo and core's evaluators → window aggregation (top-K edges, samples), one window close per round; the contract set is compiled once before the rounds (as the agent compiles each set it is sent), each round has a fresh pipeline (cold tracker and verdict memo)\n`,
    );
    await noopConsumer(server.address); // warm-up
    const store = await benchStore();
    await agentConsumer(server.address, store);
    const noop: Sample[] = [];
    const decode: Sample[] = [];
    const agent: Sample[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      noop.push(await measure(() => noopConsumer(server.address)));
      decode.push(await measure(() => clientOnly(server.address)));
      agent.push(await measure(() => agentConsumer(server.address, store)));
    }
    const n = summarize('no-op consumer (raw bytes)', noop);
    summarize('  Hubble client alone (decode)', decode);
    const a = summarize(`agent (${CONTRACTS} contracts)`, agent);
    process.stdout.write(
      `  per round: ${fmt(lastSkippedEarly)} flows skipped on the wire (never built), ${fmt(lastConnections)} connection starts, ${fmt(lastEvaluations)} connection-side evaluations; ` +
        `verdict memo ${fmt(lastMemo.hits)} hits / ${fmt(lastMemo.misses)} misses\n` +
        `ratio = no-op consumer CPU per flow / agent CPU per flow = ${n.usPerFlow.toFixed(2)} / ${a.usPerFlow.toFixed(2)} = ${(n.usPerFlow / a.usPerFlow).toFixed(2)} (target ≥ 0.80)\n`,
    );
    // Rates are per message actually received, so a short round still measures right; say so.
    if (stoppedEarly.length > 0) process.stdout.write(`rounds stopped early by the stall guard:\n  ${stoppedEarly.join('\n  ')}\n`);
  } finally {
    server.stop();
  }
}
if (parts.has('throughput')) await throughput();

/**
 * RAMPART_AGENT_BENCH=agent-only (or noop-only): one side's rounds alone, for `node --cpu-prof`
 * (no figures printed), so the two profiles can be set side by side.
 */
if (parts.has('agent-only') || parts.has('noop-only')) {
  const server = await startBenchServer('agent-bench-server', FLOWS);
  try {
    const store = await benchStore();
    for (let i = 0; i <= ROUNDS; i++) {
      if (parts.has('agent-only')) await agentConsumer(server.address, store);
      else await noopConsumer(server.address);
    }
  } finally {
    server.stop();
  }
}

/**
 * The flood twice: with V8's default heap heuristics (the old space grows lazily, so peak RSS
 * says more about V8 than about us), and with the heap capped at 128 MB as a container memory
 * limit would (NODE_OPTIONS=--max-old-space-size=128): finishing under the cap shows that what
 * the agent keeps alive is bounded.
 */
for (const heapCap of parts.has('flood') ? [null, 128] : []) {
  const args = [...(heapCap === null ? [] : [`--max-old-space-size=${heapCap}`]), join(here, 'agent-flood.js'), String(FLOOD_PAIRS), String(FLOOD_CONTRACTS)];
  const flood = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (flood.status !== 0) throw new Error(`flood child failed (heap cap ${heapCap ?? 'none'}): ${flood.stderr}`);
  const f = JSON.parse(flood.stdout.trim()) as { pairs: number; contracts: number; usCpuPerFlow: number; maxRssMb: number; denies: number; keptInEdges: number; overflow: number; maxEdgesPerWindow: number };
  process.stdout.write(
    `cardinality flood (${heapCap === null ? 'default V8 heap' : `--max-old-space-size=${heapCap}`}): ${fmt(f.pairs)} distinct workload pairs, ${f.contracts} contracts: ` +
      `peak RSS ${f.maxRssMb.toFixed(0)} MB (target ≤ 200 MB), ${f.usCpuPerFlow.toFixed(1)} µs CPU/flow; ` +
      `would-deny ${fmt(f.denies)} = ${fmt(f.keptInEdges)} in top-K edges (≤ ${f.maxEdgesPerWindow} per window and contract) + ${fmt(f.overflow)} overflow\n`,
  );
}

/**
 * A connection flood through the real processes (issue 18): a live Hubble server child
 * publishing PROCESS_FLOOD_RATE new distinct connections per second for PROCESS_FLOOD_SECONDS,
 * between PROCESS_FLOOD_PAIRS distinct workload pairs → a `rampart agent` process (one contract)
 * → a collector here. Reports the agent process's peak RSS (VmHWM), what its windows said, and
 * the events Hubble reported lost (its ring overwrote them because the agent fell behind).
 */
const PROCESS_FLOOD_RATE = 10_000;
const PROCESS_FLOOD_SECONDS = 60;
const PROCESS_FLOOD_PAIRS = 200_000;
const PROCESS_FLOOD_FLOWS = PROCESS_FLOOD_RATE * PROCESS_FLOOD_SECONDS;

/** NODE_OPTIONS of the agent container in deploy/agent/daemonset.yaml ('' when it sets none). */
function deployedNodeOptions(): string {
  const file = join(here, '..', '..', 'deploy', 'agent', 'daemonset.yaml');
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const d = doc.toJS() as { kind?: string; spec?: { template?: { spec?: { containers?: { name: string; env?: { name: string; value?: string }[] }[] } } } };
    if (d.kind !== 'DaemonSet') continue;
    const agent = d.spec?.template?.spec?.containers?.find((c) => c.name === 'agent');
    return agent?.env?.find((e) => e.name === 'NODE_OPTIONS')?.value ?? '';
  }
  throw new Error(`no DaemonSet in ${file}`);
}

async function processFlood(nodeOptions: string, setting: string): Promise<void> {
  const repoRoot = join(here, '..', '..');
  const serverChild = spawn(process.execPath, [join(here, 'agent-flood-server.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
  const serverLines = createInterface({ input: serverChild.stdout });
  const serverMessages: Record<string, unknown>[] = [];
  serverLines.on('line', (l) => serverMessages.push(JSON.parse(l) as Record<string, unknown>));
  const until = async (probe: () => boolean, timeoutMs: number, what: string): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!probe()) {
      if (Date.now() > deadline) throw new Error(`flood bench: timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  await until(() => serverMessages.length > 0, 10_000, 'the flood server');
  const address = String(serverMessages[0]!['address']);
  const collector = new TestCollector({ contracts: benchContracts(1, 'flood') });
  await collector.start(0);
  const agentProc = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'rampart.js'), 'agent', '--hubble', address, '--controlplane', `127.0.0.1:${collector.port}`, '--node', 'flood-node', '--window', '1s', '--metrics-listen', 'off', '--log-level', 'warn'],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NODE_OPTIONS: nodeOptions } },
  );
  let agentErr = '';
  agentProc.stderr.setEncoding('utf8');
  agentProc.stderr.on('data', (c: string) => {
    agentErr = (agentErr + c).slice(-4000);
  });
  let agentExit: string | null = null;
  agentProc.on('exit', (code, signal) => {
    agentExit = `code ${code ?? '-'}, signal ${signal ?? '-'}`;
  });
  const label = `connection flood through the processes (live Hubble server: ${fmt(PROCESS_FLOOD_RATE)} new connections/s for ${PROCESS_FLOOD_SECONDS} s, ${fmt(PROCESS_FLOOD_PAIRS)} workload pairs → rampart agent, 1 contract, ${setting})`;
  try {
    await until(() => collector.accepted.filter((w) => w.contractsGeneration === 1).length >= 2, 30_000, 'the agent to take the contract set');
    serverChild.stdin.write(`go ${PROCESS_FLOOD_FLOWS} ${PROCESS_FLOOD_RATE} ${PROCESS_FLOOD_PAIRS}\n`);
    await until(() => serverMessages.length > 1, 120_000, 'the flood to be published');
    // Quiescent: three windows in a row without new flows.
    let last = -1;
    let still = 0;
    await until(
      () => {
        if (agentExit !== null) return true;
        const seen = collector.accepted.reduce((n, w) => n + w.hubble.flowsSeen, 0);
        still = seen === last ? still + 1 : 0;
        last = seen;
        return still >= 30;
      },
      120_000,
      'the agent to finish the flood',
    );
    if (agentExit !== null) {
      const oom = /heap out of memory/i.test(agentErr);
      process.stdout.write(`${label}: the agent process exited (${agentExit})${oom ? ': JavaScript heap out of memory' : ''}\n`);
      return;
    }
    const status = readFileSync(`/proc/${agentProc.pid}/status`, 'utf8');
    const hwmKb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? NaN);
    const stat = readFileSync(`/proc/${agentProc.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    const cpuS = (Number(stat[11]) + Number(stat[12])) / 100; // utime + stime, in USER_HZ (100)
    const sum = (pick: (w: (typeof collector.accepted)[number]) => number): number => collector.accepted.reduce((n, w) => n + pick(w), 0);
    const flows = sum((w) => w.hubble.flowsSeen);
    const lost = sum((w) => Object.values(w.hubble.lost).reduce((a, b) => a + b, 0));
    const denies = sum((w) => w.contracts.reduce((n, c) => n + c.egress.deny + c.ingress.deny, 0));
    const kept = sum((w) => w.contracts.reduce((n, c) => n + c.wouldDenyEdges.reduce((m, e) => m + e.count, 0), 0));
    const overflow = sum((w) => w.contracts.reduce((n, c) => n + c.wouldDenyEdgesOverflow, 0));
    const maxEdges = Math.max(0, ...collector.accepted.flatMap((w) => w.contracts.map((c) => c.wouldDenyEdges.length)));
    process.stdout.write(
      `${label}: ` +
        `agent peak RSS ${(hwmKb / 1024).toFixed(0)} MB (target ≤ 128 MB as deployed), agent CPU ${cpuS.toFixed(1)} s; ` +
        `${fmt(flows)} flows read, ${fmt(lost)} reported lost by Hubble (target 0); would-deny ${fmt(denies)} = ${fmt(kept)} in top-K edges (≤ ${maxEdges} per window) + ${fmt(overflow)} overflow\n`,
    );
  } finally {
    agentProc.kill('SIGKILL');
    serverChild.kill('SIGKILL');
    await collector.stop();
  }
}
if (parts.has('process-flood')) {
  // As deployed (the DaemonSet's NODE_OPTIONS), and with V8's defaults for comparison.
  const deployed = deployedNodeOptions();
  await processFlood(deployed, `NODE_OPTIONS="${deployed}" as in deploy/agent/daemonset.yaml`);
  if (deployed !== '') await processFlood('', 'no NODE_OPTIONS: default V8 heap');
}
