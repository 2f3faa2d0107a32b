/**
 * `rampart simulate` as a real process: one Hubble Observer server per simulated node,
 * read by our own gRPC client and by the upstream `hubble` CLI. Each node reports only what
 * it would see: its own node name, endpoint IDs only for its own pods.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubbleGrpc } from '../../proto/codec/hubble-types.js';
import { hubbleCli } from '../support/hubble-cli/hubble-cli.js';
import { waitFor } from '../support/wait-for.js';

const bin = fileURLToPath(new URL('../../bin/rampart.js', import.meta.url));
const run = promisify(execFile);

interface FlowRec {
  node_name: string;
  IP: { source: string; destination: string };
  source: { ID?: number; labels: string[] };
  destination: { ID?: number; labels: string[] };
  trace_reason?: string;
  l4: { TCP?: { destination_port: number }; UDP?: { destination_port: number } };
}

/** Pod IPs are 10.244.<node index>.x, node i being sim-worker-(i+1). */
const nodeOfIp = (ip: string): string | null => {
  const m = /^10\.244\.(\d+)\./.exec(ip);
  return m ? `sim-worker-${Number(m[1]) + 1}` : null;
};

describe('rampart simulate', () => {
  let child: ChildProcess;
  let exited: Promise<number | null>;
  const output: string[] = [];
  let nodes: { node: string; address: string }[] = [];

  beforeAll(async () => {
    if (!existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))) throw new Error('dist/ is missing: run `npm run build` first');
    child = spawn(process.execPath, [bin, 'simulate', '--rate', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    for (const s of [child.stdout!, child.stderr!]) createInterface({ input: s }).on('line', (l) => output.push(l));
    await waitFor(() => output.filter((l) => l.startsWith('node ')).length === 3, { timeoutMs: 20_000, what: 'three node addresses' });
    nodes = output.filter((l) => l.startsWith('node ')).map((l) => {
      const [, node, , address] = l.split(' ');
      return { node: node!, address: address! };
    });
  });

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('serves each node’s flows over the Hubble Observer API, IDs only for local endpoints', async () => {
    const Observer = (hubbleGrpc().observer as grpc.GrpcObject).Observer as grpc.ServiceClientConstructor;
    for (const { node, address } of nodes) {
      const client = new Observer(address, grpc.credentials.createInsecure());
      const flows: FlowRec[] = [];
      await new Promise<void>((resolve, reject) => {
        const call = (client as unknown as { GetFlows(req: object): grpc.ClientReadableStream<{ flow?: FlowRec }> }).GetFlows({ follow: true });
        call.on('data', (r: { flow?: FlowRec }) => {
          if (r.flow) flows.push(r.flow);
          if (flows.length >= 40) call.cancel();
        });
        call.on('error', (e: grpc.ServiceError) => (e.code === grpc.status.CANCELLED ? resolve() : reject(e)));
        call.on('end', () => resolve());
      });
      client.close();
      expect(flows.length).toBeGreaterThanOrEqual(40);
      for (const f of flows) {
        expect(f.node_name).toBe(node);
        const srcNode = nodeOfIp(f.IP.source);
        const dstNode = nodeOfIp(f.IP.destination);
        expect(f.source.ID !== undefined).toBe(srcNode === node);
        expect(f.destination.ID !== undefined).toBe(dstNode === node);
      }
      expect(flows.some((f) => f.trace_reason === 'NEW')).toBe(true);
    }
  });

  it('is read by the upstream hubble CLI, filters included', async () => {
    const hubble = await hubbleCli();
    const { node, address } = nodes[0]!;
    const all = await run(hubble, ['observe', '--server', address, '--last', '200', '-o', 'json'], { timeout: 30_000 });
    const lines = all.stdout.trim().split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(20);
    for (const l of lines) expect((JSON.parse(l) as { flow: FlowRec }).flow.node_name).toBe(node);
    const dns = await run(hubble, ['observe', '--server', address, '--last', '500', '--protocol', 'udp', '--to-port', '53', '-o', 'json'], { timeout: 30_000 });
    const dnsFlows = dns.stdout.trim().split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { flow: FlowRec }).flow);
    expect(dnsFlows.length).toBeGreaterThan(0);
    for (const f of dnsFlows) {
      expect(f.l4.UDP?.destination_port).toBe(53);
      expect(f.destination.labels).toContain('k8s:k8s-app=kube-dns');
    }
  });

  it('stops on SIGINT with a summary', async () => {
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    expect(output.some((l) => /^stopped: \d+ flows/.test(l))).toBe(true);
  });
});
