/**
 * The server side of one HTTP/2 connection (RFC 9113) on a socket we were handed: the
 * preface and SETTINGS exchange, HEADERS/CONTINUATION through one HPACK decoder, DATA with
 * flow control both ways, PING, RST_STREAM, GOAWAY. Streams are handed to `onRequest`;
 * everything above framing (gRPC) lives in the caller.
 *
 * Why not node:http2: a node:http2 session costs ≈ 25 KiB of native memory and ≈ 10 KiB of
 * objects per connection (nghttp2 reserves a 16 KiB outbound buffer per session at compile
 * time; docs/controlplane-scale.md), which is the whole control plane budget at 10,000 agents.
 * This connection is a socket, one small object, an HPACK table, and a buffer only while a
 * frame is incomplete.
 *
 * Every protocol violation is a ConnectionError: GOAWAY with its code, then the socket
 * closes. Nothing a peer sends can throw out of the socket's data handler.
 */
import type * as net from 'node:net';
import { HpackDecoder, HpackError, encodeHeaders, type HeaderList } from './hpack.js';
import {
  CLIENT_PREFACE,
  ConnectionError,
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  Flag,
  FRAME_HEADER_LENGTH,
  FrameReader,
  FrameType,
  MAX_WINDOW,
  Setting,
  frame,
  frameHeader,
  goawayFrame,
  rstStreamFrame,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
  type ErrorCodeName,
  type Frame,
} from './frames.js';
import { H2Stream, type StreamHost } from './stream.js';
import { COALESCE_BYTES, CONNECTION_WINDOW, LOCAL_SETTINGS, MAX_HEADER_BLOCK, MAX_UNREAD_ANSWERS_BYTES, PREFACE_TIMEOUT_MS } from './limits.js';


export interface ConnectionHooks {
  /** A new stream with its request headers. The handler sets `stream.events`. */
  onRequest(stream: H2Stream, headers: HeaderList): void;
  /** The connection is gone (after every stream's reset). */
  onClose(conn: ServerConnection): void;
  /** A protocol violation by the peer, for the log. */
  onProtocolError?(conn: ServerConnection, error: ConnectionError): void;
}

interface PendingBlock {
  readonly streamId: number;
  readonly endStream: boolean;
  readonly parts: Buffer[];
  length: number;
}

export class ServerConnection implements StreamHost {
  readonly peer: string;
  private readonly socket: net.Socket;
  private readonly hooks: ConnectionHooks;
  private readonly reader = new FrameReader(LOCAL_SETTINGS.maxFrameSize);
  private readonly decoder = new HpackDecoder(LOCAL_SETTINGS.headerTableSize);
  private readonly streams = new Map<number, H2Stream>();
  private prefaceSeen = 0;
  private settingsSeen = false;
  private block: PendingBlock | null = null;
  private lastStreamId = 0;
  private sendWindow = DEFAULT_WINDOW;
  private recvWindow = CONNECTION_WINDOW;
  /** Octets consumed (or discarded) and not yet handed back to the connection window. */
  private connectionOwed = 0;
  private peerInitialWindow = DEFAULT_WINDOW;
  private peerMaxFrameSize = DEFAULT_MAX_FRAME_SIZE;
  private goingAway = false;
  private closed = false;
  private prefaceTimer: NodeJS.Timeout | null;

  constructor(socket: net.Socket, hooks: ConnectionHooks) {
    this.socket = socket;
    this.hooks = hooks;
    const host = socket.remoteAddress ?? 'unknown';
    this.peer = `${host.includes(':') ? `[${host}]` : host}:${socket.remotePort ?? 0}`;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.teardown('the connection closed'));
    this.prefaceTimer = setTimeout(() => this.fail(new ConnectionError('PROTOCOL_ERROR', `no preface and SETTINGS within ${PREFACE_TIMEOUT_MS / 1000} s`)), PREFACE_TIMEOUT_MS);
    this.prefaceTimer.unref();
    socket.write(
      Buffer.concat([
        settingsFrame([
          [Setting.MAX_CONCURRENT_STREAMS, LOCAL_SETTINGS.maxConcurrentStreams],
          [Setting.INITIAL_WINDOW_SIZE, LOCAL_SETTINGS.initialWindowSize],
          [Setting.MAX_HEADER_LIST_SIZE, LOCAL_SETTINGS.maxHeaderListSize],
          [Setting.ENABLE_PUSH, 0],
        ]),
        windowUpdateFrame(0, CONNECTION_WINDOW - DEFAULT_WINDOW),
      ]),
    );
  }

  /** Graceful close: no new streams; the socket ends once the open ones finish. */
  goAway(): void {
    if (this.closed || this.goingAway) return;
    this.goingAway = true;
    this.socket.write(goawayFrame(this.lastStreamId, 'NO_ERROR'));
    if (this.streams.size === 0) this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
    // At once, not on the socket's 'close' (a tick later): GrpcServer.close returns after
    // this, and by then every handler must have heard `close` and the connection be gone.
    this.teardown('the server closed the connection');
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      let at = 0;
      if (this.prefaceSeen < CLIENT_PREFACE.length) {
        const n = Math.min(chunk.length, CLIENT_PREFACE.length - this.prefaceSeen);
        if (!chunk.subarray(0, n).equals(CLIENT_PREFACE.subarray(this.prefaceSeen, this.prefaceSeen + n))) throw new ConnectionError('PROTOCOL_ERROR', 'not an HTTP/2 client preface');
        this.prefaceSeen += n;
        at = n;
        if (at === chunk.length) return;
      }
      this.reader.push(at === 0 ? chunk : chunk.subarray(at), (f) => {
        if (!this.closed) this.onFrame(f);
      });
    } catch (e) {
      this.fail(e instanceof ConnectionError ? e : new ConnectionError('INTERNAL_ERROR', e instanceof Error ? e.message : String(e)));
    }
  }

  private onFrame(f: Frame): void {
    if (!this.settingsSeen) {
      if (f.type !== FrameType.SETTINGS || (f.flags & Flag.ACK) !== 0) throw new ConnectionError('PROTOCOL_ERROR', 'the first frame must be SETTINGS');
      this.settingsSeen = true;
      this.clearPrefaceTimer();
    }
    if (this.block !== null && f.type !== FrameType.CONTINUATION) throw new ConnectionError('PROTOCOL_ERROR', 'a header block interrupted by another frame');
    switch (f.type) {
      case FrameType.DATA:
        return this.onDataFrame(f);
      case FrameType.HEADERS:
        return this.onHeaders(f);
      case FrameType.CONTINUATION:
        return this.onContinuation(f);
      case FrameType.PRIORITY:
        if (f.streamId === 0) throw new ConnectionError('PROTOCOL_ERROR', 'PRIORITY on stream 0');
        if (f.payload.length !== 5) throw new ConnectionError('FRAME_SIZE_ERROR', 'PRIORITY must be 5 octets');
        return;
      case FrameType.RST_STREAM:
        return this.onRstStream(f);
      case FrameType.SETTINGS:
        return this.onSettings(f);
      case FrameType.PUSH_PROMISE:
        throw new ConnectionError('PROTOCOL_ERROR', 'a client cannot push');
      case FrameType.PING:
        if (f.streamId !== 0) throw new ConnectionError('PROTOCOL_ERROR', 'PING on a stream');
        if (f.payload.length !== 8) throw new ConnectionError('FRAME_SIZE_ERROR', 'PING must be 8 octets');
        if ((f.flags & Flag.ACK) !== 0) return;
        this.checkUnread();
        this.socket.write(frame(FrameType.PING, Flag.ACK, 0, Buffer.from(f.payload)));
        return;
      case FrameType.GOAWAY:
        if (f.streamId !== 0) throw new ConnectionError('PROTOCOL_ERROR', 'GOAWAY on a stream');
        this.goingAway = true;
        if (this.streams.size === 0) this.socket.end();
        return;
      case FrameType.WINDOW_UPDATE:
        return this.onWindowUpdate(f);
      default:
        // Unknown frame types are ignored (RFC 9113 §4.1).
        return;
    }
  }

  private checkUnread(): void {
    if (this.socket.writableLength > MAX_UNREAD_ANSWERS_BYTES) throw new ConnectionError('ENHANCE_YOUR_CALM', `the client does not read: ${this.socket.writableLength} octets unsent`);
  }

  private onSettings(f: Frame): void {
    if (f.streamId !== 0) throw new ConnectionError('PROTOCOL_ERROR', 'SETTINGS on a stream');
    if ((f.flags & Flag.ACK) !== 0) {
      if (f.payload.length !== 0) throw new ConnectionError('FRAME_SIZE_ERROR', 'a SETTINGS ack with a payload');
      return;
    }
    if (f.payload.length % 6 !== 0) throw new ConnectionError('FRAME_SIZE_ERROR', 'SETTINGS length is not a multiple of 6');
    for (let i = 0; i < f.payload.length; i += 6) {
      const id = f.payload.readUInt16BE(i);
      const value = f.payload.readUInt32BE(i + 2);
      if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW) throw new ConnectionError('FLOW_CONTROL_ERROR', 'SETTINGS_INITIAL_WINDOW_SIZE above 2^31-1');
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.values()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW) throw new ConnectionError('FLOW_CONTROL_ERROR', 'a stream window above 2^31-1');
        }
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_SIZE || value > 16_777_215) throw new ConnectionError('PROTOCOL_ERROR', 'SETTINGS_MAX_FRAME_SIZE out of range');
        this.peerMaxFrameSize = value;
      } else if (id === Setting.ENABLE_PUSH && value > 1) {
        throw new ConnectionError('PROTOCOL_ERROR', 'SETTINGS_ENABLE_PUSH must be 0 or 1');
      }
      // HEADER_TABLE_SIZE needs nothing: our encoder never indexes. Others are advisory.
    }
    this.socket.write(frame(FrameType.SETTINGS, Flag.ACK, 0));
    for (const s of this.streams.values()) this.flush(s);
  }

  private onWindowUpdate(f: Frame): void {
    if (f.payload.length !== 4) throw new ConnectionError('FRAME_SIZE_ERROR', 'WINDOW_UPDATE must be 4 octets');
    const increment = f.payload.readUInt32BE(0) & 0x7fffffff;
    if (f.streamId === 0) {
      if (increment === 0) throw new ConnectionError('PROTOCOL_ERROR', 'a connection WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW) throw new ConnectionError('FLOW_CONTROL_ERROR', 'the connection window above 2^31-1');
      for (const s of this.streams.values()) if (s.queue.length > 0 || s.trailers !== null) this.flush(s);
      return;
    }
    const s = this.streams.get(f.streamId);
    if (s === undefined) return; // a stream already closed: allowed (RFC 9113 §6.9)
    if (increment === 0) return this.reset(s, 'PROTOCOL_ERROR');
    s.sendWindow += increment;
    if (s.sendWindow > MAX_WINDOW) return this.reset(s, 'FLOW_CONTROL_ERROR');
    this.flush(s);
  }

  private onRstStream(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError('PROTOCOL_ERROR', 'RST_STREAM on stream 0');
    if (f.payload.length !== 4) throw new ConnectionError('FRAME_SIZE_ERROR', 'RST_STREAM must be 4 octets');
    if (f.streamId > this.lastStreamId) throw new ConnectionError('PROTOCOL_ERROR', 'RST_STREAM on an idle stream');
    const s = this.streams.get(f.streamId);
    if (s !== undefined) this.forget(s, 'the client cancelled the stream');
  }

  private onDataFrame(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError('PROTOCOL_ERROR', 'DATA on stream 0');
    if (f.streamId > this.lastStreamId) throw new ConnectionError('PROTOCOL_ERROR', 'DATA on an idle stream');
    const size = f.payload.length;
    // The whole frame (padding included) counts against both windows. The connection's is
    // given back as octets are consumed, not as they arrive: a client not yet admitted (its
    // calls held) can then make us hold one connection window, not one per stream.
    this.recvWindow -= size;
    if (this.recvWindow < 0) throw new ConnectionError('FLOW_CONTROL_ERROR', 'the client overran the connection window');
    const s = this.streams.get(f.streamId);
    if (s === undefined || s.remoteClosed) {
      // Nothing will consume it: the connection gets it back at once.
      this.creditConnection(size);
      this.checkUnread();
      // Closed by us (reset or finished): tell the client to stop, once per frame is enough.
      if (s === undefined) this.socket.write(rstStreamFrame(f.streamId, 'STREAM_CLOSED'));
      // DATA after the client's END_STREAM (RFC 9113 §5.1): reset, so the handler hears close and the slot is freed.
      else this.reset(s, 'STREAM_CLOSED');
      return;
    }
    s.received += size;
    s.recvWindow -= size;
    if (s.recvWindow < 0) return this.reset(s, 'FLOW_CONTROL_ERROR');
    let data = f.payload;
    if ((f.flags & Flag.PADDED) !== 0) {
      if (data.length < 1 || data[0]! >= data.length) throw new ConnectionError('PROTOCOL_ERROR', 'DATA padding longer than the frame');
      data = data.subarray(1, data.length - data[0]!);
      // Padding is consumed at once: the handler never sees it.
      this.credit(s, size - data.length);
    }
    const end = (f.flags & Flag.END_STREAM) !== 0;
    if (end) s.remoteClosed = true;
    if (data.length > 0) s.events?.onData(data);
    if (end && !s.closed) {
      s.events?.onEnd();
      this.closeIfDone(s);
    }
  }

  private onHeaders(f: Frame): void {
    if (f.streamId === 0) throw new ConnectionError('PROTOCOL_ERROR', 'HEADERS on stream 0');
    let p = f.payload;
    let padding = 0;
    if ((f.flags & Flag.PADDED) !== 0) {
      if (p.length < 1) throw new ConnectionError('PROTOCOL_ERROR', 'HEADERS padding without its length');
      padding = p[0]!;
      p = p.subarray(1);
    }
    if ((f.flags & Flag.PRIORITY) !== 0) {
      if (p.length < 5) throw new ConnectionError('PROTOCOL_ERROR', 'HEADERS priority fields cut short');
      p = p.subarray(5);
    }
    if (padding > p.length) throw new ConnectionError('PROTOCOL_ERROR', 'HEADERS padding longer than the frame');
    p = p.subarray(0, p.length - padding);
    this.block = { streamId: f.streamId, endStream: (f.flags & Flag.END_STREAM) !== 0, parts: [Buffer.from(p)], length: p.length };
    if ((f.flags & Flag.END_HEADERS) !== 0) this.endBlock();
  }

  private onContinuation(f: Frame): void {
    const b = this.block;
    if (b === null || f.streamId !== b.streamId) throw new ConnectionError('PROTOCOL_ERROR', 'CONTINUATION without the HEADERS it continues');
    b.length += f.payload.length;
    if (b.length > MAX_HEADER_BLOCK) throw new ConnectionError('ENHANCE_YOUR_CALM', `a header block over ${MAX_HEADER_BLOCK} octets`);
    b.parts.push(Buffer.from(f.payload));
    if ((f.flags & Flag.END_HEADERS) !== 0) this.endBlock();
  }

  private endBlock(): void {
    const b = this.block!;
    this.block = null;
    let headers: HeaderList;
    try {
      // Decoded even for a stream we refuse: the HPACK table must stay in step with the peer's.
      headers = this.decoder.decode(b.parts.length === 1 ? b.parts[0]! : Buffer.concat(b.parts), LOCAL_SETTINGS.maxHeaderListSize);
    } catch (e) {
      if (e instanceof HpackError) throw new ConnectionError('COMPRESSION_ERROR', e.message);
      throw e;
    }
    const existing = this.streams.get(b.streamId);
    if (existing !== undefined) {
      // Trailers from the client: they must end the stream; gRPC sends none we read.
      if (!b.endStream) return this.reset(existing, 'PROTOCOL_ERROR');
      // After the client's END_STREAM (RFC 9113 §5.1); without this the handler heard `end` twice.
      if (existing.remoteClosed) return this.reset(existing, 'STREAM_CLOSED');
      existing.remoteClosed = true;
      existing.events?.onEnd();
      this.closeIfDone(existing);
      return;
    }
    if (b.streamId % 2 === 0 || b.streamId <= this.lastStreamId) throw new ConnectionError('PROTOCOL_ERROR', `HEADERS opening stream ${b.streamId}, not a new odd stream id`);
    this.lastStreamId = b.streamId;
    if (this.goingAway || this.streams.size >= LOCAL_SETTINGS.maxConcurrentStreams) {
      this.socket.write(rstStreamFrame(b.streamId, 'REFUSED_STREAM'));
      return;
    }
    const s = new H2Stream(b.streamId, this, this.peerInitialWindow, LOCAL_SETTINGS.initialWindowSize);
    this.streams.set(s.id, s);
    if (b.endStream) s.remoteClosed = true;
    this.hooks.onRequest(s, headers);
    if (b.endStream && !s.closed) {
      s.events?.onEnd();
      this.closeIfDone(s);
    }
  }

  // ---- StreamHost: what streams ask of the connection ----

  sendHeaders(s: H2Stream, headers: HeaderList, endStream: boolean): void {
    if (this.closed || s.closed) return;
    const block = encodeHeaders(headers);
    // Our header blocks are a few hundred octets; the smallest frame size the peer may set is 16 KiB.
    if (block.length > this.peerMaxFrameSize) throw new Error(`a response header block of ${block.length} octets`);
    this.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | (endStream ? Flag.END_STREAM : 0), s.id, block));
    if (endStream) {
      s.localClosed = true;
      if (!s.remoteClosed) {
        // As after trailers in flush: a complete response (405, 415, trailers-only) frees the
        // stream now; otherwise it counted against the 8 concurrent until the client ended it.
        this.socket.write(rstStreamFrame(s.id, 'NO_ERROR'));
        s.remoteClosed = true;
      }
      this.closeIfDone(s);
    }
  }

  flush(s: H2Stream): void {
    if (this.closed || s.closed) return;
    if (!s.headersSent) return;
    const q = s.queue;
    let corked = false;
    while (q.length > 0) {
      const room = Math.min(s.sendWindow, this.sendWindow, this.peerMaxFrameSize);
      if (room <= 0) break;
      const views = s.take(room);
      let n = 0;
      for (const v of views) n += v.length;
      s.sendWindow -= n;
      this.sendWindow -= n;
      if (n <= COALESCE_BYTES) {
        const b = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + n);
        writeFrameHeader(b, 0, n, FrameType.DATA, 0, s.id);
        let at = FRAME_HEADER_LENGTH;
        for (const v of views) at += v.copy(b, at);
        this.socket.write(b);
      } else {
        if (!corked) {
          this.socket.cork();
          corked = true;
        }
        this.socket.write(frameHeader(n, FrameType.DATA, 0, s.id));
        for (const v of views) this.socket.write(v);
      }
    }
    if (corked) this.socket.uncork();
    if (q.length === 0 && s.trailers !== null && !s.localClosed) {
      const trailers = s.trailers;
      this.socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, s.id, encodeHeaders(trailers)));
      s.localClosed = true;
      if (!s.remoteClosed) {
        // The response is complete: the client need not send the rest of its side (RFC 9113 §8.1).
        this.socket.write(rstStreamFrame(s.id, 'NO_ERROR'));
        s.remoteClosed = true;
      }
      this.closeIfDone(s);
    }
  }

  reset(s: H2Stream, code: ErrorCodeName): void {
    if (this.closed || s.closed) return;
    this.socket.write(rstStreamFrame(s.id, code));
    this.forget(s, `stream reset (${code})`);
  }

  credit(s: H2Stream, bytes: number): void {
    // A closed stream's unconsumed octets went back to the connection when it closed.
    if (this.closed || s.closed || bytes <= 0) return;
    s.consumedOctets += bytes;
    this.creditConnection(bytes);
    if (s.remoteClosed) return;
    s.owed += bytes;
    // Batched: one WINDOW_UPDATE per half window consumed, not one per message.
    if (s.owed >= LOCAL_SETTINGS.initialWindowSize / 2) {
      this.socket.write(windowUpdateFrame(s.id, s.owed));
      s.recvWindow += s.owed;
      s.owed = 0;
    }
  }

  private creditConnection(bytes: number): void {
    this.connectionOwed += bytes;
    if (this.connectionOwed >= CONNECTION_WINDOW / 2) {
      this.socket.write(windowUpdateFrame(0, this.connectionOwed));
      this.recvWindow += this.connectionOwed;
      this.connectionOwed = 0;
    }
  }

  /** A stream leaves: what it received and nobody consumed is given back to the connection. */
  private release(s: H2Stream): void {
    s.closed = true;
    this.streams.delete(s.id);
    if (!this.closed) this.creditConnection(s.received - s.consumedOctets);
  }

  // ---- lifecycle ----

  private closeIfDone(s: H2Stream): void {
    if (s.closed || !s.localClosed || !s.remoteClosed) return;
    this.release(s);
    if (this.goingAway && this.streams.size === 0) this.socket.end();
  }

  private forget(s: H2Stream, reason: string): void {
    if (s.closed) return;
    s.queue.length = 0;
    this.release(s);
    s.events?.onReset(reason);
    if (this.goingAway && this.streams.size === 0) this.socket.end();
  }

  private fail(e: ConnectionError): void {
    if (this.closed) return;
    this.hooks.onProtocolError?.(this, e);
    this.socket.end(goawayFrame(this.lastStreamId, e.code, e.message));
    this.teardown(`protocol error: ${e.message}`);
    // A peer that never closes its side must not hold the socket.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private clearPrefaceTimer(): void {
    if (this.prefaceTimer === null) return;
    clearTimeout(this.prefaceTimer);
    this.prefaceTimer = null;
  }

  private teardown(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.clearPrefaceTimer();
    for (const s of [...this.streams.values()]) this.forget(s, reason);
    this.hooks.onClose(this);
  }
}
