/**
 * One gRPC call on an HTTP/2 stream, server side (the gRPC over HTTP/2 wire protocol):
 * length-prefixed messages in both directions, the request metadata, and the status in
 * trailers. Messages are bytes; (de)serializing them is the service's business, so a
 * contract set encoded once can be written to every call without a copy.
 *
 * Messages that arrive before `start` (while the service checks the caller's token) are
 * held, and their bytes are not credited back to the client's window until `start`: a
 * client cannot make a call it has not been admitted to hold more than one window. Once
 * started, bytes are credited as they arrive, whole messages or not: a message is only
 * complete once all of it is here, so crediting per whole message would leave a message
 * larger than the window (or one behind a smaller, not yet credited one) waiting forever.
 */
import { headerValue, type HeaderList } from './hpack.js';
import type { H2Stream, StreamEvents } from './stream.js';

/** gRPC status codes (the values are the protocol's). */
export const GrpcStatus = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
} as const;
export type GrpcStatusCode = (typeof GrpcStatus)[keyof typeof GrpcStatus];

export interface CallEvents {
  /** One whole request message (a view: copy what is kept past the call). */
  message(bytes: Buffer): void;
  /** The client half-closed: no more messages. */
  end(): void;
  /** The call is over, said once: ended by us (end or fail), cancelled by the client, or the connection lost. */
  close(reason: string): void;
}

const PREFIX = 5;
/** Messages up to this size are copied behind their prefix (one buffer, one frame). */
const SMALL_MESSAGE = 4096;

/** A status message as the protocol carries it: percent-encoded UTF-8, kept short. */
function encodeGrpcMessage(text: string): string {
  const bytes = Buffer.from(text.slice(0, 1024), 'utf8');
  let out = '';
  for (const b of bytes) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  return out;
}

export class GrpcServerCall implements StreamEvents {
  private events: CallEvents | null = null;
  /** Messages held until `start`; null once started. */
  private held: Buffer[] | null = [];
  /** Octets received while held, credited to the client's window at `start`. */
  private uncredited = 0;
  private heldEnd = false;
  private heldClose: string | null = null;
  private prefix: Buffer | null = null;
  private prefixHave = 0;
  /**
   * The pieces of a message that spans chunks, and how many octets of it are still to come.
   * Pieces, not one buffer of the declared length: a peer that declares 16 MiB and sends
   * nothing must not make us allocate 16 MiB (memory follows the octets received, which the
   * flow-control window bounds).
   */
  private parts: Buffer[] | null = null;
  private need = 0;
  private messageLength = 0;
  private done = false;
  private closeSaid = false;

  private readonly stream: H2Stream;
  private readonly metadata: HeaderList;
  private readonly maxMessageBytes: number;

  constructor(stream: H2Stream, metadata: HeaderList, maxMessageBytes: number) {
    this.stream = stream;
    this.metadata = metadata;
    this.maxMessageBytes = maxMessageBytes;
    stream.events = this;
  }

  get peer(): string {
    return this.stream.peer;
  }

  /** The first value of a metadata header (names are lower case on the wire; pseudo-headers and the protocol's own are not kept). */
  header(name: string): string | undefined {
    return headerValue(this.metadata, name);
  }

  /** Messages written and not yet handed to the socket (the peer's flow-control window is shut). */
  get backlog(): number {
    return this.stream.backlog;
  }

  /** Delivers the held messages, then every later one, to `events`. */
  start(events: CallEvents): void {
    if (this.events !== null) return;
    this.events = events;
    const held = this.held ?? [];
    this.held = null;
    this.stream.consumed(this.uncredited);
    this.uncredited = 0;
    for (const m of held) if (!this.done) events.message(m);
    if (this.heldEnd && !this.done) events.end();
    if (this.heldClose !== null) events.close(this.heldClose);
  }

  write(message: Buffer): void {
    if (this.done) return;
    this.respondIfNeeded();
    if (message.length <= SMALL_MESSAGE) {
      const b = Buffer.allocUnsafe(PREFIX + message.length);
      b[0] = 0;
      b.writeUInt32BE(message.length, 1);
      message.copy(b, PREFIX);
      this.stream.write([b]);
    } else {
      const p = Buffer.allocUnsafe(PREFIX);
      p[0] = 0;
      p.writeUInt32BE(message.length, 1);
      this.stream.write([p, message]);
    }
  }

  /** Ends the call with status OK after what was written. */
  end(): void {
    this.finish(GrpcStatus.OK, '');
  }

  /** Ends the call with an error status (trailers-only when nothing was written). */
  fail(code: GrpcStatusCode, details: string): void {
    this.finish(code, details);
  }

  private finish(code: GrpcStatusCode, details: string): void {
    if (this.done) return;
    this.done = true;
    const trailers: HeaderList = [['grpc-status', String(code)]];
    if (details !== '') trailers.push(['grpc-message', encodeGrpcMessage(details)]);
    if (!this.stream.headersSent) this.stream.respond([[':status', '200'], ['content-type', 'application/grpc'], ...trailers], true);
    else this.stream.finish(trailers);
    this.closeOnce(code === GrpcStatus.OK ? 'ended' : details);
  }

  /** `close` is said once, whoever ended the call. */
  private closeOnce(reason: string): void {
    if (this.closeSaid) return;
    this.closeSaid = true;
    if (this.events === null) this.heldClose = reason;
    else this.events.close(reason);
  }

  private respondIfNeeded(): void {
    if (!this.stream.headersSent) this.stream.respond([[':status', '200'], ['content-type', 'application/grpc']]);
  }

  // ---- StreamEvents ----

  onData(chunk: Buffer): void {
    if (this.done) return;
    if (this.held !== null) this.uncredited += chunk.length;
    else this.stream.consumed(chunk.length);
    let at = 0;
    while (at < chunk.length && !this.done) {
      if (this.parts === null) {
        let length: number;
        let compressed: number;
        if (this.prefixHave === 0 && chunk.length - at >= PREFIX) {
          compressed = chunk[at]!;
          length = chunk.readUInt32BE(at + 1);
          at += PREFIX;
        } else {
          this.prefix ??= Buffer.allocUnsafe(PREFIX);
          const take = Math.min(PREFIX - this.prefixHave, chunk.length - at);
          chunk.copy(this.prefix, this.prefixHave, at, at + take);
          this.prefixHave += take;
          at += take;
          if (this.prefixHave < PREFIX) return;
          this.prefixHave = 0;
          compressed = this.prefix[0]!;
          length = this.prefix.readUInt32BE(1);
        }
        if (compressed !== 0) return this.refuse(GrpcStatus.UNIMPLEMENTED, 'compressed messages are not accepted (grpc-encoding identity only)');
        if (length > this.maxMessageBytes) return this.refuse(GrpcStatus.RESOURCE_EXHAUSTED, `a message of ${length} bytes; the limit is ${this.maxMessageBytes}`);
        if (chunk.length - at >= length) {
          // The whole message is in this chunk: hand over a view, no copy.
          this.arrive(chunk.subarray(at, at + length), false);
          at += length;
          continue;
        }
        this.parts = [];
        this.need = length;
        this.messageLength = length;
      }
      const take = Math.min(this.need, chunk.length - at);
      // A copy: the chunk is a view into one socket read, which must not stay pinned.
      this.parts.push(Buffer.from(chunk.subarray(at, at + take)));
      this.need -= take;
      at += take;
      if (this.need === 0) {
        const parts = this.parts;
        this.parts = null;
        this.arrive(parts.length === 1 ? parts[0]! : Buffer.concat(parts, this.messageLength), true);
      }
    }
  }

  onEnd(): void {
    if (this.parts !== null || this.prefixHave > 0) return this.refuse(GrpcStatus.INTERNAL, 'the stream ended inside a message');
    if (this.events === null) this.heldEnd = true;
    else if (!this.done) this.events.end();
  }

  onReset(reason: string): void {
    this.done = true;
    this.closeOnce(reason);
  }

  /** `owned`: the bytes are ours already (not a view into a socket read). */
  private arrive(bytes: Buffer, owned: boolean): void {
    if (this.held !== null) {
      // A view into a socket chunk would pin it while held: keep a copy.
      this.held.push(owned ? bytes : Buffer.from(bytes));
      return;
    }
    this.events!.message(bytes);
  }

  private refuse(code: GrpcStatusCode, details: string): void {
    this.parts = null;
    if (this.held !== null) this.held = [];
    this.finish(code, details);
  }
}
