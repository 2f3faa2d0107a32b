/**
 * The live stream at /api/v1/stream: a real `ws` client against the real control plane
 * process (snapshot, per-second rates, transitions, newly seen denied edges, auth), and the
 * StreamHub's drop path with a client that stops reading while messages keep flowing.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { StreamHub } from '../../controlplane/live/stream-hub.js';
import { ControlplaneMetrics } from '../../controlplane/metrics/metrics.js';
import { CollectorClient } from '../support/collector-client.js';
import { startControlplaneProcess } from '../support/controlplane-process.js';
import { waitFor } from '../support/wait-for.js';
import { contractDoc } from '../support/window-builders.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('/api/v1/stream', () => {
  it('streams a snapshot, rates, transitions and new denied edges; needs the token', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-stream-'));
    cleanups.push(() => {
      fs.rmSync(dir, { recursive: true, force: true });
    });
    fs.mkdirSync(path.join(dir, 'contracts'));
    fs.writeFileSync(path.join(dir, 'contracts', 'shop.json'), JSON.stringify(contractDoc({ minDuration: '1s', maxWouldDeny: null, maxWouldDenyRatio: 0.5 })));
    fs.writeFileSync(path.join(dir, 'token'), 'tok');
    const cp = await startControlplaneProcess(['--contracts', path.join(dir, 'contracts'), '--state', path.join(dir, 'state'), '--token-file', path.join(dir, 'token'), '--reconcile-interval', '200ms']);
    cleanups.push(async () => {
      await cp.stop('SIGKILL');
    });

    const refused = new WebSocket(`ws://127.0.0.1:${cp.httpPort}/api/v1/stream`);
    const status = await new Promise<number>((resolve) => {
      refused.on('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
      });
      refused.on('error', () => undefined);
    });
    expect(status).toBe(401);

    const messages: { type: string; [k: string]: unknown }[] = [];
    const ws = new WebSocket(`ws://127.0.0.1:${cp.httpPort}/api/v1/stream?token=tok`);
    cleanups.push(() => {
      ws.terminate();
    });
    ws.on('message', (data) => {
      messages.push(JSON.parse(String(data)) as { type: string });
    });
    await waitFor(() => messages.some((m) => m.type === 'snapshot'), { what: 'the snapshot' });
    expect((messages[0]?.['contracts'] as { name: string }[])[0]?.name).toBe('shop-lockdown');

    const agent = new CollectorClient({ port: cp.grpcPort, node: 'node-a', token: 'tok' });
    cleanups.push(() => {
      agent.close();
    });
    await waitFor(() => agent.latest(), { what: 'the contract set' });
    const timer = setInterval(() => agent.sendWindow({ allow: 100, deny: 1, edge: { from: 'shop/cart', to: 'payments/db', port: 5432 } }), 200);
    cleanups.push(() => {
      clearInterval(timer);
    });
    const transition = await waitFor(() => messages.find((m) => m.type === 'transition' && m['to'] === 'canary'), { timeoutMs: 15_000, what: 'a transition' });
    expect(transition).toMatchObject({ contract: 'shop-lockdown', from: 'monitor', decision: 'advance', actor: 'auto' });
    const edge = messages.find((m) => m.type === 'edge');
    expect(edge).toMatchObject({ contract: 'shop-lockdown', edge: { from: 'shop/cart', to: 'payments/db', port: 5432, kind: 'would-deny' } });
    const rates = await waitFor(() => messages.find((m) => m.type === 'rates' && ((m['contracts'] as { flowsPerSecond: number }[])[0]?.flowsPerSecond ?? 0) > 0), { what: 'non-zero rates' });
    const r = (rates['contracts'] as Record<string, unknown>[])[0]!;
    expect(r).toMatchObject({ name: 'shop-lockdown', revision: 1 });
    expect(Number(r['denyPerSecond'])).toBeGreaterThan(0);
  });

  it('drops messages to a client that stops reading, counts them, disconnects it, and never blocks the sender', async () => {
    const registry = new Registry();
    const metrics = new ControlplaneMetrics(registry, { defaultMetrics: false });
    const hub = new StreamHub(metrics, { maxBufferedBytes: 64 * 1024 });
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (socket) => {
      hub.add(socket, { type: 'snapshot' });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      hub.closeAll();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    const port = (server.address() as AddressInfo).port;

    const fast = new WebSocket(`ws://127.0.0.1:${port}`);
    let fastReceived = 0;
    fast.on('message', () => fastReceived++);
    const slow = new WebSocket(`ws://127.0.0.1:${port}`);
    cleanups.push(() => {
      fast.terminate();
      slow.terminate();
    });
    await Promise.all([fast, slow].map((w) => new Promise((resolve) => w.once('open', resolve))));
    await waitFor(() => hub.size() === 2, { what: 'two clients' });
    // The slow client stops reading: its TCP window fills, then the server-side buffer.
    (slow as unknown as { _socket: { pause(): void } })._socket.pause();

    const payload = 'x'.repeat(16 * 1024);
    const started = performance.now();
    let sent = 0;
    // Bounded in count and time; each broadcast must return at once whatever the slow client does.
    for (let i = 0; i < 4000 && performance.now() - started < 20_000; i++) {
      hub.broadcast({ type: 'rates', i, payload });
      sent++;
      // Yield often enough that a reading client keeps up (two messages < the 64 KiB limit).
      if (i % 2 === 1) await new Promise((resolve) => setTimeout(resolve, 1));
      const dropped = (await metrics.streamClientsDropped.get()).values[0]?.value ?? 0;
      if (dropped >= 1 && fastReceived > 0) break;
    }
    const droppedMessages = (await metrics.streamDropped.get()).values[0]?.value ?? 0;
    const droppedClients = (await metrics.streamClientsDropped.get()).values[0]?.value ?? 0;
    expect(droppedMessages).toBeGreaterThanOrEqual(50);
    expect(droppedClients).toBe(1);
    expect(hub.size()).toBe(1);
    expect(sent).toBeLessThan(4000);
    await waitFor(() => fastReceived >= 10, { what: 'the fast client to keep receiving' });
  });
});
