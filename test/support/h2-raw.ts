/**
 * HTTP/2 by hand for tests of io/http2: frames built byte by byte, a raw client on a `net`
 * socket that reads the server's frames back, header blocks as HPACK literals, and a TCP tap
 * that relays a real client's connection while counting the frames each way (and can cut it).
 * Written apart from io/http2's own framing so a bug there cannot hide in the test's reading.
 */
import * as net from 'node:net';

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
export const T = { DATA: 0, HEADERS: 1, PRIORITY: 2, RST_STREAM: 3, SETTINGS: 4, PUSH_PROMISE: 5, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8, CONTINUATION: 9 } as const;
export const F = { END_STREAM: 1, ACK: 1, END_HEADERS: 4, PADDED: 8, PRIORITY: 0x20 } as const;
/** RFC 9113 §7 error codes by value, for readable assertions. */
export const ERROR_NAMES: Readonly<Record<number, string>> = {
  0: 'NO_ERROR', 1: 'PROTOCOL_ERROR', 2: 'INTERNAL_ERROR', 3: 'FLOW_CONTROL_ERROR', 4: 'SETTINGS_TIMEOUT', 5: 'STREAM_CLOSED',
  6: 'FRAME_SIZE_ERROR', 7: 'REFUSED_STREAM', 8: 'CANCEL', 9: 'COMPRESSION_ERROR', 10: 'CONNECT_ERROR', 11: 'ENHANCE_YOUR_CALM',
};

export interface RawFrame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

export function h2frame(type: number, flags: number, streamId: number, payload: Buffer = Buffer.alloc(0), declaredLength = payload.length): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(declaredLength, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(streamId >>> 0, 5);
  return Buffer.concat([h, payload]);
}

export function u32(...values: number[]): Buffer {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
}

/** A header block of "literal without indexing, new name" fields (RFC 7541 §6.2.2), no Huffman; strings under 127 octets. */
export function literalBlock(headers: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of headers) {
    const n = Buffer.from(name, 'latin1');
    const v = Buffer.from(value, 'latin1');
    if (n.length > 126 || v.length > 126) throw new Error('literalBlock: strings under 127 octets only');
    parts.push(Buffer.from([0x00, n.length]), n, Buffer.from([v.length]), v);
  }
  return Buffer.concat(parts);
}

export function grpcRequestBlock(path: string, contentType = 'application/grpc'): Buffer {
  return literalBlock([[':method', 'POST'], [':scheme', 'http'], [':path', path], [':authority', 'localhost'], ['content-type', contentType], ['te', 'trailers']]);
}

/** Cuts a byte stream into frames; `skip` octets (a client preface) are dropped first. */
export class FrameScanner {
  private buf = Buffer.alloc(0);
  private skip: number;
  constructor(skip = 0) {
    this.skip = skip;
  }
  push(chunk: Buffer): RawFrame[] {
    this.buf = Buffer.concat([this.buf, chunk]);
    if (this.skip > 0) {
      const n = Math.min(this.skip, this.buf.length);
      this.buf = this.buf.subarray(n);
      this.skip -= n;
    }
    const out: RawFrame[] = [];
    while (this.buf.length >= 9) {
      const length = this.buf.readUIntBE(0, 3);
      if (this.buf.length < 9 + length) break;
      out.push({ type: this.buf[3]!, flags: this.buf[4]!, streamId: this.buf.readUInt32BE(5) & 0x7fffffff, payload: Buffer.from(this.buf.subarray(9, 9 + length)) });
      this.buf = this.buf.subarray(9 + length);
    }
    return out;
  }
}

/** A raw HTTP/2 client: every frame the server sends is kept; waits are bounded. */
export class RawClient {
  readonly frames: RawFrame[] = [];
  readonly socket: net.Socket;
  closed = false;
  private readonly scanner = new FrameScanner();
  private readonly waiters = new Set<() => void>();

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (c: Buffer) => {
      this.frames.push(...this.scanner.push(c));
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  static connect(port: number): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new RawClient(s)));
      s.once('error', reject);
    });
  }

  /** Preface + an empty SETTINGS, then the server's SETTINGS is acknowledged. */
  static async open(port: number): Promise<RawClient> {
    const c = await RawClient.connect(port);
    c.send(PREFACE, h2frame(T.SETTINGS, 0, 0));
    await c.until((f) => f.type === T.SETTINGS && (f.flags & F.ACK) === 0, 'the server SETTINGS');
    c.send(h2frame(T.SETTINGS, F.ACK, 0));
    return c;
  }

  send(...bufs: Buffer[]): void {
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(bufs));
  }

  private wake(): void {
    for (const w of [...this.waiters]) w();
  }

  /** Resolves with the first frame (already received or to come) that matches; rejects when the socket closes first or after `timeoutMs`. */
  until(match: (f: RawFrame) => boolean, what: string, timeoutMs = 5000): Promise<RawFrame> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const f = this.frames.find(match);
        if (f !== undefined) {
          done();
          resolve(f);
          return true;
        }
        if (this.closed) {
          done();
          reject(new Error(`the connection closed before ${what}; frames: ${this.describe()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${timeoutMs} ms; frames: ${this.describe()}`));
      }, timeoutMs);
      const waiter = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      this.waiters.add(waiter);
      check();
    });
  }

  /** Resolves once the server has closed the connection (bounded). */
  untilClosed(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.closed) return resolve();
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`the connection was still open after ${timeoutMs} ms; frames: ${this.describe()}`));
      }, timeoutMs);
      const waiter = (): void => {
        if (!this.closed) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      this.waiters.add(waiter);
    });
  }

  /** The GOAWAY's error code, by name. */
  async goaway(timeoutMs = 5000): Promise<string> {
    const g = await this.until((f) => f.type === T.GOAWAY, 'a GOAWAY', timeoutMs);
    return ERROR_NAMES[g.payload.readUInt32BE(4)] ?? `code ${g.payload.readUInt32BE(4)}`;
  }

  async rst(streamId: number, timeoutMs = 5000): Promise<string> {
    const r = await this.until((f) => f.type === T.RST_STREAM && f.streamId === streamId, `a RST_STREAM on stream ${streamId}`, timeoutMs);
    return ERROR_NAMES[r.payload.readUInt32BE(0)] ?? `code ${r.payload.readUInt32BE(0)}`;
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** The frames received, for a failure message: the last 20 of them, with how many came before. */
  describe(): string {
    const name = (f: RawFrame): string => `${Object.keys(T).find((k) => T[k as keyof typeof T] === f.type) ?? f.type}/${f.streamId}`;
    const last = this.frames.slice(-20).map(name).join(' ');
    return this.frames.length > 20 ? `${this.frames.length} frames, the last 20: ${last}` : last || '(none)';
  }
}

/**
 * A TCP relay between a real client and the server that counts the HTTP/2 frames each way
 * by type, and can cut every connection it relays (a lost network, not a polite close).
 */
export class FrameTap {
  readonly toServer = new Map<number, number>();
  readonly toClient = new Map<number, number>();
  private readonly sockets = new Set<net.Socket>();
  private server: net.Server | null = null;

  async listen(target: number): Promise<number> {
    const count = (m: Map<number, number>, frames: RawFrame[]): void => {
      for (const f of frames) m.set(f.type, (m.get(f.type) ?? 0) + 1);
    };
    const server = net.createServer((client) => {
      const upstream = net.connect(target, '127.0.0.1');
      const up = new FrameScanner(PREFACE.length);
      const down = new FrameScanner();
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          client.destroy();
          upstream.destroy();
        });
      }
      client.on('data', (c: Buffer) => {
        count(this.toServer, up.push(c));
        upstream.write(c);
      });
      upstream.on('data', (c: Buffer) => {
        count(this.toClient, down.push(c));
        client.write(c);
      });
    });
    this.server = server;
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
  }

  /** Destroys every relayed socket at once (both sides see the connection drop). */
  cut(): void {
    for (const s of [...this.sockets]) s.destroy();
  }

  async close(): Promise<void> {
    this.cut();
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((r) => s.close(() => r()));
  }
}
