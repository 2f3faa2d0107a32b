/**
 * One HTTP/2 stream of a server connection: its send window and the entries waiting for
 * it, whether each side has ended, and the hooks the request handler sets. The connection
 * owns the protocol; a stream only queues and asks the connection to send.
 */
import type { HeaderList } from './hpack.js';
import type { ErrorCodeName } from './frames.js';

/** What a stream needs from its connection (kept narrow so the stream holds one reference). */
export interface StreamHost {
  sendHeaders(stream: H2Stream, headers: HeaderList, endStream: boolean): void;
  flush(stream: H2Stream): void;
  reset(stream: H2Stream, code: ErrorCodeName): void;
  credit(stream: H2Stream, bytes: number): void;
  readonly peer: string;
}

/** One queued write: parts sent in order (a message's prefix and its shared body need no copy). */
export interface QueuedEntry {
  readonly parts: readonly Buffer[];
  part: number;
  offset: number;
}

export interface StreamEvents {
  /** A DATA payload (a view, valid during the call; copy what is kept). */
  onData(chunk: Buffer): void;
  /** The peer ended its side. */
  onEnd(): void;
  /** The stream is gone: reset by either side, or the connection closed. Not called after a clean finish. */
  onReset(reason: string): void;
}

export class H2Stream {
  sendWindow: number;
  /** Octets the peer may still send before our next WINDOW_UPDATE. */
  recvWindow: number;
  /** Octets consumed and not yet handed back as window credit. */
  owed = 0;
  /** DATA octets received on this stream, and how many of them were consumed. */
  received = 0;
  consumedOctets = 0;
  readonly queue: QueuedEntry[] = [];
  /** Trailers to send once the queue is empty (then the stream ends on our side). */
  trailers: HeaderList | null = null;
  headersSent = false;
  localClosed = false;
  remoteClosed = false;
  closed = false;
  events: StreamEvents | null = null;

  readonly id: number;
  private readonly host: StreamHost;

  constructor(id: number, host: StreamHost, sendWindow: number, recvWindow: number) {
    this.id = id;
    this.host = host;
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  get peer(): string {
    return this.host.peer;
  }

  /** Response headers; `endStream` makes a headers-only response (gRPC's trailers-only). */
  respond(headers: HeaderList, endStream = false): void {
    if (this.closed || this.localClosed || this.headersSent) return;
    this.headersSent = true;
    this.host.sendHeaders(this, headers, endStream);
  }

  /** Queues data (sent as the peer's windows allow). */
  write(parts: readonly Buffer[]): void {
    if (this.closed || this.localClosed || this.trailers !== null) return;
    this.queue.push({ parts, part: 0, offset: 0 });
    this.host.flush(this);
  }

  /** Entries still waiting for window. */
  get backlog(): number {
    return this.queue.length;
  }

  /**
   * Takes up to `room` octets off the front of the queue, as views (no copy): several small
   * messages share one DATA frame. The caller sends them and charges the windows.
   */
  take(room: number): Buffer[] {
    const q = this.queue;
    const views: Buffer[] = [];
    let n = 0;
    while (n < room && q.length > 0) {
      const e = q[0]!;
      const part = e.parts[e.part]!;
      const size = Math.min(part.length - e.offset, room - n);
      if (size > 0) views.push(part.subarray(e.offset, e.offset + size));
      n += size;
      e.offset += size;
      if (e.offset === part.length) {
        e.part++;
        e.offset = 0;
        if (e.part === e.parts.length) q.shift();
      }
    }
    return views;
  }

  /** Ends our side with trailers, after what is queued. */
  finish(trailers: HeaderList): void {
    if (this.closed || this.localClosed || this.trailers !== null) return;
    this.trailers = trailers;
    this.host.flush(this);
  }

  /** Tells the peer to stop (RST_STREAM) and forgets the stream. */
  reset(code: ErrorCodeName): void {
    if (this.closed) return;
    this.host.reset(this, code);
  }

  /** The handler consumed this many received octets: the peer may send that many more. */
  consumed(bytes: number): void {
    if (bytes > 0 && !this.closed) this.host.credit(this, bytes);
  }
}
