/**
 * Control plane scale benchmark (issue 15): the real `rampart controlplane` process and, for
 * each cluster size (500, 1,000, 2,000, 5,000 nodes), that many simulated agents on loopback
 * (grpc-js clients, each node on its own HTTP/2 connection and Collector stream, split over
 * two child processes), each sending one 10 s window for 50 contracts every 10 s (so N nodes
 * = N/10 reports/s), with every node an expected node of every contract's coverage gate.
 * Per size: ingest throughput, the control plane's CPU (its own process counters) and memory,
 * and the time from a window's arrival to the decision that used it (p50/p99 from the control
 * plane's own histogram, as bucket upper bounds); then one table of how they grow.
 *
 * Knobs (environment): BENCH_SIZES (500,1000,2000,5000), BENCH_CONTRACTS (50), BENCH_SECONDS
 * (20 measured seconds per size, two full window rounds), BENCH_CP_NODE_ARGS (node flags for
 * the control plane process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` to profile it),
 * BENCH_CP_PRIORITY (a nice value for the control plane process, e.g. -10; 0 leaves it),
 * BENCH_TLS (1: agents connect over TLS, as in production, with a certificate issued for the run).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { loadProto } from '../proto/loader.js';
import { contractSetFromPb } from '../proto/codec/contract-set-codec.js';
import { windowSummaryToPb } from '../proto/codec/report-codec.js';
import { issueTlsMaterial } from '../controlplane/access/tls-issuer.js';
import type { ContractSet, ContractWindow } from '../core/summary/index.js';
import { aSummary, contractWindowsFor } from '../test/support/window-builders.js';

const SIZES = (process.env['BENCH_SIZES'] ?? '500,1000,2000,5000').split(',').map(Number).filter((n) => n > 0);
const CONTRACTS = Number(process.env['BENCH_CONTRACTS'] ?? 50);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 20);
const CP_PRIORITY = Number(process.env['BENCH_CP_PRIORITY'] ?? 0);
const TLS = process.env['BENCH_TLS'] === '1';
const LOAD_PROCESSES = 2;
const WINDOW_MS = 10_000;
const TOKEN = 'bench-token';
const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '..', '..', 'bin', 'rampart.js');

// ---------------------------------------------------------------------------------------
// Load child: `node controlplane.bench.js agents <port> <first> <count> <rate> <seconds>`

async function runAgents(port: number, first: number, count: number, ratePerSecond: number, seconds: number): Promise<void> {
  const pkg = loadProto('rampart/v1/collector.proto') as unknown as { rampart: { v1: { Collector: grpc.ServiceClientConstructor } } };
  const Ctor = pkg.rampart.v1.Collector;
  type Duplex = grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;
  const agents: { node: string; client: grpc.Client; call: Duplex; set: ContractSet | null; seq: number; acks: number; rejects: number }[] = [];
  for (let i = first; i < first + count; i++) {
    // A local subchannel pool gives every agent its own connection, like separate nodes.
    // BENCH_TLS: the CA file the parent wrote (the load children inherit the environment).
    const caFile = process.env['BENCH_TLS_CA_FILE'];
    const credentials = TLS && caFile ? grpc.credentials.createSsl(fs.readFileSync(caFile)) : grpc.credentials.createInsecure();
    const client = new Ctor(`127.0.0.1:${port}`, credentials, { 'grpc.use_local_subchannel_pool': 1, ...(TLS ? { 'grpc.ssl_target_name_override': 'localhost', 'grpc.default_authority': 'localhost' } : {}) });
    const md = new grpc.Metadata();
    md.set('authorization', `Bearer ${TOKEN}`);
    const call = (client as unknown as { Connect(md: grpc.Metadata): Duplex }).Connect(md);
    const agent = { node: `node-${i}`, client, call, set: null as ContractSet | null, seq: 0, acks: 0, rejects: 0 };
    call.on('data', (msg: Record<string, unknown>) => {
      if (msg['body'] === 'contracts') {
        const set = contractSetFromPb(msg['contracts']);
        if (set.ok) agent.set = set.value;
      } else if (msg['body'] === 'ack') agent.acks++;
      else if (msg['body'] === 'reject') agent.rejects++;
    });
    call.on('error', () => undefined);
    call.write({ hello: { node: agent.node, boot_id: `bench-${process.pid}`, version: 'bench' } });
    agents.push(agent);
  }
  const readyBy = Date.now() + 90_000;
  while (agents.some((a) => a.set === null) && Date.now() < readyBy) await new Promise((r) => setTimeout(r, 50));
  process.send?.({ ready: agents.filter((a) => a.set !== null).length });
  await new Promise<void>((resolve) => process.once('message', () => resolve()));

  const windowOf = (a: (typeof agents)[number], end: number): Record<string, unknown> => {
    const contracts: ContractWindow[] = contractWindowsFor(a.set?.contracts ?? [], { egress: { allow: 40, deny: 0, indeterminate: 1 }, allow: 55 });
    const summary = aSummary({ node: a.node, bootId: `bench-${process.pid}`, seq: ++a.seq, windowEndMs: end, windowMs: WINDOW_MS, flowsSeen: 2000, connections: 96, contracts, contractsGeneration: a.set?.generation ?? 0 });
    return windowSummaryToPb(summary) as unknown as Record<string, unknown>;
  };

  // Spread the sends evenly: every tick sends the next agents in round-robin order.
  const tickMs = 20;
  let next = 0;
  let sent = 0;
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      if (Date.now() - started >= seconds * 1000) {
        clearInterval(timer);
        resolve();
        return;
      }
      // Catch up to rate × elapsed, so timer drift under load does not lower the rate.
      const due = Math.floor((ratePerSecond * (Date.now() - started)) / 1000);
      while (sent < due) {
        const a = agents[next++ % agents.length]!;
        a.call.write({ report: windowOf(a, Date.now()) });
        sent++;
      }
    }, tickMs);
  });
  const ackBy = Date.now() + 10_000;
  const acked = (): number => agents.reduce((n, a) => n + a.acks + a.rejects, 0);
  while (acked() < sent && Date.now() < ackBy) await new Promise((r) => setTimeout(r, 50));
  process.send?.({ sent, acks: agents.reduce((n, a) => n + a.acks, 0), rejects: agents.reduce((n, a) => n + a.rejects, 0) });
  for (const a of agents) {
    a.call.end();
    a.client.close();
  }
  process.exit(0);
}

// ---------------------------------------------------------------------------------------
// Driver

function contractDoc(i: number): unknown {
  return {
    apiVersion: 'rampart.dev/v1alpha1',
    kind: 'RampContract',
    metadata: { name: `contract-${i}` },
    spec: {
      policies: [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: `p${i}`, namespace: `ns-${i}` },
          spec: { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] },
        },
      ],
      rollout: {
        strategy: 'percent',
        stages: [
          { name: 'monitor', minDuration: '1h' },
          { name: 'canary', percent: 10, minDuration: '1h' },
          { name: 'full', percent: 100, minDuration: '1h' },
        ],
      },
      gates: { minFlows: 1000, maxReportAge: '2m' },
    },
  };
}

async function scrape(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

function quantileFromBuckets(before: Map<string, number>, after: Map<string, number>, q: number): string {
  const name = 'rampart_controlplane_decision_latency_seconds_bucket';
  const buckets: { le: number; count: number }[] = [];
  for (const [k, v] of after) {
    const m = new RegExp(`^${name}\\{le="([^"]+)"\\}$`).exec(k);
    if (!m) continue;
    buckets.push({ le: m[1] === '+Inf' ? Infinity : Number(m[1]), count: v - (before.get(k) ?? 0) });
  }
  buckets.sort((a, b) => a.le - b.le);
  const total = buckets.at(-1)?.count ?? 0;
  if (total === 0) return 'n/a';
  const found = buckets.find((b) => b.count >= q * total);
  return found ? (found.le === Infinity ? '> 5 s' : `<= ${found.le * 1000} ms`) : 'n/a';
}

interface SizeResult {
  readonly nodes: number;
  readonly connectS: number;
  readonly reportsPerS: number;
  readonly targetPerS: number;
  readonly cpuCores: number;
  readonly rssMiB: number;
  readonly heapMiB: number;
  readonly p50: string;
  readonly p99: string;
  readonly meanMs: string;
  readonly passMs: string;
  readonly rejects: number;
}

async function runSize(AGENTS: number): Promise<SizeResult> {
  const RATE = AGENTS / (WINDOW_MS / 1000);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-bench-cp-'));
  const procs: ChildProcess[] = [];
  try {
    fs.mkdirSync(path.join(dir, 'contracts'));
    for (let i = 0; i < CONTRACTS; i++) fs.writeFileSync(path.join(dir, 'contracts', `c${i}.json`), JSON.stringify(contractDoc(i)));
    fs.writeFileSync(path.join(dir, 'token'), TOKEN);
    const tlsArgs: string[] = [];
    if (TLS) {
      const m = issueTlsMaterial(['localhost'], Date.now());
      fs.writeFileSync(path.join(dir, 'tls.crt'), m.certPem);
      fs.writeFileSync(path.join(dir, 'tls.key'), m.keyPem);
      fs.writeFileSync(path.join(dir, 'ca.crt'), m.caPem);
      process.env['BENCH_TLS_CA_FILE'] = path.join(dir, 'ca.crt');
      tlsArgs.push('--grpc-tls-cert', path.join(dir, 'tls.crt'), '--grpc-tls-key', path.join(dir, 'tls.key'));
    }
    // BENCH_CP_NODE_ARGS: extra node flags for the control plane only (e.g. --cpu-prof).
    const nodeArgs = (process.env['BENCH_CP_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== '');
    const cp = spawn(process.execPath, [...nodeArgs, bin, 'controlplane', '--contracts', path.join(dir, 'contracts'), '--state', path.join(dir, 'state'), '--token-file', path.join(dir, 'token'), '--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', ...tlsArgs], { stdio: ['ignore', 'pipe', 'inherit'] });
    procs.push(cp);
    // BENCH_CP_PRIORITY (e.g. -10, needs root): on a shared machine the control plane is
    // starved of CPU by everything else and latency measures the scheduler, not the code; a
    // real control plane has its own CPU request. The CPU it uses is measured either way.
    if (CP_PRIORITY !== 0) os.setPriority(cp.pid!, CP_PRIORITY);
    // The `listening` log line carries the ports the OS chose; the rest of the log is drained.
    const { base, grpcPort } = await new Promise<{ base: string; grpcPort: number }>((resolve, reject) => {
      const timeout = setTimeout(() => reject(new Error('control plane did not start')), 20_000);
      let buffer = '';
      cp.stdout!.setEncoding('utf8');
      cp.stdout!.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (!line.includes('"listening"')) continue;
          const l = JSON.parse(line) as { grpcPort: number; httpPort: number };
          clearTimeout(timeout);
          resolve({ base: `http://127.0.0.1:${l.httpPort}`, grpcPort: l.grpcPort });
        }
      });
    });

    const per = Math.ceil(AGENTS / LOAD_PROCESSES);
    const children = [];
    for (let p = 0; p < LOAD_PROCESSES; p++) {
      const count = Math.min(per, AGENTS - p * per);
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), 'agents', String(grpcPort), String(p * per), String(count), String((RATE * count) / AGENTS), String(SECONDS)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
      procs.push(child);
      children.push(child);
    }
    const connectStart = Date.now();
    const ready = await Promise.all(children.map((c) => new Promise<number>((resolve) => c.once('message', (m: { ready: number }) => resolve(m.ready)))));
    const connectS = (Date.now() - connectStart) / 1000;
    process.stdout.write(`\n${AGENTS} nodes: ${ready.reduce((a, b) => a + b, 0)} agents connected in ${connectS.toFixed(1)} s (${CONTRACTS} contracts each)\n`);

    const before = await scrape(base);
    const ticksBefore = procCpuTicks(cp.pid!);
    const t0 = performance.now();
    const results = children.map((c) => new Promise<{ sent: number; acks: number; rejects: number }>((resolve) => c.once('message', resolve)));
    for (const c of children) c.send('go');
    const done = await Promise.all(results);
    const elapsedS = (performance.now() - t0) / 1000;
    const after = await scrape(base);
    const ticksAfter = procCpuTicks(cp.pid!);

    const sent = done.reduce((n, d) => n + d.sent, 0);
    const acks = done.reduce((n, d) => n + d.acks, 0);
    const rejects = done.reduce((n, d) => n + d.rejects, 0);
    const accepted = (after.get('rampart_controlplane_reports_total{result="accepted"}') ?? 0) - (before.get('rampart_controlplane_reports_total{result="accepted"}') ?? 0);
    const windows = (after.get('rampart_controlplane_contract_windows_total{result="current"}') ?? 0) - (before.get('rampart_controlplane_contract_windows_total{result="current"}') ?? 0);
    const cpu = (after.get('rampart_controlplane_process_cpu_seconds_total') ?? 0) - (before.get('rampart_controlplane_process_cpu_seconds_total') ?? 0);
    const rssMiB = (after.get('rampart_controlplane_process_resident_memory_bytes') ?? 0) / 1024 / 1024;
    const heapMiB = (after.get('rampart_controlplane_nodejs_heap_size_used_bytes') ?? 0) / 1024 / 1024;
    const decisions = (after.get('rampart_controlplane_decision_latency_seconds_count') ?? 0) - (before.get('rampart_controlplane_decision_latency_seconds_count') ?? 0);
    const latSum = (after.get('rampart_controlplane_decision_latency_seconds_sum') ?? 0) - (before.get('rampart_controlplane_decision_latency_seconds_sum') ?? 0);
    const passes = (after.get('rampart_controlplane_reconcile_duration_seconds_count') ?? 0) - (before.get('rampart_controlplane_reconcile_duration_seconds_count') ?? 0);
    const passSum = (after.get('rampart_controlplane_reconcile_duration_seconds_sum') ?? 0) - (before.get('rampart_controlplane_reconcile_duration_seconds_sum') ?? 0);
    const p50 = quantileFromBuckets(before, after, 0.5);
    const p99 = quantileFromBuckets(before, after, 0.99);
    const meanMs = decisions > 0 ? ((latSum / decisions) * 1000).toFixed(0) : 'n/a';
    const passMs = passes > 0 ? ((passSum / passes) * 1000).toFixed(1) : 'n/a';

    const lines = [
      `measured: ${elapsedS.toFixed(1)} s; reports sent ${sent}, acked ${acks}, rejected ${rejects}, accepted by the control plane ${accepted}`,
      `ingest: ${(accepted / elapsedS).toFixed(0)} reports/s (target ${RATE}) = ${(windows / elapsedS).toFixed(0)} contract windows/s (target ${RATE * CONTRACTS})`,
      `control plane CPU: ${cpu.toFixed(2)} s over ${elapsedS.toFixed(1)} s = ${((cpu / elapsedS) * 100).toFixed(0)}% of one core (target < 100%)`,
      ...(ticksBefore !== null && ticksAfter !== null
        ? [`control plane CPU per /proc/<pid>/stat: ${((ticksAfter - ticksBefore) / CLOCK_TICKS_PER_S).toFixed(2)} s (cross-check)`]
        : []),
      `control plane memory: RSS ${rssMiB.toFixed(0)} MiB, heap used ${heapMiB.toFixed(0)} MiB`,
      `window arrival -> decision: ${decisions} windows, mean ${meanMs} ms, p50 ${p50}, p99 ${p99} (target p99 < 1 s)`,
      `reconcile passes: ${passes}, mean ${passMs} ms over ${CONTRACTS} contracts x ${AGENTS} nodes; failed passes ${(after.get('rampart_controlplane_reconcile_errors_total') ?? 0) - (before.get('rampart_controlplane_reconcile_errors_total') ?? 0)}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    return { nodes: AGENTS, connectS, reportsPerS: accepted / elapsedS, targetPerS: RATE, cpuCores: cpu / elapsedS, rssMiB, heapMiB, p50, p99, meanMs, passMs, rejects };
  } finally {
    // The control plane gets a SIGTERM first, so a --cpu-prof profile is written.
    const [cp, ...rest] = procs;
    for (const p of rest) if (p.exitCode === null) p.kill('SIGKILL');
    if (cp && cp.exitCode === null) {
      const exited = new Promise((resolve) => cp.once('exit', resolve));
      cp.kill('SIGTERM');
      const timer = setTimeout(() => cp.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  process.stdout.write(`control plane at ${SIZES.join(', ')} nodes x ${CONTRACTS} contracts, 10 s windows, ${SECONDS} s measured per size, ${TLS ? 'TLS' : 'plaintext'}${CP_PRIORITY !== 0 ? `, control plane at nice ${CP_PRIORITY}` : ''}\n`);
  const rows: SizeResult[] = [];
  for (const n of SIZES) rows.push(await runSize(n));
  const header = ['nodes', 'reports/s', 'target', 'CPU (cores)', 'RSS MiB', 'heap MiB', 'decision p50', 'decision p99', 'mean ms', 'pass ms', 'connect s'];
  const cells = rows.map((r) => [String(r.nodes), r.reportsPerS.toFixed(0), String(r.targetPerS), r.cpuCores.toFixed(2), r.rssMiB.toFixed(0), r.heapMiB.toFixed(0), r.p50, r.p99, r.meanMs, r.passMs, r.connectS.toFixed(1)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const fmt = (c: readonly string[]): string => c.map((x, i) => x.padStart(widths[i]!)).join('  ');
  process.stdout.write(`\n${fmt(header)}\n${cells.map(fmt).join('\n')}\n`);
  process.stdout.write(`targets (issue 18): 10,000 nodes in < 1 core, RSS <= 256 MiB, decision p99 < 1 s; 5,000 nodes in RSS <= 200 MiB\n`);
  process.stdout.write(
    TLS
      ? `agents connect over TLS here, as in production (BENCH_TLS=1)\n`
      : `agents connect in plaintext here; production agents use TLS, which Node's TLS sockets make about 55 KiB more per connection (BENCH_TLS=1 measures it; docs/controlplane-scale.md)\n`,
  );
  process.stdout.write(`machine: ${os.cpus().length} cores (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
}

/** USER_HZ on Linux (getconf CLK_TCK), which is 100 on every mainstream architecture. */
const CLOCK_TICKS_PER_S = 100;

/** utime + stime of a process in clock ticks (Linux), or null elsewhere. */
function procCpuTicks(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[11]) + Number(rest[12]);
  } catch {
    return null;
  }
}

if (process.argv[2] === 'agents') {
  const [port, first, count, rate, seconds] = process.argv.slice(3).map(Number);
  await runAgents(port!, first!, count!, rate!, seconds!);
} else {
  await main();
}
