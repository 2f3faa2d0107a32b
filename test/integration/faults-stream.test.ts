/**
 * A stalled client on the live stream (WebSocket /api/v1/stream) of the real control plane
 * process: one client stops reading while denied edges keep streaming out. The control plane
 * drops what that client cannot take, counts it, disconnects it, and keeps serving a client
 * that reads; afterwards nothing more is dropped or held for the stalled one.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Edge } from '../../core/summary/index.js';
import { CollectorClient } from '../support/collector-client.js';
import { startControlplaneProcess } from '../support/controlplane-process.js';
import { controlplaneMetrics } from '../support/faults.js';
import { waitFor } from '../support/wait-for.js';
import { aSummary, contractDoc, contractWindowsFor } from '../support/window-builders.js';

const TOKEN = 'stream-token';
const CONTRACTS = Array.from({ length: 20 }, (_, i) => `c${i + 1}`);
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function rssBytes(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

describe('live stream faults', () => {
  it('a client that stops reading is dropped and counted, not buffered without bound; a reading client keeps up', { timeout: 120_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-faults-stream-'));
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
    fs.mkdirSync(path.join(dir, 'contracts'));
    for (const name of CONTRACTS) fs.writeFileSync(path.join(dir, 'contracts', `${name}.json`), JSON.stringify(contractDoc({ name, minDuration: '1h', maxWouldDeny: null, maxWouldDenyRatio: 1 })));
    fs.writeFileSync(path.join(dir, 'token'), TOKEN);
    const cp = await startControlplaneProcess(['--contracts', path.join(dir, 'contracts'), '--state', path.join(dir, 'state'), '--token-file', path.join(dir, 'token'), '--reconcile-interval', '200ms']);
    cleanups.push(() => cp.stop('SIGKILL'));
    const pid = cp.proc.pid!;

    const url = `ws://127.0.0.1:${cp.httpPort}/api/v1/stream?token=${TOKEN}`;
    let fastEdges = 0;
    const fast = new WebSocket(url);
    fast.on('message', (data) => {
      if ((JSON.parse(String(data)) as { type: string }).type === 'edge') fastEdges++;
    });
    let slowClosed = false;
    const slow = new WebSocket(url);
    slow.on('close', () => {
      slowClosed = true;
    });
    slow.on('error', () => undefined);
    cleanups.push(() => {
      fast.terminate();
      slow.terminate();
    });
    await Promise.all([fast, slow].map((w) => new Promise((resolve) => w.once('open', resolve))));
    await waitFor(async () => (await controlplaneMetrics(cp, TOKEN)).value('rampart_controlplane_stream_clients') === 2, { what: 'two stream clients' });
    // The stalled client: its socket is never read again, so the kernel buffers fill, then the server's.
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();

    const agent = new CollectorClient({ port: cp.grpcPort, node: 'node-a', token: TOKEN });
    cleanups.push(() => agent.close());
    await waitFor(() => (agent.latest()?.contracts.length ?? 0) === CONTRACTS.length, { what: 'the contract set' });
    const rssBefore = rssBytes(pid);

    // Every edge is new, so every one is a stream message (about 250 bytes each); bounded in count and time.
    let sentEdges = 0;
    const sendRound = (round: number): void => {
      const set = agent.latest()!;
      const now = Date.now();
      const edges = (n: number): Edge[] =>
        Array.from({ length: n }, (_, i) => ({
          fromNamespace: 'shop',
          fromWorkload: `caller-${round}`,
          toNamespace: 'payments',
          toWorkload: `db-${i % 7}`,
          port: 1000 + i,
          protocol: 'TCP',
          side: 'ingress' as const,
          count: 1,
          firstSeenMs: now - 10,
          lastSeenMs: now,
          sampleFlowJson: '',
        }));
      agent.send(
        aSummary({ node: 'node-a', bootId: agent.bootId, seq: agent.nextSeq(), windowEndMs: now, windowMs: 100, flowsSeen: 100, contracts: contractWindowsFor(set.contracts, { deny: 50, wouldDenyEdges: edges(100) }), contractsGeneration: set.generation }),
      );
      sentEdges += 100 * set.contracts.length;
    };
    const started = Date.now();
    for (let round = 0; round < 19 && Date.now() - started < 60_000; round++) {
      sendRound(round);
      await new Promise((r) => setTimeout(r, 50));
      const m = await controlplaneMetrics(cp, TOKEN);
      if ((m.value('rampart_controlplane_stream_clients_dropped_total') ?? 0) >= 1 && fastEdges > 0) break;
    }

    const m = await waitFor(async () => {
      const x = await controlplaneMetrics(cp, TOKEN);
      return (x.value('rampart_controlplane_stream_clients_dropped_total') ?? 0) >= 1 ? x : null;
    }, { timeoutMs: 20_000, what: 'the stalled client to be dropped' }).catch(async (e: unknown) => {
      const x = await controlplaneMetrics(cp, TOKEN);
      throw new Error(`${String(e)}: sent ${sentEdges} edges, fast got ${fastEdges}; ${JSON.stringify(x.samples.filter((q) => /stream|reports_total|ingest/.test(q.name)))} rejects ${JSON.stringify(agent.rejects.slice(0, 2))}`);
    });
    expect(m.value('rampart_controlplane_stream_clients_dropped_total')).toBe(1);
    expect(m.value('rampart_controlplane_stream_dropped_messages_total')).toBeGreaterThanOrEqual(50);
    expect(m.value('rampart_controlplane_stream_clients')).toBe(1);
    expect(sentEdges).toBeLessThan(19 * 100 * CONTRACTS.length);
    // The reading client got every edge the control plane saw.
    await waitFor(() => fastEdges >= sentEdges, { timeoutMs: 20_000, what: `the reading client to receive all ${sentEdges} edges (has ${fastEdges})` });
    // The stalled client's socket was closed by the server: resume reading and see the end.
    (slow as unknown as { _socket: { resume(): void } })._socket.resume();
    await waitFor(() => slowClosed, { timeoutMs: 10_000, what: 'the stalled client to see its connection closed' });
    // Nothing is kept for it: more edges go out to the reader, and no more drops are counted.
    const droppedBefore = (await controlplaneMetrics(cp, TOKEN)).value('rampart_controlplane_stream_dropped_messages_total');
    sendRound(99);
    await waitFor(() => fastEdges >= sentEdges, { timeoutMs: 20_000, what: 'the reading client to receive the next round' });
    expect((await controlplaneMetrics(cp, TOKEN)).value('rampart_controlplane_stream_dropped_messages_total')).toBe(droppedBefore);
    process.stdout.write(`stalled-client fault: ${sentEdges} edge messages, control plane RSS ${(rssBefore / 2 ** 20).toFixed(0)} → ${(rssBytes(pid) / 2 ** 20).toFixed(0)} MiB\n`);
  });
});
