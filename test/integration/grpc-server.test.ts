/**
 * io/http2's GrpcServer against grpc-js clients, the peer every agent runs: on loopback,
 * over TCP, TLS (with and without client certificates) and a unix socket, on the real
 * `rampart.v1.Collector/Connect` path. One test speaks the real protobuf messages; the rest
 * echo bytes so what arrives can be compared octet for octet. Also node:http2 requests that
 * are not gRPC calls (405, 415).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http2 from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GrpcServer, type GrpcTlsMaterial } from '../../io/http2/grpc-server.js';
import { GrpcStatus, type CallEvents, type GrpcServerCall } from '../../io/http2/grpc-call.js';
import { loadProto } from '../../proto/loader.js';
import { FrameTap, T } from '../support/h2-raw.js';
import { waitFor } from '../support/wait-for.js';

const Collector = ((loadProto('rampart/v1/collector.proto')['rampart'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject)['Collector'] as grpc.ServiceClientConstructor;
const CONNECT = Collector.service['Connect']!;
const PATH = CONNECT.path;
const same = (b: Buffer): Buffer => b;
/** A private connection per client: grpc-js shares one between clients of the same target otherwise. */
const OWN_CONNECTION = { 'grpc.use_local_subchannel_pool': 1 };

type Duplex = grpc.ClientDuplexStream<Buffer, Buffer>;

/** What a grpc-js call saw: messages, whether 'end' came, the final status. */
interface ClientSide {
  readonly call: Duplex;
  readonly messages: Buffer[];
  readonly status: Promise<grpc.StatusObject>;
  ended: boolean;
}

function watch(call: Duplex): ClientSide {
  const side: ClientSide = {
    call,
    messages: [],
    ended: false,
    status: new Promise((resolve) => call.on('status', resolve)),
  };
  call.on('data', (m: Buffer) => side.messages.push(m));
  call.on('end', () => {
    side.ended = true;
  });
  call.on('error', () => undefined); // the status carries it
  return side;
}

/** The server side of one call: what the handler was told, in order. */
interface ServerSide {
  readonly call: GrpcServerCall;
  readonly messages: Buffer[];
  ended: boolean;
  readonly closes: string[];
}

function recorder(call: GrpcServerCall, extra: Partial<CallEvents> = {}): ServerSide {
  const side: ServerSide = { call, messages: [], ended: false, closes: [] };
  side.call.start({
    message: (b) => {
      side.messages.push(Buffer.from(b));
      extra.message?.(b);
    },
    end: () => {
      side.ended = true;
      extra.end?.();
    },
    close: (reason) => {
      side.closes.push(reason);
      extra.close?.(reason);
    },
  });
  return side;
}

const servers: GrpcServer[] = [];
const clients: grpc.Client[] = [];
const cleanups: (() => Promise<unknown> | void)[] = [];

async function serve(handler: (call: GrpcServerCall) => void, o: { max?: number; tls?: GrpcTlsMaterial; address?: string } = {}): Promise<{ server: GrpcServer; port: number }> {
  const server = new GrpcServer({ methods: new Map([[PATH, handler]]), maxReceiveMessageBytes: o.max ?? 16 * 1024 * 1024 });
  servers.push(server);
  const port = await server.listen(o.address ?? '127.0.0.1:0', o.tls ?? null);
  return { server, port };
}

function client(target: string, creds = grpc.credentials.createInsecure(), options: grpc.ChannelOptions = {}): grpc.Client {
  const c = new grpc.Client(target, creds, { ...OWN_CONNECTION, ...options });
  clients.push(c);
  return c;
}

function open(c: grpc.Client, metadata = new grpc.Metadata()): ClientSide {
  return watch(c.makeBidiStreamRequest<Buffer, Buffer>(PATH, same, same, metadata));
}

/** A handler that starts every call, records it, and echoes each message back. */
function echoServer(calls: ServerSide[]): (call: GrpcServerCall) => void {
  return (call) => {
    calls.push(recorder(call, { message: (b) => call.write(Buffer.from(b)), end: () => call.end() }));
  };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const f of cleanups.splice(0).reverse()) await f();
  for (const s of servers.splice(0)) await s.close(500);
});

describe('GrpcServer with grpc-js clients', () => {
  it('carries a bidi Collector.Connect stream in order with the real protobuf messages, and ends it on half-close', async () => {
    const encode = CONNECT.responseSerialize as (v: unknown) => Buffer;
    const decode = CONNECT.requestDeserialize as (b: Buffer) => { hello?: { node?: string; version?: string } };
    const seen: string[] = [];
    let side: ServerSide | null = null;
    const { port } = await serve((call) => {
      let n = 0;
      side = recorder(call, {
        message: (b) => {
          const m = decode(b);
          seen.push(`${m.hello?.node}:${m.hello?.version}`);
          if (n === 0) call.write(encode({ contracts: { generation: 7, contracts: [{ name: 'c', revision: 3 }] } }));
          call.write(encode({ ack: { boot_id: m.hello?.version ?? '', seq: ++n } }));
        },
        end: () => call.end(),
      });
    });
    const c = new Collector(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), OWN_CONNECTION);
    clients.push(c);
    const call = (c as unknown as { Connect(): grpc.ClientDuplexStream<unknown, Record<string, unknown>> }).Connect();
    const got: Record<string, unknown>[] = [];
    call.on('data', (m: Record<string, unknown>) => got.push(m));
    let ended = false;
    call.on('end', () => {
      ended = true;
    });
    const status = new Promise<grpc.StatusObject>((r) => call.on('status', r));
    for (let i = 0; i < 6; i++) call.write({ hello: { node: 'n1', boot_id: 'b', version: `v${i}` } });
    await waitFor(() => got.length === 7, { what: '7 control messages' });
    call.end();
    expect((await status).code).toBe(grpc.status.OK);
    await waitFor(() => ended, { what: "the client's 'end'" });
    expect(seen).toEqual(['n1:v0', 'n1:v1', 'n1:v2', 'n1:v3', 'n1:v4', 'n1:v5']);
    expect(got[0]).toMatchObject({ body: 'contracts', contracts: { generation: 7, contracts: [{ name: 'c', revision: 3 }] } });
    expect(got.slice(1).map((m) => m['ack'])).toEqual([0, 1, 2, 3, 4, 5].map((i) => ({ boot_id: `v${i}`, seq: i + 1 })));
    expect(side!.ended).toBe(true);
    expect(side!.closes).toEqual(['ended']);
  });

  it('carries messages larger than the windows and frames both ways, byte for byte', async () => {
    const calls: ServerSide[] = [];
    const fromServer = randomBytes(300 * 1024 + 3);
    const { port } = await serve((call) => {
      calls.push(recorder(call, { message: () => call.write(fromServer), end: () => call.end() }));
    });
    const side = open(client(`127.0.0.1:${port}`));
    // 400 KiB then 700 KiB: the second fills our 1 MiB stream window behind the first; then
    // 1.5 MiB, larger than the window on its own; then a small one behind them.
    const fromClient = [randomBytes(400 * 1024), randomBytes(700 * 1024), randomBytes(1536 * 1024 + 7), Buffer.from('after')];
    for (const m of fromClient) side.call.write(m);
    side.call.end();
    expect((await side.status).code).toBe(grpc.status.OK);
    expect(calls[0]!.messages.length).toBe(4);
    calls[0]!.messages.forEach((m, i) => expect(m.equals(fromClient[i]!), `message ${i}`).toBe(true));
    expect(side.messages.length).toBe(4);
    for (const m of side.messages) expect(m.equals(fromServer)).toBe(true);
  }, 20_000);

  it('delivers 2,000 small messages each way, all in order', async () => {
    const calls: ServerSide[] = [];
    const { port } = await serve((call) => {
      calls.push(recorder(call, { end: () => call.end() }));
      for (let i = 0; i < 2000; i++) call.write(Buffer.from(`s${i}`));
    });
    const side = open(client(`127.0.0.1:${port}`));
    for (let i = 0; i < 2000; i++) side.call.write(Buffer.from(`c${i}`));
    side.call.end();
    expect((await side.status).code).toBe(grpc.status.OK);
    expect(calls[0]!.messages.map(String)).toEqual(Array.from({ length: 2000 }, (_, i) => `c${i}`));
    expect(side.messages.map(String)).toEqual(Array.from({ length: 2000 }, (_, i) => `s${i}`));
  });

  it('fails a call with the exact code and details, trailers-only or after messages', async () => {
    const details = 'refusé: 100% «wrong» token ✓ %41 at 50%';
    const { port } = await serve((call) => {
      recorder(call);
      if (call.header('mode') === 'after') {
        call.write(Buffer.from('one'));
        call.write(Buffer.from('two'));
        call.fail(GrpcStatus.PERMISSION_DENIED, details);
      } else {
        call.fail(GrpcStatus.UNAUTHENTICATED, details);
      }
    });
    const c = client(`127.0.0.1:${port}`);
    const only = open(c);
    const md = new grpc.Metadata();
    md.set('mode', 'after');
    const after = open(c, md);
    const s1 = await only.status;
    expect(s1).toMatchObject({ code: grpc.status.UNAUTHENTICATED, details });
    expect(only.messages).toEqual([]);
    const s2 = await after.status;
    expect(s2).toMatchObject({ code: grpc.status.PERMISSION_DENIED, details });
    expect(after.messages.map(String)).toEqual(['one', 'two']);
  });

  it('answers an unknown method with UNIMPLEMENTED', async () => {
    const { port } = await serve(() => {
      throw new Error('the Connect handler must not be called');
    });
    const c = client(`127.0.0.1:${port}`);
    const err = await new Promise<grpc.ServiceError | null>((resolve) => {
      c.makeUnaryRequest('/rampart.v1.Collector/Nope', same, same, Buffer.from('x'), (e) => resolve(e));
    });
    expect(err?.code).toBe(grpc.status.UNIMPLEMENTED);
    expect(err?.details).toContain('/rampart.v1.Collector/Nope');
  });

  it('refuses a message over maxReceiveMessageBytes with RESOURCE_EXHAUSTED; the handler never sees it', async () => {
    const calls: ServerSide[] = [];
    const { port } = await serve((call) => calls.push(recorder(call)), { max: 64 * 1024 });
    const side = open(client(`127.0.0.1:${port}`));
    side.call.write(Buffer.from('small'));
    side.call.write(randomBytes(64 * 1024 + 1));
    const status = await side.status;
    expect(status.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    expect(status.details).toContain(String(64 * 1024 + 1));
    expect(calls[0]!.messages.map(String)).toEqual(['small']);
    expect(calls[0]!.closes).toHaveLength(1);
  });

  it('holds messages that arrive before start (more than one stream window of them) and delivers them all, in order', async () => {
    const calls: ServerSide[] = [];
    let pending: GrpcServerCall | null = null;
    const { port } = await serve((call) => {
      pending = call;
    });
    const side = open(client(`127.0.0.1:${port}`));
    // 300 × 5 KiB: over our 1 MiB stream window, so the client can only finish once start credits the held bytes back.
    const sent = Array.from({ length: 300 }, (_, i) => Buffer.concat([Buffer.from(`m${i}:`), randomBytes(5 * 1024)]));
    for (const m of sent) side.call.write(m);
    await waitFor(() => pending, { what: 'the call' });
    // Like the collector awaiting its token check.
    await new Promise((r) => setTimeout(r, 200));
    calls.push(recorder(pending!, { end: () => pending!.end() }));
    side.call.end();
    expect((await side.status).code).toBe(grpc.status.OK);
    expect(calls[0]!.messages.length).toBe(300);
    calls[0]!.messages.forEach((m, i) => expect(m.equals(sent[i]!)).toBe(true));
  });

  it("says close once when the client cancels, and on every call when the client's connection is lost", async () => {
    const calls: ServerSide[] = [];
    const { server, port } = await serve(echoServer(calls));
    const tap = new FrameTap();
    cleanups.push(() => tap.close());
    const tapPort = await tap.listen(port);

    const c1 = client(`127.0.0.1:${port}`);
    const cancelled = open(c1);
    cancelled.call.write(Buffer.from('x'));
    await waitFor(() => cancelled.messages.length === 1, { what: 'the echo' });
    cancelled.call.cancel();
    await waitFor(() => calls[0]!.closes.length > 0, { what: 'close after cancel' });
    expect((await cancelled.status).code).toBe(grpc.status.CANCELLED);
    c1.close();
    await waitFor(() => server.connectionCount === 0, { what: 'the first connection gone' });
    expect(calls[0]!.closes).toHaveLength(1);

    const c2 = client(`127.0.0.1:${tapPort}`);
    const three = [open(c2), open(c2), open(c2)];
    three.forEach((s, i) => s.call.write(Buffer.from(`m${i}`)));
    await waitFor(() => three.every((s) => s.messages.length === 1), { what: 'three echoes' });
    expect(server.connectionCount).toBe(1);
    tap.cut();
    await waitFor(() => calls.slice(1).every((s) => s.closes.length > 0), { what: 'close on the three calls' });
    await waitFor(() => server.connectionCount === 0, { what: 'no connection left' });
    for (const s of calls.slice(1)) expect(s.closes).toHaveLength(1);
    for (const s of three) expect((await s.status).code).toBe(grpc.status.UNAVAILABLE);
  });

  it("answers a grpc-js client's keepalive PINGs: the connection and its call live on", async () => {
    const calls: ServerSide[] = [];
    const { server, port } = await serve(echoServer(calls));
    const tap = new FrameTap();
    cleanups.push(() => tap.close());
    const tapPort = await tap.listen(port);
    const side = open(client(`127.0.0.1:${tapPort}`, undefined, { 'grpc.keepalive_time_ms': 200, 'grpc.keepalive_timeout_ms': 1000 }));
    side.call.write(Buffer.from('first'));
    // Six PINGs at 200 ms apart is over 1 s of keepalive; an unanswered one would have cut the connection after 1 s.
    await waitFor(() => (tap.toClient.get(T.PING) ?? 0) >= 6, { timeoutMs: 10_000, what: 'six PING acks' });
    expect(tap.toServer.get(T.PING)).toBeGreaterThanOrEqual(6);
    side.call.write(Buffer.from('second'));
    await waitFor(() => side.messages.length === 2, { what: 'the second echo' });
    expect(side.messages.map(String)).toEqual(['first', 'second']);
    expect(server.connectionCount).toBe(1);
    expect(calls[0]!.closes).toEqual([]);
    side.call.end();
    expect((await side.status).code).toBe(grpc.status.OK);
  });

  it('queues what a client does not read behind flow control, loses nothing, and drains when it reads again', async () => {
    const N = 2000;
    const SIZE = 1024;
    let server: ServerSide | null = null;
    const { port } = await serve((call) => {
      server = recorder(call, {
        message: (b) => {
          if (b.toString() !== 'go') return;
          for (let i = 0; i < N; i++) call.write(Buffer.concat([Buffer.from(`${i}`.padStart(8, '0')), Buffer.alloc(SIZE - 8, i % 256)]));
        },
        end: () => call.end(),
      });
    });
    const side = open(client(`127.0.0.1:${port}`));
    side.call.pause();
    side.call.write(Buffer.from('go'));
    await waitFor(() => server?.messages.length === 1, { what: 'the request' });
    // A round trip after the writes: the client's window updates for what it took in have landed by then.
    side.call.write(Buffer.from('barrier'));
    await waitFor(() => server!.messages.length === 2, { what: 'the barrier' });
    const backlog = server!.call.backlog;
    expect(backlog).toBeGreaterThan(0);
    // Sent = what left the queue: the paused client's 64 KiB stream window (node:http2's
    // default; it gives no credit while paused), with room for one update it sent before the
    // pause took hold; far below the 2 MiB written.
    const sentBytes = (N - backlog) * (SIZE + 5);
    expect(sentBytes).toBeLessThanOrEqual(2 * 65_535);
    side.call.resume();
    side.call.end();
    expect((await side.status).code).toBe(grpc.status.OK);
    expect(side.messages.length).toBe(N);
    side.messages.forEach((m, i) => expect(m.subarray(0, 8).toString()).toBe(`${i}`.padStart(8, '0')));
    expect(server!.call.backlog).toBe(0);
  });

  it('closes gracefully: calls ended before close reach their clients as OK, and close returns before its grace', async () => {
    const calls: ServerSide[] = [];
    const { server, port } = await serve(echoServer(calls));
    const sides = [0, 1, 2].map(() => open(client(`127.0.0.1:${port}`)));
    sides.forEach((s) => s.call.write(Buffer.from('hi')));
    await waitFor(() => calls.length === 3 && sides.every((s) => s.messages.length === 1), { what: 'three calls' });
    for (const c of calls) c.call.end();
    const grace = 10_000;
    const t0 = Date.now();
    await server.close(grace);
    // Returning before the grace means every connection went away on its own (none was destroyed).
    expect(Date.now() - t0).toBeLessThan(grace);
    expect(server.connectionCount).toBe(0);
    for (const s of sides) expect((await s.status).code).toBe(grpc.status.OK);
  });

  it('closes what is still open once the grace is over: its handlers have heard close by the time close returns', async () => {
    const calls: ServerSide[] = [];
    const { server, port } = await serve((call) => calls.push(recorder(call)));
    const side = open(client(`127.0.0.1:${port}`));
    side.call.write(Buffer.from('hi'));
    await waitFor(() => calls[0]?.messages.length === 1, { what: 'the call' });
    await server.close(200);
    expect(server.connectionCount).toBe(0);
    expect(calls[0]!.closes).toHaveLength(1);
    expect((await side.status).code).toBe(grpc.status.UNAVAILABLE);
  });
});

describe('GrpcServer over TLS and a unix socket', () => {
  let dir: string;
  const f = (n: string): string => join(dir, n);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'rampart-grpc-server-'));
    const ssl = (args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    ssl(['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=test-ca']);
    writeFileSync(f('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    writeFileSync(f('client.ext'), 'extendedKeyUsage=clientAuth\n');
    for (const who of ['server', 'client']) {
      ssl(['req', ...ec, '-keyout', `${who}.key`, '-out', `${who}.csr`, '-subj', `/CN=${who}`]);
      ssl(['x509', '-req', '-in', `${who}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${who}.crt`, '-days', '1', '-extfile', `${who}.ext`]);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  async function roundTrip(c: grpc.Client): Promise<grpc.StatusObject & { echoed: string[] }> {
    const side = open(c);
    side.call.write(Buffer.from('round trip'));
    side.call.end();
    const status = await side.status;
    return { ...status, echoed: side.messages.map(String) };
  }

  it('serves grpc-js over TLS (ALPN h2) with the CA as its trust', async () => {
    const calls: ServerSide[] = [];
    const { port } = await serve(echoServer(calls), { tls: { certPem: readFileSync(f('server.crt')), keyPem: readFileSync(f('server.key')), clientCaPem: null } });
    const r = await roundTrip(client(`localhost:${port}`, grpc.credentials.createSsl(readFileSync(f('ca.crt')))));
    expect(r).toMatchObject({ code: grpc.status.OK, echoed: ['round trip'] });
  });

  it('with a client CA: refuses a client without a certificate, serves one with a certificate that CA signed', async () => {
    const calls: ServerSide[] = [];
    const { port } = await serve(echoServer(calls), { tls: { certPem: readFileSync(f('server.crt')), keyPem: readFileSync(f('server.key')), clientCaPem: readFileSync(f('ca.crt')) } });
    const ca = readFileSync(f('ca.crt'));
    const anonymous = await roundTrip(client(`localhost:${port}`, grpc.credentials.createSsl(ca)));
    expect(anonymous.code).toBe(grpc.status.UNAVAILABLE);
    expect(calls).toHaveLength(0);
    const signed = await roundTrip(client(`localhost:${port}`, grpc.credentials.createSsl(ca, readFileSync(f('client.key')), readFileSync(f('client.crt')))));
    expect(signed).toMatchObject({ code: grpc.status.OK, echoed: ['round trip'] });
    expect(calls).toHaveLength(1);
  });

  it('serves on a unix socket address and on an IPv6 [host]:port', async () => {
    const calls: ServerSide[] = [];
    const address = `unix://${f('x.sock')}`;
    const { port } = await serve(echoServer(calls), { address });
    expect(port).toBe(0);
    expect(await roundTrip(client(address))).toMatchObject({ code: grpc.status.OK, echoed: ['round trip'] });
    const v6 = await serve(echoServer(calls), { address: '[::1]:0' });
    expect(v6.port).toBeGreaterThan(0);
    expect(await roundTrip(client(`[::1]:${v6.port}`))).toMatchObject({ code: grpc.status.OK, echoed: ['round trip'] });
    expect(calls).toHaveLength(2);
  });
});

describe('GrpcServer with HTTP/2 requests that are not gRPC calls (node:http2 client)', () => {
  async function request(port: number, headers: http2.OutgoingHttpHeaders, body: string | null): Promise<number> {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', () => undefined);
    cleanups.push(() => void session.destroy());
    const req = session.request(headers, { endStream: body === null });
    req.on('error', () => undefined);
    if (body !== null) req.write(body);
    return new Promise((resolve) => req.on('response', (h) => resolve(Number(h[':status']))));
  }

  it('answers GET with 405 and a POST of text/plain with 415, and never calls the handler', async () => {
    const { port } = await serve(() => {
      throw new Error('the Connect handler must not be called');
    });
    expect(await request(port, { ':method': 'GET', ':path': PATH }, null)).toBe(405);
    expect(await request(port, { ':method': 'POST', ':path': PATH, 'content-type': 'text/plain' }, 'hello')).toBe(415);
  });
});
