/**
 * `rampart simulate`: a simulated cluster with one Hubble Observer server per node, emitting
 * flows as Cilium would for its traffic model, and (with --controlplane-http) enforcing what
 * the control plane currently applies. Prints each node's Hubble address, then runs until
 * SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import process, { stderr, stdout } from 'node:process';
import { formatProblems, parseDurationMs, problem } from '../../core/common/index.js';
import { writeCapture } from '../../sim/capture.js';
import { demoDir, loadClusterSpec } from '../../sim/load-spec.js';
import { RunningCluster } from '../../sim/running-cluster.js';
import { syntheticSpec } from '../../sim/synthetic.js';
import { readInteger, readPositiveNumber } from '../../io/flags.js';
import { commandFlags, usageError } from './command-flags.js';

const USAGE = `usage: rampart simulate [--cluster <file>] [--nodes <n>] [--workloads <n>] [--rate <x>] [--seed <n>]
       [--listen-host <ip>] [--base-port <port>] [--socket-dir <dir>]
       [--controlplane-http <url>] [--token-file <file>]
       rampart simulate --capture <duration> [--late] [--cluster <file>] [--nodes <n>] [--rate <x>] [--seed <n>]

  --cluster            cluster and traffic model (default: the bundled demo/cluster.yaml)
  --nodes              number of nodes (overrides the file)
  --workloads          generate a cluster of this many workloads instead of reading a file
  --rate               multiplies every call rate (default 1)
  --base-port          node i listens on base-port+i (default: any free port)
  --socket-dir         listen on unix sockets <dir>/<node>.sock instead of TCP
  --controlplane-http  follow what this control plane applies (its HTTP API base URL)
  --capture            no servers: print this much simulated traffic (ending now) as
                       \`hubble observe -o json\` lines on stdout, as fast as it can
  --late               with --capture: the scenario's late callers are active too
`;

function fail(message: string): number {
  return usageError('rampart simulate', [problem('', message)], USAGE);
}

/** The number, null when the flag is absent, or the problem as text. */
function positiveNumber(text: string | undefined, flag: string, integer: boolean): number | string | null {
  if (text === undefined) return null;
  const r = integer ? readInteger(text, flag, { min: 1 }) : readPositiveNumber(text, flag);
  return r.ok ? r.value : formatProblems([r.error]);
}

export async function run(args: readonly string[]): Promise<number> {
  const parsed = commandFlags('rampart simulate', USAGE, args, {
    cluster: { type: 'string' },
    nodes: { type: 'string' },
    workloads: { type: 'string' },
    rate: { type: 'string' },
    seed: { type: 'string' },
    'listen-host': { type: 'string', default: '127.0.0.1' },
    'base-port': { type: 'string' },
    'socket-dir': { type: 'string' },
    'controlplane-http': { type: 'string' },
    'token-file': { type: 'string' },
    capture: { type: 'string' },
    late: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const nodes = positiveNumber(values.nodes, '--nodes', true);
  const workloads = positiveNumber(values.workloads, '--workloads', true);
  const rate = positiveNumber(values.rate, '--rate', false);
  const seed = positiveNumber(values.seed, '--seed', true);
  const basePort = positiveNumber(values['base-port'], '--base-port', true);
  for (const v of [nodes, workloads, rate, seed, basePort]) if (typeof v === 'string') return fail(v);
  if (workloads !== null && values.cluster !== undefined) return fail('--workloads and --cluster are exclusive');

  let spec;
  if (typeof workloads === 'number') {
    spec = syntheticSpec({ workloads, nodes: typeof nodes === 'number' ? nodes : 3 });
  } else {
    const file = values.cluster ?? path.join(demoDir(), 'cluster.yaml');
    const r = loadClusterSpec(file);
    if (!r.ok) {
      stderr.write(`rampart simulate: bad cluster file\n${formatProblems(r.error)}\n`);
      return 2;
    }
    spec = r.value;
  }
  if (values.capture !== undefined) {
    const d = parseDurationMs(values.capture);
    if (!d.ok || d.value <= 0) return fail(`--capture: ${d.ok ? 'expected a positive duration' : d.error}`);
    const s = writeCapture({
      spec,
      durationMs: d.value,
      nodes: typeof nodes === 'number' ? nodes : undefined,
      rateScale: typeof rate === 'number' ? rate : 1,
      seed: typeof seed === 'number' ? seed : 1,
      late: values.late,
      write: (line) => stdout.write(line),
    });
    stderr.write(`rampart simulate: ${s.flows} flows, ${s.connections} connections over ${values.capture}\n`);
    return 0;
  }
  let token: string | null = null;
  if (values['token-file'] !== undefined) {
    try {
      token = readFileSync(values['token-file'], 'utf8').trim();
    } catch (e) {
      return fail(`--token-file: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  const host = values['listen-host'];
  const socketDir = values['socket-dir'];
  const cluster = new RunningCluster({
    spec,
    nodes: typeof nodes === 'number' ? nodes : undefined,
    rateScale: typeof rate === 'number' ? rate : 1,
    seed: typeof seed === 'number' ? seed : 1,
    listen: (node) =>
      socketDir !== undefined
        ? `unix://${path.resolve(socketDir, `${node.name}.sock`)}`
        : `${host}:${typeof basePort === 'number' ? basePort + node.index : 0}`,
    controlplaneHttp: values['controlplane-http'],
    token,
    onAppliedChange: (applied) => {
      const text = applied.map((a) => `${a.contract}@${a.stageIndex}:${a.mode}${a.mode === 'percent' ? `${a.percent}%` : a.mode === 'namespaces' ? `[${a.namespaces.join(',')}]` : ''}`).join(' ');
      stdout.write(`applied ${text || '(none)'}\n`);
    },
    onFollowError: (message) => stderr.write(`rampart simulate: following the control plane: ${message}\n`),
  });
  const addresses = await cluster.start();
  const c = cluster.simulator.cluster;
  stdout.write(`simulated cluster ${c.name}: ${c.nodes.length} nodes, ${c.workloads.size} workloads, ${c.pods.length} pods\n`);
  for (const a of addresses) stdout.write(`node ${a.node} hubble ${a.address}\n`);

  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await cluster.stop();
  const s = cluster.simulator.stats();
  stdout.write(`stopped: ${s.flows} flows, ${s.connections} connections, ${s.droppedAttempts} dropped attempts\n`);
  return 0;
}
