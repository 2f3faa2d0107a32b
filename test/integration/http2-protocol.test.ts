/**
 * io/http2's server against hand-built frames on raw loopback sockets: every protocol
 * violation ends the connection with a GOAWAY naming it (read back from the socket), a
 * stream violation resets only its stream, PING is answered, and the server keeps serving a
 * fresh grpc-js client afterwards. Then random frames (seeded: FC_SEED, fixed under CI)
 * after a valid preface: the server never fails internally and each connection either ends
 * or still answers a PING.
 */
import { randomBytes } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcServer } from '../../io/http2/grpc-server.js';
import type { GrpcServerCall } from '../../io/http2/grpc-call.js';
import { ERROR_NAMES, F, PREFACE, RawClient, T, grpcRequestBlock, h2frame, literalBlock, u32, type RawFrame } from '../support/h2-raw.js';
import { waitFor } from '../support/wait-for.js';

const ECHO = '/rampart.v1.Collector/Connect';
/** Its handler never starts the call: what arrives is held and not credited (a client not yet admitted). */
const HOLD = '/test.Hold/Hold';

interface Seen {
  readonly path: string;
  readonly events: string[];
}

describe('io/http2 server: protocol robustness', () => {
  let server: GrpcServer;
  let port: number;
  const calls: Seen[] = [];
  const protocolErrors: string[] = [];
  const raws: RawClient[] = [];
  let grpcClient: grpc.Client;

  beforeAll(async () => {
    const record = (path: string) => (call: GrpcServerCall): void => {
      const seen: Seen = { path, events: [] };
      calls.push(seen);
      if (path === HOLD) return;
      call.start({
        message: (b) => {
          seen.events.push('message');
          call.write(Buffer.from(b));
        },
        end: () => seen.events.push('end'),
        close: () => seen.events.push('close'),
      });
    };
    server = new GrpcServer({
      methods: new Map([
        [ECHO, record(ECHO)],
        [HOLD, record(HOLD)],
      ]),
      maxReceiveMessageBytes: 16 * 1024 * 1024,
      onProtocolError: (_peer, message) => protocolErrors.push(message),
    });
    port = await server.listen('127.0.0.1:0');
    grpcClient = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
  });

  afterAll(async () => {
    for (const r of raws) r.destroy();
    grpcClient.close();
    await server.close(500);
  });

  async function raw(opened = true): Promise<RawClient> {
    const c = opened ? await RawClient.open(port) : await RawClient.connect(port);
    raws.push(c);
    return c;
  }

  /** A real grpc-js call on a fresh connection still gets its echo: nothing before broke the server. */
  async function stillServes(): Promise<void> {
    const c = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 });
    try {
      const call = c.makeBidiStreamRequest<Buffer, Buffer>(ECHO, (b) => b, (b) => b);
      const echoed = new Promise<string>((resolve, reject) => {
        call.on('data', (b: Buffer) => resolve(b.toString()));
        call.on('error', reject);
      });
      call.write(Buffer.from('still here'));
      expect(await echoed).toBe('still here');
      call.cancel();
    } finally {
      c.close();
    }
  }

  async function expectGoaway(c: RawClient, code: string): Promise<void> {
    expect(await c.goaway()).toBe(code);
    await c.untilClosed();
    await stillServes();
  }

  it('closes a connection whose preface is wrong', async () => {
    const c = await raw(false);
    c.send(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await c.untilClosed();
    expect(c.frames.filter((f) => f.type === T.GOAWAY).map((f) => ERROR_NAMES[f.payload.readUInt32BE(4)])).toEqual(['PROTOCOL_ERROR']);
    await stillServes();
  });

  it('refuses a first frame that is not SETTINGS', async () => {
    const c = await raw(false);
    c.send(PREFACE, h2frame(T.PING, 0, 0, Buffer.alloc(8)));
    await expectGoaway(c, 'PROTOCOL_ERROR');
  });

  it('refuses DATA on stream 0 and DATA on an idle stream', async () => {
    const zero = await raw();
    zero.send(h2frame(T.DATA, 0, 0, Buffer.from('x')));
    await expectGoaway(zero, 'PROTOCOL_ERROR');
    const idle = await raw();
    idle.send(h2frame(T.DATA, 0, 5, Buffer.from('x')));
    await expectGoaway(idle, 'PROTOCOL_ERROR');
  });

  it('refuses a frame larger than 16,384 octets before reading its payload', async () => {
    const c = await raw();
    c.send(h2frame(T.DATA, 0, 1, Buffer.alloc(0), 16_385));
    await expectGoaway(c, 'FRAME_SIZE_ERROR');
  });

  it('refuses CONTINUATION without HEADERS', async () => {
    const c = await raw();
    c.send(h2frame(T.CONTINUATION, F.END_HEADERS, 1, literalBlock([['a', 'b']])));
    await expectGoaway(c, 'PROTOCOL_ERROR');
  });

  it('answers PING with an ACK carrying the same 8 octets', async () => {
    const c = await raw();
    const data = randomBytes(8);
    c.send(h2frame(T.PING, 0, 0, data));
    const ack = await c.until((f) => f.type === T.PING && (f.flags & F.ACK) !== 0, 'a PING ack');
    expect(ack.payload.equals(data)).toBe(true);
    expect(c.closed).toBe(false);
  });

  it('ends a connection that sends PINGs without reading the answers (ENHANCE_YOUR_CALM), not buffering them for ever', async () => {
    const c = await raw();
    const open = server.connectionCount;
    const errorsBefore = protocolErrors.length;
    const calm = (): string | undefined => protocolErrors.slice(errorsBefore).find((m) => m.startsWith('ENHANCE_YOUR_CALM'));
    // Stop reading: the answers fill the kernel's buffers, then the server's write buffer.
    c.socket.pause();
    const ping = h2frame(T.PING, 0, 0, Buffer.alloc(8, 3));
    // Loopback's buffers can absorb tens of MB of answers (receive buffers autotune up to
    // net.ipv4.tcp_rmem's maximum, 32 MB on the machines we run on), so send until the server
    // gives up on the connection: bounded at 4,000,000 PINGs (68 MB of answers). The GOAWAY it
    // sends then sits behind the answers nobody reads, so the server's own report is read
    // here, not the wire.
    const burst = Buffer.concat(Array.from({ length: 20_000 }, () => ping));
    for (let i = 0; i < 200 && calm() === undefined && !c.socket.destroyed; i++) {
      await new Promise<void>((resolve) => c.socket.write(burst, () => resolve()));
    }
    expect(calm()).toMatch(/^ENHANCE_YOUR_CALM: the client does not read: \d+ octets unsent$/);
    // The connection is gone from the server, and the server serves a fresh client.
    await waitFor(() => server.connectionCount === open - 1, { what: 'the connection to be dropped' });
    c.destroy();
    await stillServes();
  });

  it('refuses a header block HPACK cannot decode with COMPRESSION_ERROR', async () => {
    const c = await raw();
    // An indexed field with index 0, which RFC 7541 §6.1 forbids.
    c.send(h2frame(T.HEADERS, F.END_HEADERS, 1, Buffer.from([0x80])));
    await expectGoaway(c, 'COMPRESSION_ERROR');
  });

  it('refuses a ninth concurrent stream with REFUSED_STREAM and keeps the eight', async () => {
    const c = await raw();
    const before = calls.length;
    for (let i = 0; i < 9; i++) c.send(h2frame(T.HEADERS, F.END_HEADERS, 1 + 2 * i, grpcRequestBlock(HOLD)));
    expect(await c.rst(17)).toBe('REFUSED_STREAM');
    expect(calls.length - before).toBe(8);
    // The connection is fine: PING still answered, no stream of the eight reset.
    c.send(h2frame(T.PING, 0, 0, Buffer.alloc(8, 7)));
    await c.until((f) => f.type === T.PING && (f.flags & F.ACK) !== 0, 'a PING ack');
    expect(c.frames.filter((f) => f.type === T.RST_STREAM).map((f) => f.streamId)).toEqual([17]);
  });

  it('does not allocate a message by its declared length: 8 streams announcing 16 MiB each and sending 1 KiB hold about 8 KiB', async () => {
    const c = await raw();
    const before = calls.length;
    const arrayBuffersBefore = process.memoryUsage().arrayBuffers;
    // Held calls, so nothing is delivered or credited; each stream says "16,000,000 octets follow" and sends 1 KiB of them.
    for (let i = 0; i < 8; i++) {
      const id = 1 + 2 * i;
      c.send(h2frame(T.HEADERS, F.END_HEADERS, id, grpcRequestBlock(HOLD)), h2frame(T.DATA, 0, id, Buffer.concat([Buffer.from([0, 0, 0xf4, 0x24, 0]), Buffer.alloc(1024)])));
    }
    await waitFor(() => calls.length - before === 8, { what: 'eight held calls' });
    // The frames are read once the server answers a PING sent after them.
    c.send(h2frame(T.PING, 0, 0, Buffer.alloc(8, 9)));
    await c.until((f) => f.type === T.PING && (f.flags & F.ACK) !== 0 && f.payload[0] === 9, 'a PING ack');
    // A buffer of the declared length per stream would be 128 MB of array buffers.
    expect(process.memoryUsage().arrayBuffers - arrayBuffersBefore).toBeLessThan(8 * 1024 * 1024);
    expect(c.closed).toBe(false);
  });

  it('holds at most one connection window (2 MiB) for calls not yet admitted: 3 held streams of 1 MiB each overrun it', async () => {
    const c = await raw();
    // Each stream stays inside its own 1 MiB window; together they pass the connection's 2 MiB,
    // which is given back only as octets are consumed (and held calls consume nothing).
    for (let i = 0; i < 3; i++) {
      const id = 1 + 2 * i;
      c.send(h2frame(T.HEADERS, F.END_HEADERS, id, grpcRequestBlock(HOLD)));
      for (let sent = 0; sent < 1 << 20; sent += 16_384) c.send(h2frame(T.DATA, 0, id, Buffer.alloc(16_384)));
    }
    await expectGoaway(c, 'FLOW_CONTROL_ERROR');
  });

  it('resets a stream that overruns its window with FLOW_CONTROL_ERROR, and ends a connection whose window overflows', async () => {
    const c = await raw();
    c.send(h2frame(T.HEADERS, F.END_HEADERS, 1, grpcRequestBlock(HOLD)));
    // One gRPC message of 2 MiB announced; its first 1 MiB + 1 octet sent in 16 KiB frames.
    // The call is held, so nothing is credited back: the last octet is over the window.
    const prefix = Buffer.from([0, 0, 0x20, 0, 0]);
    let left = (1 << 20) + 1;
    let first = true;
    while (left > 0) {
      const body = Buffer.alloc(Math.min(16_384, left) - (first ? 5 : 0));
      const payload = first ? Buffer.concat([prefix, body]) : body;
      c.send(h2frame(T.DATA, 0, 1, payload));
      left -= payload.length;
      first = false;
    }
    expect(await c.rst(1)).toBe('FLOW_CONTROL_ERROR');
    expect(c.closed).toBe(false);
    // The connection's send window: 65,535 plus 2^31-1 is over the protocol's maximum.
    c.send(h2frame(T.WINDOW_UPDATE, 0, 0, u32(0x7fffffff)));
    await expectGoaway(c, 'FLOW_CONTROL_ERROR');
  });

  it('releases a stream as soon as its response is complete, though the client has not ended its side', async () => {
    const c = await raw();
    // Nine requests the server answers at once (415, then gRPC UNIMPLEMENTED trailers-only),
    // none ended by the client: each answered stream must stop counting against the 8 allowed.
    for (let i = 0; i < 9; i++) {
      const block = i % 2 === 0 ? grpcRequestBlock(ECHO, 'text/plain') : grpcRequestBlock('/test.Nope/Nope');
      c.send(h2frame(T.HEADERS, F.END_HEADERS, 1 + 2 * i, block));
    }
    const last = await c.until((f) => f.streamId === 17 && (f.type === T.HEADERS || f.type === T.RST_STREAM), 'an answer on stream 17');
    expect(last.type).toBe(T.HEADERS);
    expect(last.flags & F.END_STREAM).toBe(F.END_STREAM);
    // Each answer is followed by RST_STREAM NO_ERROR: the client need not send the rest (RFC 9113 §8.1).
    await waitFor(() => c.frames.filter((f) => f.type === T.RST_STREAM).length === 9, { what: 'nine RST_STREAM' });
    expect(new Set(c.frames.filter((f) => f.type === T.RST_STREAM).map((f) => ERROR_NAMES[f.payload.readUInt32BE(0)]))).toEqual(new Set(['NO_ERROR']));
  });

  it('resets a stream the client sends on after ending it, and tells the handler end once and close once', async () => {
    const c = await raw();
    const before = calls.length;
    c.send(h2frame(T.HEADERS, F.END_HEADERS, 1, grpcRequestBlock(ECHO)), h2frame(T.DATA, F.END_STREAM, 1));
    await waitFor(() => calls[before]?.events.includes('end'), { what: "the handler's end" });
    // Trailers after END_STREAM, then DATA: the stream is half-closed (remote), both are STREAM_CLOSED.
    c.send(h2frame(T.HEADERS, F.END_HEADERS | F.END_STREAM, 1, literalBlock([['x-late', '1']])), h2frame(T.DATA, 0, 1, Buffer.from([0, 0, 0, 0, 1, 9])));
    expect(await c.rst(1)).toBe('STREAM_CLOSED');
    await waitFor(() => calls[before]!.events.includes('close'), { what: "the handler's close" });
    c.send(h2frame(T.PING, 0, 0, Buffer.alloc(8, 1)));
    await c.until((f) => f.type === T.PING && (f.flags & F.ACK) !== 0, 'a PING ack');
    expect(calls[before]!.events).toEqual(['end', 'close']);
  });

  it('survives random frames after a valid preface: never an internal failure, each connection ends or still answers PING', async () => {
    const streamId = fc.oneof(fc.constantFrom(0, 1, 3, 5, 2, 0x7fffffff), fc.integer({ min: 0, max: 0x7fffffff }));
    const anyFrame = fc.record({
      type: fc.oneof(fc.integer({ min: 0, max: 9 }), fc.integer({ min: 0, max: 255 })),
      flags: fc.oneof(fc.constantFrom(0, F.END_STREAM, F.END_HEADERS, F.END_HEADERS | F.END_STREAM, F.PADDED, F.PRIORITY), fc.integer({ min: 0, max: 255 })),
      streamId,
      payload: fc.oneof(fc.uint8Array({ maxLength: 24 }), fc.uint8Array({ maxLength: 600 })),
    });
    // Well-formed requests among them, so streams open and DATA, RST_STREAM and trailers meet live streams.
    const request = fc.record({ streamId: fc.constantFrom(1, 3, 5), path: fc.constantFrom(ECHO, HOLD, '/x/y'), end: fc.boolean() }).map(({ streamId: id, path, end }) => ({
      type: T.HEADERS,
      flags: F.END_HEADERS | (end ? F.END_STREAM : 0),
      streamId: id,
      payload: new Uint8Array(grpcRequestBlock(path)),
    }));
    const errorsBefore = protocolErrors.length;
    let ended = 0;
    let answered = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof({ arbitrary: anyFrame, weight: 3 }, { arbitrary: request, weight: 1 }), { minLength: 1, maxLength: 8 }), async (frames) => {
        const c = await RawClient.connect(port);
        try {
          const probe = randomBytes(8);
          c.send(PREFACE, h2frame(T.SETTINGS, 0, 0), ...frames.map((f) => h2frame(f.type, f.flags, f.streamId, Buffer.from(f.payload))), h2frame(T.PING, 0, 0, probe));
          const isAck = (f: RawFrame): boolean => f.type === T.PING && (f.flags & F.ACK) !== 0 && f.payload.equals(probe);
          await c.until(isAck, 'the probe PING ack', 3000).then(
            () => answered++,
            async (e: unknown) => {
              if (!c.closed) throw e;
              ended++;
            },
          );
        } finally {
          c.destroy();
        }
      }),
      { numRuns: 300 },
    );
    const internal = protocolErrors.slice(errorsBefore).filter((m) => m.startsWith('INTERNAL_ERROR'));
    expect(internal).toEqual([]);
    expect(ended + answered).toBe(300);
    await stillServes();
  });
});
