/**
 * A Hubble-compatible Observer server (Cilium v1.19 `observer.Observer` semantics) over a
 * bounded ring: what `rampart replay` serves, what the simulator runs once per node, and
 * what the client's fault tests script. Flows are encoded once when they enter the ring and
 * fanned out as bytes, so one server keeps up with many fast readers.
 *
 * GetFlows: `number` (last N matching, or first N with `first`), `follow`, `since`/`until`,
 * whitelist/blacklist filters (replay/flow-filter.ts). A reader that falls behind the ring
 * gets `lost_events` (HUBBLE_RING_BUFFER) and continues at the oldest entry, as in Hubble.
 */
import * as grpc from '@grpc/grpc-js';
import { lstatSync, readFileSync, unlinkSync } from 'node:fs';
import { encodeRecord, hubbleGrpc, hubbleType, type PbRecord } from '../proto/codec/hubble-types.js';
import { nsFromTimestamp, timestampFromNs, type TimestampRecord } from '../proto/codec/hubble-time.js';
import { compileFilterLists, type FlowPredicate } from './flow-filter.js';
import { defaultNowNs } from './playback.js';
import { Ring, type RingEntry } from './ring.js';

/** Hubble's default ring size (`hubble-event-buffer-capacity`). */
export const DEFAULT_RING_CAPACITY = 4095;

export type LostEventSource = 'PERF_EVENT_RING_BUFFER' | 'OBSERVER_EVENTS_QUEUE' | 'HUBBLE_RING_BUFFER';

export interface HubbleServerTls {
  readonly certFile: string;
  readonly keyFile: string;
  /** CA that client certificates must chain to; with it, clients must present one. */
  readonly caFile?: string;
}

export interface HubbleServerOptions {
  /** Ring capacity in events (default 4095 like Hubble). */
  readonly ringCapacity?: number;
  /** Node name sent in responses (and on flows that lack one). */
  readonly nodeName?: string;
  /** Reported by ServerStatus. */
  readonly version?: string;
  readonly tls?: HubbleServerTls;
  /** Wall clock in ns since the epoch; injectable for tests. */
  readonly nowNs?: () => bigint;
}

type Status = { code: grpc.status; details: string };

const RESPONSE = 'observer.GetFlowsResponse';

/**
 * grpc.health.v1.Health/Check, which `hubble status` calls first. The messages are tiny, so
 * they are encoded by hand: the request is ignored and the answer is `status: SERVING` (1).
 */
const HEALTH_SERVICE: grpc.ServiceDefinition = {
  Check: {
    path: '/grpc.health.v1.Health/Check',
    requestStream: false,
    responseStream: false,
    requestSerialize: () => Buffer.alloc(0),
    requestDeserialize: (b: Buffer) => b,
    responseSerialize: () => Buffer.from([0x08, 0x01]),
    responseDeserialize: (b: Buffer) => b,
  },
};

function healthCheck(_call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>): void {
  cb(null, Buffer.alloc(0));
}

/** A socket file left by a process that died is removed; any other file is left alone (bind then fails). */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // absent: nothing to remove
  }
}

/** Ends a server stream with a status (grpc-js sends it once pending writes are flushed). */
function failCall(call: grpc.ServerWritableStream<PbRecord, PbRecord | Buffer>, code: grpc.status, details: string): void {
  call.emit('error', Object.assign(new Error(details), { code, details }));
}

function isResponseRecord(r: PbRecord): boolean {
  return 'flow' in r || 'lost_events' in r || 'node_status' in r;
}

export class HubbleServer {
  readonly nodeName: string;
  readonly version: string;
  private readonly ring: Ring;
  private readonly nowNs: () => bigint;
  private readonly startedNs: bigint;
  private readonly tls: HubbleServerTls | undefined;
  private readonly responseType = hubbleType(RESPONSE);
  private server: grpc.Server | undefined;
  private readonly streams = new Set<grpc.ServerWritableStream<PbRecord, PbRecord | Buffer>>();
  private readonly aborters = new Set<AbortController>();
  private seenFlows = 0;
  /** Flow counts per wall-clock second, for ServerStatus.flows_rate (last minute). */
  private readonly rateBuckets = new Map<number, number>();
  private nextGetFlowsError: Status | undefined;

  constructor(options: HubbleServerOptions = {}) {
    this.ring = new Ring(options.ringCapacity ?? DEFAULT_RING_CAPACITY);
    this.nodeName = options.nodeName ?? 'replay';
    this.version = options.version ?? 'rampart-replay';
    this.nowNs = options.nowNs ?? defaultNowNs;
    this.startedNs = this.nowNs();
    this.tls = options.tls;
  }

  // ---------------------------------------------------------------- feeding the ring

  /**
   * Loads recorded events as history. Each record is a `flow.Flow` or a whole
   * GetFlowsResponse (a capture line: `{flow, node_name, time}` or `{lost_events, …}`).
   */
  loadHistory(records: Iterable<PbRecord>): void {
    for (const r of records) this.publish(r);
  }

  /** Adds one event to the ring and wakes followers (a `flow.Flow` or a GetFlowsResponse). */
  publish(record: PbRecord): void {
    if (isResponseRecord(record)) {
      const response = { ...record };
      if (response['node_name'] === undefined) response['node_name'] = this.nodeName;
      if (response['flow'] !== undefined) {
        response['time'] ??= (response['flow'] as PbRecord)['time'] ?? timestampFromNs(this.nowNs());
        this.writeFlow(response);
      } else {
        response['time'] ??= timestampFromNs(this.nowNs());
        this.writeEntry('lost', response);
      }
      return;
    }
    const flow = record['node_name'] === undefined ? { ...record, node_name: this.nodeName } : record;
    const time = (flow['time'] as TimestampRecord | undefined) ?? timestampFromNs(this.nowNs());
    this.writeFlow({ flow, response_types: 'flow', node_name: flow['node_name'], time });
  }

  private writeFlow(response: PbRecord): void {
    this.seenFlows++;
    const second = Math.floor(Number(this.nowNs() / 1_000_000_000n));
    this.rateBuckets.set(second, (this.rateBuckets.get(second) ?? 0) + 1);
    if (this.rateBuckets.size > 120) {
      for (const k of this.rateBuckets.keys()) if (k < second - 60) this.rateBuckets.delete(k);
    }
    this.writeEntry('flow', response);
  }

  private writeEntry(kind: RingEntry['kind'], response: PbRecord): void {
    const time = response['time'] as TimestampRecord | undefined;
    const timeNs = time ? nsFromTimestamp(time) : this.nowNs();
    this.ring.write({ kind, timeNs, record: response, bytes: encodeRecord(this.responseType, response) });
  }

  /** Puts a lost-events notice into the ring (delivered to every reader, never filtered). */
  injectLost(source: LostEventSource, count: number): void {
    this.writeEntry('lost', this.lostResponse(source, count));
  }

  /** Test hook: the next GetFlows call fails with this status instead of streaming. */
  failNextGetFlows(code: grpc.status, details: string): void {
    this.nextGetFlowsError = { code, details };
  }

  /** Test hook: sends raw bytes as one message to every open GetFlows stream. */
  sendRawToStreams(bytes: Buffer): number {
    for (const call of this.streams) call.write(bytes);
    return this.streams.size;
  }

  /** Test hook: ends every open GetFlows stream with an error status (a dropped connection). */
  breakStreams(code: grpc.status = grpc.status.UNAVAILABLE, details = 'stream broken by test'): void {
    for (const call of this.streams) failCall(call, code, details);
  }

  get openStreams(): number {
    return this.streams.size;
  }

  // ---------------------------------------------------------------- serving

  /** Listens on `host:port` (port 0 picks one) or `unix:///path`; resolves with the bound address. */
  async listen(address: string): Promise<{ address: string }> {
    if (this.server) throw new Error('HubbleServer is already listening');
    const server = new grpc.Server({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': 4 * 1024 * 1024 });
    server.addService(this.serviceDefinition(), this.handlers());
    server.addService(HEALTH_SERVICE, { Check: healthCheck });
    if (address.startsWith('unix://')) removeStaleSocket(address.slice('unix://'.length));
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, this.credentials(), (e, p) => (e ? reject(e) : resolve(p)));
    });
    this.server = server;
    if (address.startsWith('unix:')) return { address };
    const host = address.slice(0, address.lastIndexOf(':'));
    return { address: `${host}:${port}` };
  }

  /** Stops serving: open streams end with UNAVAILABLE at once (like a killed Hubble). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const a of this.aborters) a.abort();
    if (!server) return;
    server.forceShutdown();
    await Promise.resolve();
  }

  private credentials(): grpc.ServerCredentials {
    if (!this.tls) return grpc.ServerCredentials.createInsecure();
    const ca = this.tls.caFile ? readFileSync(this.tls.caFile) : null;
    return grpc.ServerCredentials.createSsl(
      ca,
      [{ private_key: readFileSync(this.tls.keyFile), cert_chain: readFileSync(this.tls.certFile) }],
      ca !== null,
    );
  }

  /** The Observer service with a GetFlows serializer that passes pre-encoded bytes through. */
  private serviceDefinition(): grpc.ServiceDefinition {
    const pkg = hubbleGrpc() as unknown as { observer: { Observer: { service: grpc.ServiceDefinition } } };
    const base = pkg.observer.Observer.service;
    const getFlows = base['GetFlows']!;
    const serialize = getFlows.responseSerialize as (v: unknown) => Buffer;
    return {
      ...base,
      GetFlows: { ...getFlows, responseSerialize: (v: unknown) => (Buffer.isBuffer(v) ? v : serialize(v)) },
    };
  }

  private handlers(): grpc.UntypedServiceImplementation {
    return {
      GetFlows: (call: grpc.ServerWritableStream<PbRecord, PbRecord | Buffer>) => {
        this.getFlows(call).catch((e: unknown) => {
          failCall(call, grpc.status.INTERNAL, e instanceof Error ? e.message : String(e));
        });
      },
      ServerStatus: (_call: grpc.ServerUnaryCall<PbRecord, PbRecord>, cb: grpc.sendUnaryData<PbRecord>) => {
        cb(null, this.status());
      },
      GetNodes: (_call: grpc.ServerUnaryCall<PbRecord, PbRecord>, cb: grpc.sendUnaryData<PbRecord>) => {
        cb({ code: grpc.status.UNIMPLEMENTED, details: 'GetNodes is only served by Hubble Relay' });
      },
      GetNamespaces: (_call: grpc.ServerUnaryCall<PbRecord, PbRecord>, cb: grpc.sendUnaryData<PbRecord>) => {
        cb(null, { namespaces: this.namespaces() });
      },
    };
  }

  /** What ServerStatus answers. */
  status(): PbRecord {
    let numFlows = 0;
    for (const e of this.ring.entries()) if (e.kind === 'flow') numFlows++;
    const now = this.nowNs();
    const second = Math.floor(Number(now / 1_000_000_000n));
    let lastMinute = 0;
    for (const [k, v] of this.rateBuckets) if (k > second - 60 && k <= second) lastMinute += v;
    return {
      num_flows: numFlows,
      max_flows: this.ring.capacity,
      seen_flows: this.seenFlows,
      uptime_ns: Number(now - this.startedNs),
      version: this.version,
      flows_rate: lastMinute / 60,
    };
  }

  private namespaces(): PbRecord[] {
    const seen = new Set<string>();
    for (const e of this.ring.entries()) {
      const flow = e.record['flow'] as PbRecord | undefined;
      if (!flow) continue;
      for (const side of ['source', 'destination']) {
        const ns = (flow[side] as PbRecord | undefined)?.['namespace'];
        if (typeof ns === 'string' && ns !== '') seen.add(ns);
      }
    }
    return [...seen].sort().map((namespace) => ({ namespace }));
  }

  private lostResponse(source: LostEventSource, count: number): PbRecord {
    return {
      lost_events: { source, num_events_lost: count },
      response_types: 'lost_events',
      node_name: this.nodeName,
      time: timestampFromNs(this.nowNs()),
    };
  }

  private async getFlows(call: grpc.ServerWritableStream<PbRecord, PbRecord | Buffer>): Promise<void> {
    const failure = this.nextGetFlowsError;
    if (failure) {
      this.nextGetFlowsError = undefined;
      failCall(call, failure.code, failure.details);
      return;
    }
    const req = call.request;
    const follow = req['follow'] === true;
    const first = req['first'] === true;
    const number = typeof req['number'] === 'number' ? req['number'] : 0;
    if (first && follow) {
      failCall(call, grpc.status.INVALID_ARGUMENT, 'first is not compatible with follow');
      return;
    }
    const compiled = compileFilterLists(
      (req['whitelist'] as PbRecord[] | undefined) ?? [],
      (req['blacklist'] as PbRecord[] | undefined) ?? [],
    );
    if (!compiled.ok) {
      failCall(call, grpc.status.INVALID_ARGUMENT, compiled.error);
      return;
    }
    const matches = compiled.value;
    const sinceNs = req['since'] ? nsFromTimestamp(req['since'] as TimestampRecord) : null;
    const untilNs = req['until'] ? nsFromTimestamp(req['until'] as TimestampRecord) : null;

    const abort = new AbortController();
    this.aborters.add(abort);
    this.streams.add(call);
    const stop = (): void => abort.abort();
    call.on('cancelled', stop);
    call.on('error', stop);
    call.on('close', stop);
    try {
      await this.stream(call, abort.signal, { follow, first, number, sinceNs, untilNs, matches });
      if (!abort.signal.aborted) call.end();
    } finally {
      this.streams.delete(call);
      this.aborters.delete(abort);
    }
  }

  private async stream(
    call: grpc.ServerWritableStream<PbRecord, PbRecord | Buffer>,
    signal: AbortSignal,
    q: { follow: boolean; first: boolean; number: number; sinceNs: bigint | null; untilNs: bigint | null; matches: FlowPredicate },
  ): Promise<void> {
    const ring = this.ring;
    const wanted = (e: RingEntry): boolean => e.kind !== 'flow' || q.matches(e.record['flow'] as PbRecord);
    const inRange = (e: RingEntry): boolean =>
      e.kind !== 'flow' || ((q.sinceNs === null || e.timeNs >= q.sinceNs) && (q.untilNs === null || e.timeNs <= q.untilNs));
    const send = async (payload: Buffer): Promise<void> => {
      if (call.write(payload)) return;
      await new Promise<void>((resolve) => {
        const done = (): void => {
          call.off('drain', done);
          signal.removeEventListener('abort', done);
          resolve();
        };
        call.on('drain', done);
        signal.addEventListener('abort', done, { once: true });
      });
    };
    const sendLost = (count: number): Promise<void> =>
      send(encodeRecord(this.responseType, this.lostResponse('HUBBLE_RING_BUFFER', count)));

    // 1. The backlog: which sequence numbers to send.
    const start = q.sinceNs === null ? ring.oldest : ring.seekTime(q.sinceNs);
    const head = ring.head;
    // With `until`, reading stops at the first later event (lost notices after it are not reached).
    const end = q.untilNs === null ? head : ring.seekTime(q.untilNs + 1n);
    if (q.sinceNs !== null && start === ring.oldest) {
      // The request reaches back past what the ring still holds: say what was overwritten.
      const lost = ring.evictedSince(q.sinceNs);
      if (lost > 0) await sendLost(lost);
    }
    let seqs: number[] = [];
    const collect = (s: number): boolean => {
      const r = ring.read(s);
      if (r.kind !== 'entry' || !inRange(r.entry) || !wanted(r.entry)) return false;
      seqs.push(s);
      return r.entry.kind === 'flow';
    };
    if (q.first) {
      let n = 0;
      for (let s = start; s < end && (q.number === 0 || n < q.number); s++) if (collect(s)) n++;
    } else if (q.number > 0) {
      let n = 0;
      for (let s = end - 1; s >= start && n < q.number; s--) if (collect(s)) n++;
      seqs.reverse();
    } else if (!(q.follow && q.sinceNs === null)) {
      for (let s = start; s < end; s++) collect(s);
    }

    // 2. Send the backlog; entries overwritten meanwhile are reported as lost.
    for (const s of seqs) {
      if (signal.aborted) return;
      const r = ring.read(s);
      if (r.kind === 'entry') await send(r.entry.bytes);
      else if (r.kind === 'lost') await sendLost(1);
    }
    seqs = [];
    if (!q.follow || end < head) return;

    // 3. Follow new entries.
    let seq = head;
    while (!signal.aborted) {
      const r = ring.read(seq);
      if (r.kind === 'empty') {
        await ring.waitFor(seq, signal);
        continue;
      }
      seq = r.next;
      if (r.kind === 'lost') {
        await sendLost(r.count);
        continue;
      }
      const e = r.entry;
      if (e.kind === 'flow' && q.untilNs !== null && e.timeNs > q.untilNs) return;
      if (inRange(e) && wanted(e)) await send(e.bytes);
    }
  }
}
