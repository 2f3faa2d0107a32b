/**
 * The live stream (WebSocket `/api/v1/stream`): lossy by design (style.md 2.5). Every
 * message is JSON; each client's socket buffer is checked before sending, and a message
 * that would exceed the limit is dropped and counted; a client that keeps falling behind is
 * disconnected and counted. A slow browser never slows ingest: sends never wait.
 */
import type { WebSocket } from 'ws';
import type { ControlplaneMetrics } from '../metrics/metrics.js';

/** Bytes queued to one client beyond which messages to it are dropped. */
export const MAX_BUFFERED_BYTES = 256 * 1024;
/** Consecutive drops after which a client is disconnected. */
export const MAX_CONSECUTIVE_DROPS = 50;

interface Client {
  readonly socket: WebSocket;
  drops: number;
}

/** `M`: the messages it carries (the control plane's: io/api-types.ts StreamMessage). */
export class StreamHub<M = unknown> {
  private readonly clients = new Set<Client>();
  private readonly metrics: ControlplaneMetrics;
  private readonly maxBufferedBytes: number;

  constructor(metrics: ControlplaneMetrics, { maxBufferedBytes = MAX_BUFFERED_BYTES }: { maxBufferedBytes?: number } = {}) {
    this.metrics = metrics;
    this.maxBufferedBytes = maxBufferedBytes;
  }

  /** Adds a client and sends it its first message (a snapshot). */
  add(socket: WebSocket, hello: M): void {
    const client: Client = { socket, drops: 0 };
    this.clients.add(client);
    this.metrics.streamClients.set(this.clients.size);
    const remove = (): void => {
      if (this.clients.delete(client)) this.metrics.streamClients.set(this.clients.size);
    };
    socket.on('close', remove);
    socket.on('error', remove);
    this.sendTo(client, JSON.stringify(hello));
  }

  size(): number {
    return this.clients.size;
  }

  /** Sends one message to every client that can take it. */
  broadcast(message: M): void {
    if (this.clients.size === 0) return;
    const text = JSON.stringify(message);
    for (const c of this.clients) this.sendTo(c, text);
  }

  private sendTo(c: Client, text: string): void {
    if (c.socket.readyState !== c.socket.OPEN) return;
    if (c.socket.bufferedAmount + text.length > this.maxBufferedBytes) {
      c.drops++;
      this.metrics.streamDropped.inc();
      if (c.drops >= MAX_CONSECUTIVE_DROPS) {
        this.metrics.streamClientsDropped.inc();
        this.clients.delete(c);
        this.metrics.streamClients.set(this.clients.size);
        c.socket.terminate();
      }
      return;
    }
    c.drops = 0;
    c.socket.send(text);
  }

  closeAll(): void {
    for (const c of this.clients) c.socket.terminate();
    this.clients.clear();
    this.metrics.streamClients.set(0);
  }
}
