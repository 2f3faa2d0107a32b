/**
 * io/http2/hpack.ts's decoder against a real HPACK encoder: node's own HTTP/2 client
 * (nghttp2, with Huffman strings and dynamic-table indexing) sends gRPC-like requests on one
 * connection to a raw `net` server on loopback, which reads the frames itself (RFC 7540 §4.1:
 * 9-octet header, 24-bit length, type, flags, 31-bit stream id), joins HEADERS (padding and
 * priority fields stripped) and CONTINUATION payloads up to END_HEADERS, and decodes each block
 * in wire order with one decoder, as the control plane's HTTP/2 server will. No response is
 * sent: the requests only have to arrive.
 */
import { randomBytes } from 'node:crypto';
import http2 from 'node:http2';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HpackDecoder, type HeaderList } from '../../io/http2/hpack.js';
import { waitFor } from '../support/wait-for.js';

/** Random octets of the per-request nonce (base64url: 4 characters per 3). */
const NONCE_OCTETS = 300;
const PREFACE = 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n';
const FRAME = { HEADERS: 1, SETTINGS: 4, CONTINUATION: 9 } as const;
const FLAG = { ACK: 0x1, END_HEADERS: 0x4, PADDED: 0x8, PRIORITY: 0x20 } as const;

function frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(streamId, 5);
  return Buffer.concat([head, payload]);
}

interface Received {
  readonly streamId: number;
  readonly blockOctets: number;
  readonly list: HeaderList;
}

/** A raw HTTP/2 endpoint that only reads: every header block goes through one HpackDecoder, in order. */
class HeaderBlockServer {
  readonly received: Received[] = [];
  readonly problems: string[] = [];
  /** HEADERS flags seen, and whether CONTINUATION was: which framing paths the run covered. */
  readonly headersFlags = new Set<number>();
  continuations = 0;
  private readonly server = net.createServer((socket) => this.serve(socket));
  private readonly sockets = new Set<net.Socket>();

  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    return (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', (err) => this.problems.push(`socket: ${err.message}`));
    const decoder = new HpackDecoder();
    let pending = Buffer.alloc(0);
    let prefaceRead = false;
    let block: { streamId: number; parts: Buffer[] } | undefined;
    socket.write(frame(FRAME.SETTINGS, 0, 0));
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!prefaceRead) {
        if (pending.length < PREFACE.length) return;
        if (pending.subarray(0, PREFACE.length).toString('latin1') !== PREFACE) this.problems.push('bad connection preface');
        pending = pending.subarray(PREFACE.length);
        prefaceRead = true;
      }
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending[3]!;
        const flags = pending[4]!;
        const streamId = pending.readUInt32BE(5) & 0x7fffffff;
        let payload = pending.subarray(9, 9 + length);
        pending = pending.subarray(9 + length);
        if (type === FRAME.SETTINGS && !(flags & FLAG.ACK)) socket.write(frame(FRAME.SETTINGS, FLAG.ACK, 0));
        if (type === FRAME.HEADERS) {
          this.headersFlags.add(flags);
          if (flags & FLAG.PADDED) {
            const padding = payload[0]!;
            if (padding >= payload.length) this.problems.push(`stream ${streamId}: padding ${padding} ≥ payload ${payload.length}`);
            payload = payload.subarray(1, payload.length - padding);
          }
          if (flags & FLAG.PRIORITY) payload = payload.subarray(5);
          block = { streamId, parts: [payload] };
        } else if (type === FRAME.CONTINUATION) {
          this.continuations++;
          if (block?.streamId !== streamId) this.problems.push(`CONTINUATION on stream ${streamId} outside its block`);
          block?.parts.push(payload);
        } else {
          continue;
        }
        if (flags & FLAG.END_HEADERS && block) {
          const octets = Buffer.concat(block.parts);
          try {
            this.received.push({ streamId: block.streamId, blockOctets: octets.length, list: decoder.decode(octets) });
          } catch (err) {
            this.problems.push(`stream ${block.streamId}: ${(err as Error).message}`);
          }
          block = undefined;
        }
      }
    });
  }
}

/** A value node will send: tab, visible ASCII and latin1 octets 0x80..0xff, no space or tab at either end. */
function randomFieldValue(length: number): string {
  const allowed = [0x09, ...Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => 0x20 + i), ...Array.from({ length: 0x80 }, (_, i) => 0x80 + i)];
  const octets = [...randomBytes(length)].map((b) => allowed[b % allowed.length]!);
  return `<${Buffer.from(octets).toString('latin1')}>`;
}

describe('HPACK decoder against nghttp2 (node:http2 client)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('decodes every request header block of one connection, in order, to what the client sent', async () => {
    const server = new HeaderBlockServer();
    const port = await server.listen();
    cleanups.push(() => server.close());
    // Padding and priority make nghttp2 set PADDED and PRIORITY on HEADERS where they fit.
    const client = http2.connect(`http://127.0.0.1:${port}`, { paddingStrategy: http2.constants.PADDING_STRATEGY_MAX });
    const clientErrors: string[] = [];
    client.on('error', (err) => clientErrors.push(err.message));
    cleanups.push(() => void client.destroy());

    const token = randomBytes(24).toString('base64url');
    const longValue = randomFieldValue(300); // > 127 octets: multi-octet length, and an indexed entry of ~330 octets
    const grpcHeaders = (seq: number, extra: Record<string, string> = {}): Record<string, string> => ({
      ':method': 'POST',
      ':path': '/rampart.v1.Collector/Connect',
      'content-type': 'application/grpc',
      te: 'trailers',
      authorization: `Bearer ${token}`,
      'grpc-accept-encoding': 'identity,deflate,gzip',
      'user-agent': 'grpc-node-js/1.14.7',
      'x-rampart-node': 'node-0042.eu-west-1.compute.internal', // the same on every request: indexed
      'x-rampart-seq': String(seq),
      // New every time: inserted, so the 4096-octet table fills and evicts every few requests.
      // Of random length, so evictions fall at every point relative to the entries.
      'x-rampart-nonce': randomBytes(1 + (seq === 2 ? NONCE_OCTETS - 1 : randomBytes(2).readUInt16BE(0) % NONCE_OCTETS)).toString('base64url'),
      'x-rampart-long': longValue,
      'x-empty': '',
      ...extra,
    });
    const sent = Array.from({ length: 40 }, (_, i) => grpcHeaders(i + 1));
    sent[2] = grpcHeaders(3, { 'x-latin1': Buffer.from([0xe9, 0xa0, 0xff, 0x80]).toString('latin1') });
    sent[3] = grpcHeaders(4, { authorization: `Bearer ${randomBytes(24).toString('base64url')}` });
    // Larger than one 16 KiB frame: HEADERS + CONTINUATION, and larger than the whole table.
    sent[5] = grpcHeaders(6, { 'x-rampart-huge': randomFieldValue(30_000) });
    for (const headers of sent) {
      const req = client.request(headers, { endStream: false, weight: 32 });
      req.on('error', (err) => clientErrors.push(err.message));
    }

    await waitFor(() => server.received.length + server.problems.length >= sent.length, { timeoutMs: 10_000, what: `${sent.length} header blocks` });
    expect(server.problems).toEqual([]);
    expect(clientErrors).toEqual([]);
    expect(server.received.map((r) => r.streamId)).toEqual(sent.map((_, i) => 2 * i + 1));
    server.received.forEach(({ list }, i) => {
      const firstRegular = list.findIndex(([name]) => !name.startsWith(':'));
      // RFC 7540 §8.1.2.1: pseudo-headers first. Node adds :scheme and :authority.
      expect(list.slice(firstRegular).some(([name]) => name.startsWith(':')), `request ${i + 1}: pseudo-header after a regular one`).toBe(false);
      const pseudo = Object.fromEntries(list.slice(0, firstRegular));
      expect(pseudo, `request ${i + 1} pseudo-headers`).toEqual({ ':method': 'POST', ':path': '/rampart.v1.Collector/Connect', ':scheme': 'http', ':authority': `127.0.0.1:${port}` });
      const regular = Object.entries(sent[i]!).filter(([name]) => !name.startsWith(':'));
      expect(list.slice(firstRegular), `request ${i + 1} headers`).toEqual(regular);
    });
    // The encoder did index: in the second block only the nonce and the sequence number are new
    // (the nonce Huffman-coded in fewer octets than its text); the token, the 300-octet value and
    // the rest came as indexes, else they alone would pass 300 octets.
    expect(server.received[1]!.blockOctets).toBeLessThan(4 * Math.ceil(NONCE_OCTETS / 3) + 60);
    expect(server.continuations).toBeGreaterThan(0);
  });
});
