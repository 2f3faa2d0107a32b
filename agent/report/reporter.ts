/**
 * The reporter: one long-lived `Collector.Connect` stream to the control plane. It sends Hello,
 * then windows from the outbox (numbered, at most `maxInFlight` unacknowledged), and receives
 * the contract set and acks. When the stream fails it reconnects, re-reads the token, and
 * resends every unacknowledged window under its original number.
 *
 * One backoff: grpc-js's connection backoff (initial, ×1.6, ±20 %, capped; configured from
 * `backoff`). A stream that fails because the channel cannot connect does not sleep on a
 * timer of its own: it waits for the channel to leave TRANSIENT_FAILURE, which happens when
 * grpc-js's next dial succeeds, and starts at once. (A timer here, on top of the channel's
 * own delay, stacked the two: an attempt could land while the channel was still backing off
 * and fail without dialling, and the time to reconnect was the sum of two jittered delays.)
 * The one pause that is not about connecting: a live control plane that ends the stream
 * before sending anything (a refused token, say) is retried after `maxMs`, not in a loop.
 */
import * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../core/common/index.js';
import type { ContractSet, WindowSummary } from '../../core/summary/index.js';
import { loadProto } from '../../proto/loader.js';
import { contractSetFromPb } from '../../proto/codec/contract-set-codec.js';
import { windowSummaryToPb } from '../../proto/codec/report-codec.js';
import type { AgentTlsConfig } from './credentials.js';
import { sleep } from '../hubble/backoff.js';
import { channelCredentials, readToken } from './credentials.js';
import type { Outbox } from './outbox.js';

export interface ReporterOptions {
  readonly target: string;
  readonly tls: AgentTlsConfig | null;
  readonly tokenFile: string | null;
  readonly node: string;
  readonly bootId: string;
  readonly version: string;
  readonly outbox: Outbox;
  /** A contract set arrived; `fresh` is true for the first set of a stream. */
  readonly onContracts: (set: ContractSet, fresh: boolean) => void;
  /** A contract set message that could not be decoded (the previous set stays). */
  readonly onBadContracts: (problems: string) => void;
  readonly onRejected?: (summary: WindowSummary, reason: string) => void;
  readonly onConnectedChange?: (connected: boolean) => void;
  readonly logger: Logger;
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number };
}

interface CollectorClient extends grpc.Client {
  Connect(metadata: grpc.Metadata): grpc.ClientDuplexStream<unknown, ControlMessagePb>;
}

type ControlMessagePb =
  | { body: 'contracts'; contracts: unknown }
  | { body: 'ack'; ack: { boot_id?: string; seq?: number } }
  | { body: 'reject'; reject: { boot_id?: string; seq?: number; reason?: string } };

/** What grpc-js/OpenSSL say when the peer's certificate or the handshake is the problem. */
const TLS_FAILURE = /certificate|self[- ]signed|SSL|TLS|handshake|altnames|alert/i;

let collectorCtor: grpc.ServiceClientConstructor | null = null;
function collectorClient(): grpc.ServiceClientConstructor {
  if (collectorCtor === null) {
    const pkg = loadProto('rampart/v1/collector.proto') as unknown as { rampart: { v1: { Collector: grpc.ServiceClientConstructor } } };
    collectorCtor = pkg.rampart.v1.Collector;
  }
  return collectorCtor;
}

export class Reporter {
  private readonly o: ReporterOptions;
  private readonly client: CollectorClient;
  private readonly refusedPauseMs: number;
  private connectedNow = false;
  private call: grpc.ClientDuplexStream<unknown, ControlMessagePb> | null = null;
  /** Counters since start. */
  readonly stats = { connects: 0, streamErrors: 0, contractSets: 0 };

  constructor(options: ReporterOptions) {
    this.o = options;
    const { credentials, options: channelOptions } = channelCredentials(options.tls);
    const Ctor = collectorClient();
    this.client = new Ctor(options.target, credentials, {
      ...channelOptions,
      'grpc.keepalive_time_ms': 30_000,
      'grpc.keepalive_timeout_ms': 10_000,
      'grpc.initial_reconnect_backoff_ms': options.backoff?.initialMs ?? 1000,
      'grpc.max_reconnect_backoff_ms': options.backoff?.maxMs ?? 30_000,
    }) as unknown as CollectorClient;
    this.refusedPauseMs = options.backoff?.maxMs ?? 30_000;
  }

  get connected(): boolean {
    return this.connectedNow;
  }

  private setConnected(v: boolean): void {
    if (this.connectedNow === v) return;
    this.connectedNow = v;
    this.o.onConnectedChange?.(v);
  }

  /** Runs until `signal` fires; each iteration is one stream. */
  async run(signal: AbortSignal): Promise<void> {
    const log = this.o.logger;
    while (!signal.aborted) {
      const { reason, answered } = await this.oneStream(signal);
      this.setConnected(false);
      this.o.outbox.streamLost();
      if (signal.aborted) break;
      this.explain(reason);
      const channel = this.client.getChannel();
      const state = channel.getConnectivityState(false);
      if (state === grpc.connectivityState.TRANSIENT_FAILURE) {
        log.warn('control plane stream ended; reconnecting', { reason, waitingFor: 'the channel to connect', pending: this.o.outbox.size });
        await waitWhileInState(channel, state, signal);
      } else if (answered) {
        // A stream that worked and ended (a restart, a drop): straight back; the dial, if
        // the control plane is gone, fails into grpc-js's backoff above.
        log.warn('control plane stream ended; reconnecting', { reason, delayMs: 0, pending: this.o.outbox.size });
      } else {
        // Connected, but the control plane ended the stream without a word (a refused token).
        log.warn('control plane stream ended; reconnecting', { reason, delayMs: this.refusedPauseMs, pending: this.o.outbox.size });
        await sleep(this.refusedPauseMs, signal);
      }
    }
  }

  /** The failures an operator must act on get a line of their own, saying what to fix. */
  private explain(reason: string): void {
    const log = this.o.logger;
    if (/^(UNAUTHENTICATED|PERMISSION_DENIED)\b/.test(reason)) {
      log.error('control plane refused the bearer token', { reason, tokenFile: this.o.tokenFile ?? 'none (no --token-file)' });
    } else if (this.o.tls !== null && TLS_FAILURE.test(reason)) {
      log.error('TLS handshake with the control plane failed', { reason, caFile: this.o.tls.caFile, serverName: this.o.tls.serverName ?? this.o.target });
    }
  }

  /** Ends the stream (after a drain): the server sees a clean half-close. */
  close(): void {
    this.call?.end();
    this.client.close();
  }

  /** One stream; `answered` says whether the control plane sent anything on it. */
  private async oneStream(signal: AbortSignal): Promise<{ reason: string; answered: boolean }> {
    const o = this.o;
    const metadata = new grpc.Metadata();
    try {
      const token = await readToken(o.tokenFile);
      if (token !== null) metadata.set('authorization', `Bearer ${token}`);
    } catch (e) {
      // Nothing to dial with: the same pause as a refusal, so a missing file is not a hot loop.
      return { reason: `token unreadable: ${e instanceof Error ? e.message : String(e)}`, answered: false };
    }
    this.stats.connects++;
    const call = this.client.Connect(metadata);
    this.call = call;
    let fresh = true;
    let answered = false;
    let ended: string | null = null;
    let wake: () => void = () => undefined;
    const woken = (): Promise<void> => new Promise((r) => (wake = r));

    call.on('data', (msg: ControlMessagePb) => {
      answered = true;
      if (!this.connectedNow) {
        this.setConnected(true);
        o.logger.info('control plane stream up', { target: o.target });
      }
      switch (msg.body) {
        case 'contracts': {
          this.stats.contractSets++;
          const decoded = contractSetFromPb(msg.contracts);
          if (!decoded.ok) o.onBadContracts(decoded.error.map((p) => `${p.path}: ${p.message}`).join('; '));
          else o.onContracts(decoded.value, fresh);
          fresh = false;
          break;
        }
        case 'ack':
          if (msg.ack.boot_id === o.bootId && typeof msg.ack.seq === 'number') o.outbox.ack(msg.ack.seq);
          break;
        case 'reject': {
          if (msg.reject.boot_id !== o.bootId || typeof msg.reject.seq !== 'number') break;
          const summary = o.outbox.reject(msg.reject.seq);
          const reason = msg.reject.reason ?? '';
          if (summary) {
            o.logger.error('report rejected by control plane', { seq: msg.reject.seq, reason });
            o.onRejected?.(summary, reason);
          }
          break;
        }
        default:
          break;
      }
      wake();
    });
    call.on('error', (e: grpc.ServiceError) => {
      this.stats.streamErrors++;
      ended ??= `${grpc.status[e.code] ?? e.code}: ${e.details || e.message}`;
      wake();
    });
    call.on('end', () => {
      ended ??= 'closed by control plane';
      wake();
    });
    call.on('close', () => {
      ended ??= 'closed';
      wake();
    });
    const onAbort = (): void => wake();
    signal.addEventListener('abort', onAbort, { once: true });

    try {
      if (!call.write({ hello: { node: o.node, boot_id: o.bootId, version: o.version } })) await waitDrain(call, () => ended !== null);
      // Pump: send what is due, then wait for an ack, a new window, drain or the end.
      while (ended === null && !signal.aborted) {
        let entry = o.outbox.takeNext();
        while (entry !== null && ended === null) {
          const ok = call.write({ report: windowSummaryToPb(entry.summary) });
          if (!ok) await waitDrain(call, () => ended !== null);
          entry = o.outbox.takeNext();
        }
        if (ended !== null || signal.aborted) break;
        await Promise.race([o.outbox.changed(), woken()]);
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      if (ended === null) call.cancel();
      this.call = null;
    }
    return { reason: ended ?? 'stopped', answered };
  }
}

/** Resolves when the channel leaves `state` (grpc-js's reconnect backoff decides when) or the signal fires. */
async function waitWhileInState(channel: ReturnType<grpc.Client['getChannel']>, state: grpc.connectivityState, signal: AbortSignal): Promise<void> {
  while (!signal.aborted && channel.getConnectivityState(false) === state) {
    // Bounded waits, so an aborted signal is noticed; watchConnectivityState cannot be cancelled.
    await new Promise<void>((resolve) => {
      const onAbort = (): void => resolve();
      signal.addEventListener('abort', onAbort, { once: true });
      channel.watchConnectivityState(state, Date.now() + 1000, () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      });
    });
  }
}

function waitDrain(call: grpc.ClientDuplexStream<unknown, unknown>, gone: () => boolean): Promise<void> {
  if (gone()) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      call.off('drain', done);
      call.off('close', done);
      call.off('error', done);
      resolve();
    };
    call.on('drain', done);
    call.on('close', done);
    call.on('error', done);
  });
}
