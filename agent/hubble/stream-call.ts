/**
 * One server-streaming gRPC call read through grpc-js's call interface (the layer its
 * ClientReadableStream is built on) instead of through a Node Readable.
 *
 * Why: grpc-js hands a stream's messages over one per tick. Read through a Readable, every
 * message then costs a push, a `readable` event, a read and an await in the consumer, and
 * the consumer wakes once per message (a "batch" is always one message). Here each message
 * goes straight to `onMessage` as grpc-js delivers it, the next one is asked for at once, and
 * the consumer's wait ends in the event loop's check phase (setImmediate), after grpc-js has
 * delivered every message it already holds: the consumer wakes once for all of them.
 *
 * Flow control is kept: when `onMessage` says it holds enough (returns false), no further
 * message is asked for until `resume()`; grpc-js then pauses the HTTP/2 stream, and the
 * server's window closes as it would for a slow Readable consumer.
 */
import * as grpc from '@grpc/grpc-js';

type GrpcCall = ReturnType<grpc.ChannelInterface['createCall']>;

/** How the call ended: a gRPC status code (undefined when the server ended it with OK) and why. */
export interface StreamEnd {
  readonly code: number | undefined;
  readonly message: string;
}

export class StreamCall {
  readonly #call: GrpcCall;
  #end: StreamEnd | undefined;
  #waiter: (() => void) | undefined;
  #wakeQueued = false;
  /** True while no message is asked for (onMessage held enough). */
  #paused = false;

  /**
   * Starts the call with one request message. `onMessage` gets each response message's bytes
   * in order and returns whether to ask for the next one now. It must not throw; if it does,
   * the call is cancelled and ends with that error's message (and no status code).
   */
  constructor(channel: grpc.ChannelInterface, method: string, request: Buffer, onMessage: (bytes: Buffer) => boolean) {
    // No deadline: a `follow` stream lasts as long as the agent.
    const call = channel.createCall(method, Infinity, undefined, null, undefined);
    this.#call = call;
    const wake = (): void => this.#wake();
    call.start(new grpc.Metadata(), {
      onReceiveMetadata: () => {},
      onReceiveMessage: (bytes: Buffer) => {
        if (this.#end !== undefined) return;
        let more: boolean;
        try {
          more = onMessage(bytes);
        } catch (e) {
          this.#finish({ code: undefined, message: e instanceof Error ? e.message : String(e) });
          call.cancelWithStatus(grpc.status.CANCELLED, 'message handler failed');
          return;
        }
        if (more) call.startRead();
        else this.#paused = true;
        wake();
      },
      onReceiveStatus: (status: grpc.StatusObject) => {
        this.#finish(status.code === grpc.status.OK ? { code: undefined, message: 'stream ended by the server' } : { code: status.code, message: status.details });
      },
    });
    call.sendMessageWithContext({}, request);
    call.halfClose();
    call.startRead();
  }

  /** How the call ended; undefined while it is open. */
  get end(): StreamEnd | undefined {
    return this.#end;
  }

  /** Asks for messages again after `onMessage` returned false (nothing when it did not). */
  resume(): void {
    if (!this.#paused || this.#end !== undefined) return;
    this.#paused = false;
    this.#call.startRead();
  }

  /** Resolves after the next message or the end (at once if the call has ended). */
  wait(): Promise<void> {
    if (this.#end !== undefined) return Promise.resolve();
    return new Promise<void>((resolve) => (this.#waiter = resolve));
  }

  /** Ends the call (CANCELLED for the server); `end` says so at once. */
  cancel(): void {
    if (this.#end !== undefined) return;
    this.#finish({ code: grpc.status.CANCELLED, message: 'Cancelled on client' });
    this.#call.cancelWithStatus(grpc.status.CANCELLED, 'Cancelled on client');
  }

  #finish(end: StreamEnd): void {
    this.#end ??= end;
    this.#fire();
  }

  /** Wakes a waiting consumer once grpc-js has delivered what it holds (see the file comment). */
  #wake(): void {
    if (this.#waiter === undefined || this.#wakeQueued) return;
    this.#wakeQueued = true;
    setImmediate(() => {
      this.#wakeQueued = false;
      this.#fire();
    });
  }

  #fire(): void {
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }
}
