/**
 * What one idle agent connection costs a Node HTTP/2 server (issue 18: 10,000 agents in
 * 256 MiB): the server's RSS and V8 heap with N connections open, each holding one open
 * request stream (what a grpc-js agent's Collector stream is at the HTTP/2 level), less the
 * same server with none, over N. Rows: plain TCP (the floor), HTTP/2 session alone, HTTP/2
 * with a stream under each server setting node:http2 offers that could shrink a session,
 * and with TLS (how agents connect in production). grpc-js's own objects come on top (the
 * control plane bench shows the whole). Last, the server the collector runs instead
 * (io/http2's GrpcServer): one open `Collector.Connect` call per connection from a real
 * grpc-js client, which got one message (as an agent gets its ContractSet), plaintext and TLS.
 *
 * Knobs (environment): BENCH_CONN_N (2000 connections per row), BENCH_CONN_TLS_N (1000).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { issueTlsMaterial } from '../controlplane/access/tls-issuer.js';
import { GrpcServer } from '../io/http2/grpc-server.js';
import type { GrpcServerCall } from '../io/http2/grpc-call.js';

const N = Number(process.env['BENCH_CONN_N'] ?? 2000);
const TLS_N = Number(process.env['BENCH_CONN_TLS_N'] ?? 1000);
const self = fileURLToPath(import.meta.url);

type Mode = 'tcp' | 'h2-session' | 'h2-stream' | 'h2-tls-stream' | 'ours-stream' | 'ours-tls-stream';
const CONNECT_PATH = '/rampart.v1.Collector/Connect';
const isTls = (mode: Mode): boolean => mode === 'h2-tls-stream' || mode === 'ours-tls-stream';

interface Row {
  readonly label: string;
  readonly mode: Mode;
  readonly options: http2.ServerOptions;
  readonly env?: Readonly<Record<string, string>>;
}

const ROWS: readonly Row[] = [
  { label: 'TCP socket only', mode: 'tcp', options: {} },
  { label: 'HTTP/2 session, no stream', mode: 'h2-session', options: {} },
  { label: 'HTTP/2 + 1 stream (defaults)', mode: 'h2-stream', options: {} },
  { label: '  settings.headerTableSize 0', mode: 'h2-stream', options: { settings: { headerTableSize: 0 } } },
  { label: '  maxSessionMemory 1 (MB)', mode: 'h2-stream', options: { maxSessionMemory: 1 } },
  { label: '  maxHeaderListSize 4096', mode: 'h2-stream', options: { settings: { maxHeaderListSize: 4096 } } },
  { label: '  initialWindowSize 65535, maxFrameSize 16384', mode: 'h2-stream', options: { settings: { initialWindowSize: 65535, maxFrameSize: 16384 } } },
  { label: '  peerMaxConcurrentStreams 1, maxConcurrentStreams 4', mode: 'h2-stream', options: { peerMaxConcurrentStreams: 1, settings: { maxConcurrentStreams: 4 } } },
  { label: '  MALLOC_ARENA_MAX=2', mode: 'h2-stream', options: {}, env: { MALLOC_ARENA_MAX: '2' } },
  { label: 'HTTP/2 + 1 stream over TLS', mode: 'h2-tls-stream', options: {} },
  { label: 'io/http2 GrpcServer + 1 Connect call (grpc-js clients)', mode: 'ours-stream', options: {} },
  { label: 'io/http2 GrpcServer + 1 Connect call over TLS', mode: 'ours-tls-stream', options: {} },
];

function rssBytes(): number {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) * 1024 : process.memoryUsage().rss;
}

// ---------------------------------------------------------------------------------------
// Server child: `connection-cost.bench.js server <mode> <options json> <key file> <cert file>`

function runServer(mode: Mode, options: http2.ServerOptions, keyFile: string, certFile: string): void {
  const kept: unknown[] = [];
  if (mode === 'ours-stream' || mode === 'ours-tls-stream') {
    const server = new GrpcServer({
      methods: new Map([
        [
          CONNECT_PATH,
          (call: GrpcServerCall): void => {
            kept.push(call);
            call.start({ message: () => undefined, end: () => call.end(), close: () => undefined });
            call.write(Buffer.from('hello'));
          },
        ],
      ]),
      maxReceiveMessageBytes: 1 << 20,
    });
    const material = mode === 'ours-tls-stream' ? { certPem: fs.readFileSync(certFile), keyPem: fs.readFileSync(keyFile), clientCaPem: null } : null;
    void server.listen('127.0.0.1:0', material).then((port) => process.send?.({ port }));
    answerMeasure(kept);
    return;
  }
  let server: net.Server | http2.Http2Server | http2.Http2SecureServer;
  if (mode === 'tcp') {
    server = net.createServer((s) => {
      kept.push(s);
      s.on('data', () => undefined);
    });
  } else {
    server = isTls(mode) ? http2.createSecureServer({ ...options, key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) }) : http2.createServer(options);
    server.on('stream', (stream: http2.ServerHttp2Stream) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
      stream.on('data', () => undefined);
    });
  }
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as net.AddressInfo).port }));
  answerMeasure(kept);
}

function answerMeasure(kept: readonly unknown[]): void {
  process.on('message', () => {
    // Three collections a little apart, so only what the connections hold is left.
    const gc = (globalThis as { gc?: () => void }).gc;
    let round = 0;
    const step = (): void => {
      gc?.();
      if (++round < 3) setTimeout(step, 200);
      else process.send?.({ rss: rssBytes(), heap: process.memoryUsage().heapUsed, kept: kept.length });
    };
    step();
  });
}

// ---------------------------------------------------------------------------------------
// Client child: `connection-cost.bench.js clients <mode> <port> <count> <CA file>`

async function runClients(mode: Mode, port: number, count: number, caFile: string): Promise<void> {
  const kept: unknown[] = [];
  let ready = 0;
  const one = (): void => {
    if (++ready === count) process.send?.({ ready });
  };
  for (let i = 0; i < count; i++) {
    if (mode === 'tcp') {
      kept.push(net.connect(port, '127.0.0.1', one));
    } else if (mode === 'ours-stream' || mode === 'ours-tls-stream') {
      // One connection per client, as each agent has its own (grpc-js would share one otherwise).
      const creds = mode === 'ours-tls-stream' ? grpc.credentials.createSsl(fs.readFileSync(caFile)) : grpc.credentials.createInsecure();
      const client = new grpc.Client(`localhost:${port}`, creds, { 'grpc.use_local_subchannel_pool': 1 });
      const call = client.makeBidiStreamRequest<Buffer, Buffer>(CONNECT_PATH, (b) => b, (b) => b);
      call.on('error', () => undefined);
      call.once('data', one);
      kept.push(client, call);
    } else {
      const session = mode === 'h2-tls-stream' ? http2.connect(`https://127.0.0.1:${port}`, { rejectUnauthorized: false }) : http2.connect(`http://127.0.0.1:${port}`);
      session.on('error', () => undefined);
      kept.push(session);
      if (mode === 'h2-session') {
        session.once('remoteSettings', one);
      } else {
        const req = session.request({ ':method': 'POST', ':path': '/rampart.v1.Collector/Connect', 'content-type': 'application/grpc', te: 'trailers' }, { endStream: false });
        req.on('error', () => undefined);
        req.once('response', one);
        kept.push(req);
      }
    }
    // Bounded pace: a burst of thousands of handshakes would only measure the accept queue.
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
  }
  process.once('message', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------
// Driver

function ask<T>(child: ChildProcess, message?: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('a benchmark child did not answer within 5 minutes')), 300_000);
    child.once('message', (m) => {
      clearTimeout(timer);
      resolve(m as T);
    });
    if (message !== undefined) child.send(message);
  });
}

async function measure(row: Row, n: number, keyFile: string, certFile: string, caFile: string): Promise<{ rssKiB: number; heapKiB: number; kept: number }> {
  const env = { ...process.env, ...row.env };
  const server = spawn(process.execPath, ['--expose-gc', self, 'server', row.mode, JSON.stringify(row.options), keyFile, certFile], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  const children: ChildProcess[] = [server];
  try {
    const { port } = await ask<{ port: number }>(server);
    const empty = await ask<{ rss: number; heap: number }>(server, 'measure');
    for (const share of [Math.ceil(n / 2), Math.floor(n / 2)]) {
      children.push(spawn(process.execPath, [self, 'clients', row.mode, String(port), String(share), caFile], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    }
    await Promise.all(children.slice(1).map((c) => ask(c)));
    const full = await ask<{ rss: number; heap: number; kept: number }>(server, 'measure');
    return { rssKiB: (full.rss - empty.rss) / n / 1024, heapKiB: (full.heap - empty.heap) / n / 1024, kept: full.kept };
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-bench-conn-'));
  try {
    const tls = issueTlsMaterial(['localhost'], Date.now());
    const keyFile = path.join(dir, 'key.pem');
    const certFile = path.join(dir, 'cert.pem');
    const caFile = path.join(dir, 'ca.pem');
    fs.writeFileSync(caFile, tls.caPem);
    fs.writeFileSync(keyFile, tls.keyPem);
    fs.writeFileSync(certFile, tls.certPem);
    process.stdout.write(`idle connection cost on node:http2 and io/http2 servers (Node ${process.version}), ${N} connections per row (${TLS_N} with TLS)\n\n`);
    const header = ['connection', 'RSS KiB/conn', 'heap KiB/conn'];
    const cells: string[][] = [];
    for (const row of ROWS) {
      const n = isTls(row.mode) ? TLS_N : N;
      const r = await measure(row, n, keyFile, certFile, caFile);
      cells.push([row.label, r.rssKiB.toFixed(1), r.heapKiB.toFixed(1)]);
      process.stdout.write(`${row.label}: ${r.rssKiB.toFixed(1)} KiB RSS, ${r.heapKiB.toFixed(1)} KiB heap per connection\n`);
    }
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const fmt = (c: readonly string[]): string => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
    process.stdout.write(`\n${fmt(header)}\n${cells.map(fmt).join('\n')}\n`);
    const at10k = (mode: Mode): string => ((Number(cells[ROWS.findIndex((r) => r.mode === mode)]![1]) * 10_000) / 1024).toFixed(0);
    process.stdout.write(`at 10,000 agents: node:http2 ${at10k('h2-stream')} MiB plaintext, ${at10k('h2-tls-stream')} MiB with TLS, before grpc-js and the control plane itself\n`);
    process.stdout.write(`at 10,000 agents: io/http2 GrpcServer ${at10k('ours-stream')} MiB plaintext, ${at10k('ours-tls-stream')} MiB with TLS, its calls included\n`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const role = process.argv[2];
if (role === 'server') runServer(process.argv[3] as Mode, JSON.parse(process.argv[4]!) as http2.ServerOptions, process.argv[5]!, process.argv[6]!);
else if (role === 'clients') await runClients(process.argv[3] as Mode, Number(process.argv[4]), Number(process.argv[5]), process.argv[6]!);
else await main();
