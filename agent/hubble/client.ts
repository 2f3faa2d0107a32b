/**
 * The agent's Hubble client: GetFlows with `follow` over a unix socket or TCP (optionally
 * mutual TLS, as nodes' port 4244 is secured), yielding domain events as an async iterator.
 * The consumer pulls, so a slow consumer applies gRPC flow control back to the server,
 * which then reports what it could not keep as lost events instead of us buffering.
 *
 * Failures reconnect with capped jittered backoff and resume at the newest flow time seen,
 * dropping the overlap (overlap.ts). PERMISSION_DENIED / INVALID_ARGUMENT (and other
 * statuses that retrying cannot fix) end the iteration with a HubbleClientError.
 */
import * as grpc from '@grpc/grpc-js';
import { readFileSync } from 'node:fs';
import type { Logger } from '../../core/common/index.js';
import { decodeRecord, encodeRecord, hubbleType, type PbRecord } from '../../proto/codec/hubble-types.js';
import { Backoff, sleep, type BackoffOptions } from './backoff.js';
import { HubbleClientError, HubbleErrorCode, isRetryable, statusName } from './errors.js';
import { newStats, type HubbleClientStats, type HubbleEvent } from './events.js';
import { FastDecoder, SKIPPED } from './fast-decode.js';
import { decodedFromRecord, type Decoded } from './from-pb.js';
import { OverlapFilter } from './overlap.js';
import { StreamCall, type StreamEnd } from './stream-call.js';

export interface HubbleTlsOptions {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
  /** Name the server certificate must carry (e.g. `node-1.default.hubble-grpc.cilium.io`). */
  readonly serverName?: string;
}

export interface HubbleFilters {
  readonly whitelist?: readonly PbRecord[];
  readonly blacklist?: readonly PbRecord[];
}

/** The event types the agent evaluates: drops (1), traces (4), policy verdicts (5). */
export const AGENT_FILTERS: HubbleFilters = {
  whitelist: [{ event_type: [{ type: 1 }, { type: 4 }, { type: 5 }] }],
};

export interface HubbleClientOptions {
  /** `unix:///var/run/cilium/hubble.sock` or `host:port`. */
  readonly target: string;
  readonly tls?: HubbleTlsOptions;
  /** Server-side filters (FlowFilter records); default AGENT_FILTERS. */
  readonly filters?: HubbleFilters;
  /** Ends the iteration (and the open call) when aborted. */
  readonly signal?: AbortSignal;
  readonly backoff?: BackoffOptions;
  /** Waits between attempts; injected by tests. */
  readonly delay?: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly logger?: Logger;
  /** Larger messages are counted and skipped (default 4 MiB, gRPC's usual limit). */
  readonly maxMessageBytes?: number;
  /** `fast` (default) decodes straight from the wire; `reference` goes through proto-loader records. */
  readonly decoder?: 'fast' | 'reference';
  /** Ask for history first: GetFlows `number` on the first connection only (default 0: only new flows). */
  readonly initialNumber?: number;
  /**
   * With the fast decoder: flows core's ConnectionTracker would skip before its table lookup
   * come as `flow-skipped` events, recognised on the wire and never built into a Flow. Only
   * for consumers that classify with ConnectionTracker (the agent's pipeline); default false.
   */
  readonly earlySkip?: boolean;
  /**
   * The fast decoder to use (default: a new one). Its caches of repeated endpoints and
   * addresses warm up over a stream's life; a benchmark that opens a client per round passes
   * one decoder to all of them, to measure the steady state of one long-lived agent stream.
   */
  readonly fastDecoder?: FastDecoder;
}

/** The one `flow-skipped` event: it carries nothing, so it is shared. */
const FLOW_SKIPPED: HubbleEvent = Object.freeze({ kind: 'flow-skipped' });

export interface HubbleClient extends AsyncIterable<HubbleEvent> {
  readonly stats: HubbleClientStats;
  /**
   * The same events, in the batches grpc-js had already received when the consumer asked:
   * one await per batch instead of one per event, for consumers that handle events
   * synchronously (the agent's pipeline). Never more than MAX_BATCH events at a time.
   */
  batches(): AsyncIterable<readonly HubbleEvent[]>;
}

/** Bound on a batch, so a long backlog still yields to the event loop (timers, the reporter). */
export const MAX_BATCH = 256;

const GET_FLOWS = '/observer.Observer/GetFlows';
const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
const HTTP2_WINDOW_BYTES = 1024 * 1024;

const silent: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => silent };

function credentials(tls: HubbleTlsOptions | undefined): grpc.ChannelCredentials {
  if (!tls) return grpc.credentials.createInsecure();
  try {
    return grpc.credentials.createSsl(readFileSync(tls.caFile), readFileSync(tls.keyFile), readFileSync(tls.certFile));
  } catch (e) {
    throw new HubbleClientError(HubbleErrorCode.ConfigInvalid, `cannot read Hubble TLS files: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }
}

export function createHubbleClient(options: HubbleClientOptions): HubbleClient {
  const stats = newStats();
  return {
    stats,
    [Symbol.asyncIterator]: () => oneByOne(run(options, stats)),
    batches: () => run(options, stats),
  };
}

async function* oneByOne(batches: AsyncIterable<readonly HubbleEvent[]>): AsyncGenerator<HubbleEvent> {
  for await (const batch of batches) yield* batch;
}

async function* run(options: HubbleClientOptions, stats: HubbleClientStats): AsyncGenerator<readonly HubbleEvent[]> {
  const signal = options.signal ?? new AbortController().signal;
  const log = (options.logger ?? silent).child({ component: 'hubble', target: options.target });
  const delay = options.delay ?? sleep;
  const backoff = new Backoff(options.backoff);
  const maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const filters = options.filters ?? AGENT_FILTERS;
  const requestType = hubbleType('observer.GetFlowsRequest');
  const responseType = hubbleType('observer.GetFlowsResponse');
  const fast = (options.decoder ?? 'fast') === 'fast';

  const earlySkip = fast && options.earlySkip === true;
  const decoder = options.fastDecoder ?? new FastDecoder();
  const skippedAt = decoder.skippedAt;

  // Never throws: a bad message becomes a value the loop counts and skips, so one bad
  // message does not tear down the stream (grpc-js would end the call on a throw).
  const decode = (bytes: Buffer): Decoded | typeof SKIPPED => {
    if (bytes.length > maxBytes) return { kind: 'oversized', bytes: bytes.length };
    try {
      if (earlySkip) return decoder.decodeOrSkip(bytes);
      return fast ? decoder.decode(bytes) : decodedFromRecord(decodeRecord(responseType, bytes));
    } catch (e) {
      return { kind: 'malformed', reason: e instanceof Error ? e.message : String(e) };
    }
  };
  // NOTE: grpc-js hands over the raw bytes (stream-call.ts) and `decode` reads them with the
  // fast decoder, so an early skip leaves its time in the decoder instead of allocating.
  const serialize = (req: PbRecord): Buffer => encodeRecord(requestType, req);

  const channelOptions: grpc.ChannelOptions = {
    // Size is enforced per message in `decode`, so an oversized one is skipped, not fatal.
    'grpc.max_receive_message_length': -1,
    // A 1 MiB HTTP/2 window (stream and connection) instead of 64 KiB: the server sends in
    // larger runs, so the agent wakes less often per flow and sends fewer WINDOW_UPDATEs;
    // at most this much waits in the agent when it is behind.
    'grpc-node.flow_control_window': HTTP2_WINDOW_BYTES,
    // No channelz bookkeeping (a clock read and counters per message): the agent serves no channelz.
    'grpc.enable_channelz': 0,
    ...(options.tls?.serverName
      ? { 'grpc.ssl_target_name_override': options.tls.serverName, 'grpc.default_authority': options.tls.serverName }
      : {}),
  };
  const creds = credentials(options.tls);
  // NOTE: a fresh channel per attempt after a failure, so our backoff is the only one: a
  // grpc-js channel would otherwise add its own reconnect backoff (up to 120 s) on top.
  let client: grpc.Client | undefined;
  const overlap = new OverlapFilter(decoder);
  let firstAttempt = true;
  let warnedMalformed = false;

  try {
    while (!signal.aborted) {
      const since = overlap.resumeFrom();
      const request: PbRecord = {
        follow: true,
        whitelist: [...(filters.whitelist ?? [])],
        blacklist: [...(filters.blacklist ?? [])],
      };
      if (since !== null) request['since'] = since;
      else if (firstAttempt && options.initialNumber) request['number'] = options.initialNumber;
      overlap.startResume();
      firstAttempt = false;

      client ??= new grpc.Client(options.target, creds, channelOptions);
      let received = false;
      let batch: HubbleEvent[] = [];
      // Each message is decoded as grpc-js delivers it (stream-call.ts), into the batch the
      // consumer takes next; past MAX_BATCH the call stops asking for more until it does.
      const onMessage = (bytes: Buffer): boolean => {
        if (!received) {
          received = true;
          backoff.reset();
          stats.connected = true;
          log.info('hubble stream connected', { resumedFrom: since, previous: since === null && stats.reconnects === 0 ? 'connecting' : 'reconnecting' });
        }
        const d = decode(bytes);
        if (d === SKIPPED) {
          if (overlap.seenSkipped(bytes, skippedAt.seconds, skippedAt.nanos)) stats.duplicatesDropped++;
          else {
            stats.flows++;
            batch.push(FLOW_SKIPPED);
          }
          return batch.length < MAX_BATCH;
        }
        switch (d.kind) {
          case 'flow':
            if (overlap.seen(d.flow, d.seconds, d.nanos)) {
              stats.duplicatesDropped++;
              break;
            }
            stats.flows++;
            batch.push(d); // a flow event as it is (it also carries the wire time, which is harmless)
            break;
          case 'lost':
            stats.lostEvents[d.source] = (stats.lostEvents[d.source] ?? 0) + d.count;
            batch.push({ kind: 'lost', source: d.source, count: d.count, node: d.node });
            break;
          case 'node-status':
            batch.push(d);
            break;
          case 'malformed':
            stats.malformed++;
            (warnedMalformed ? log.debug : log.warn)('hubble message skipped: malformed', { reason: d.reason, total: stats.malformed });
            warnedMalformed = true;
            break;
          case 'oversized':
            stats.oversized++;
            log.warn('hubble message skipped: oversized', { bytes: d.bytes, maxBytes, total: stats.oversized });
            break;
        }
        return batch.length < MAX_BATCH;
      };
      const call = new StreamCall(client.getChannel(), GET_FLOWS, serialize(request), onMessage);
      const cancel = (): void => call.cancel();
      signal.addEventListener('abort', cancel, { once: true });
      let failure: StreamEnd;
      try {
        for (;;) {
          // What has been read is handed on before anything else, also after the call ended:
          // what was read before a failure is still delivered.
          if (batch.length > 0) {
            const full = batch;
            batch = [];
            call.resume();
            yield full;
            continue;
          }
          if (call.end !== undefined) break;
          await call.wait();
        }
        failure = call.end!;
      } finally {
        signal.removeEventListener('abort', cancel);
        call.cancel();
        stats.connected = false;
      }
      if (signal.aborted) return;
      if (!isRetryable(failure.code)) {
        log.error('hubble stream rejected', { code: statusName(failure.code), err: { message: failure.message } });
        throw new HubbleClientError(
          HubbleErrorCode.Rejected,
          `Hubble at ${options.target} rejected GetFlows with ${statusName(failure.code)}: ${failure.message}`,
          { grpcCode: failure.code },
        );
      }
      client.close();
      client = undefined;
      const delayMs = backoff.next();
      stats.reconnects++;
      log.warn('hubble stream lost, reconnecting', {
        code: statusName(failure.code),
        err: { message: failure.message },
        delayMs,
        reconnects: stats.reconnects,
      });
      await delay(delayMs, signal);
    }
  } finally {
    client?.close();
  }
}
