/**
 * The gRPC collector (proto/rampart/v1 `Collector.Connect`): one bidi stream per agent.
 * On connect it pushes the active ContractSet (and again on every change); each
 * WindowReport is validated, de-duplicated on (node, boot_id, seq), added to the evidence
 * store and acknowledged. Refused reports get a ReportReject whose reason starts with the
 * gRPC status name (INVALID_ARGUMENT, FAILED_PRECONDITION), are counted, and never end the
 * stream. Ingest only feeds the store; the reconcile loop decides (style.md 2.5).
 */
import * as grpc from '@grpc/grpc-js';
import type { Clock, Logger } from '../../core/common/index.js';
import { formatProblems } from '../../core/common/index.js';
import type { ContractSet, WindowSummary } from '../../core/summary/index.js';
import { loadProto } from '../../proto/loader.js';
import { contractSetToPb } from '../../proto/codec/contract-set-codec.js';
import { windowSummaryFromPb } from '../../proto/codec/report-codec.js';
import { authorize, type Authorizer } from '../access/authorizer.js';
import type { ControlplaneMetrics } from '../metrics/metrics.js';
import type { EvidenceStore, NewEdge } from './evidence-store.js';
import { ReportDedup } from './report-dedup.js';

/**
 * Messages queued to one agent (the stream is in object mode, so writableLength counts
 * messages) beyond which its stream is ended: it is not reading its acks.
 */
export const MAX_STREAM_BACKLOG_MESSAGES = 10_000;

interface AgentMessagePb {
  body?: 'hello' | 'report';
  hello?: { node?: string; boot_id?: string; version?: string };
  report?: unknown;
}

type ControlMessagePb =
  | { contracts: ReturnType<typeof contractSetToPb> }
  | { ack: { boot_id: string; seq: number } }
  | { reject: { boot_id: string; seq: number; reason: string } };

export interface CollectorOptions {
  readonly store: EvidenceStore;
  readonly clock: Clock;
  readonly log: Logger;
  readonly metrics: ControlplaneMetrics;
  readonly authorizer: Authorizer;
  /** The set to push on connect; null on a standby replica (agents take the leader's). */
  readonly contractSet: () => ContractSet | null;
  /** Called after a report added evidence (the reconciler's nudge). */
  readonly onEvidence: (touched: readonly string[]) => void;
  /** Newly seen denied edges, for the live stream. */
  readonly onNewEdges: (edges: readonly NewEdge[]) => void;
  /** Every accepted report, once (after deduplication): the traffic map reads its observed edges. */
  readonly onAccepted?: (summary: WindowSummary, nowMs: number) => void;
}

function reportIdentity(pb: unknown): { bootId: string; seq: number } {
  if (typeof pb !== 'object' || pb === null) return { bootId: '', seq: 0 };
  const o = pb as Record<string, unknown>;
  return { bootId: typeof o['boot_id'] === 'string' ? o['boot_id'] : '', seq: typeof o['seq'] === 'number' ? o['seq'] : 0 };
}

export class CollectorService {
  private readonly o: CollectorOptions;
  private readonly dedup = new ReportDedup();
  private readonly streams = new Set<grpc.ServerDuplexStream<AgentMessagePb, ControlMessagePb>>();
  private server: grpc.Server | null = null;
  private encode: ((v: ControlMessagePb) => Buffer) | null = null;
  private setBytes: { readonly set: ContractSet; readonly bytes: Buffer } | null = null;

  constructor(options: CollectorOptions) {
    this.o = options;
  }

  /** Binds the server (TLS when given PEM material); returns the bound port (the address may say port 0). */
  async listen(address: string, tls: { readonly certPem: Buffer; readonly keyPem: Buffer; readonly clientCaPem: Buffer | null } | null = null): Promise<number> {
    const pkg = loadProto('rampart/v1/collector.proto');
    const v1 = (pkg['rampart'] as grpc.GrpcObject)['v1'] as grpc.GrpcObject;
    const Collector = v1['Collector'] as grpc.ServiceClientConstructor;
    // Channelz (grpc-js's introspection service, which rampart does not serve) would keep a
    // tracker, a socket registration and a set of closures for every agent connection and call.
    const server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024, 'grpc.enable_channelz': 0 });
    // Bytes pass through the serializer untouched: a contract set is encoded once and the
    // same buffer written to every stream. (Encoding it per stream was 1.2 ms each at 50
    // contracts: 6 s of a blocked event loop to push one new set to 5,000 agents.)
    const connect = Collector.service['Connect']!;
    const serialize = connect.responseSerialize as (v: ControlMessagePb) => Buffer;
    this.encode = serialize;
    const service: grpc.ServiceDefinition = {
      ...Collector.service,
      Connect: { ...connect, responseSerialize: (v: ControlMessagePb | Buffer): Buffer => (Buffer.isBuffer(v) ? v : serialize(v)) },
    };
    server.addService(service, {
      Connect: (call: grpc.ServerDuplexStream<AgentMessagePb, ControlMessagePb>) => {
        this.connect(call);
      },
    });
    const port = await new Promise<number>((resolve, reject) => {
      const credentials = tls
        ? grpc.ServerCredentials.createSsl(tls.clientCaPem, [{ cert_chain: tls.certPem, private_key: tls.keyPem }], tls.clientCaPem !== null)
        : grpc.ServerCredentials.createInsecure();
      server.bindAsync(address, credentials, (e, p) => {
        if (e) reject(e);
        else resolve(p);
      });
    });
    this.server = server;
    return port;
  }

  /** Pushes a new ContractSet to every connected agent. */
  broadcast(set: ContractSet): void {
    const bytes = this.encodedSet(set);
    for (const call of this.streams) this.send(call, bytes);
  }

  /** The set as wire bytes, encoded once per set (the reconciler hands out one object per generation). */
  private encodedSet(set: ContractSet): Buffer | ControlMessagePb {
    if (this.setBytes?.set === set) return this.setBytes.bytes;
    const msg = { contracts: contractSetToPb(set) } as ControlMessagePb;
    if (this.encode === null) return msg;
    this.setBytes = { set, bytes: this.encode(msg) };
    return this.setBytes.bytes;
  }

  connectedStreams(): number {
    return this.streams.size;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const call of this.streams) call.end();
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 2000);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  private send(call: grpc.ServerDuplexStream<AgentMessagePb, ControlMessagePb>, msg: ControlMessagePb | Buffer): void {
    if (call.writableLength > MAX_STREAM_BACKLOG_MESSAGES) {
      this.o.metrics.ingestErrors.inc({ reason: 'agent-not-reading' });
      call.emit('error', { code: grpc.status.RESOURCE_EXHAUSTED, details: 'the agent is not reading its acknowledgements' });
      return;
    }
    // A Buffer is an already encoded message (see listen): the serializer passes it through.
    call.write(msg as ControlMessagePb);
  }

  private connect(call: grpc.ServerDuplexStream<AgentMessagePb, ControlMessagePb>): void {
    const header = call.metadata.get('authorization')[0];
    // The stream stays paused (messages buffered) until the check answers and listeners attach.
    authorize(this.o.authorizer, typeof header === 'string' ? header : undefined, { kind: 'agent' }).then(
      (d) => {
        if (d.outcome === 'allowed') {
          this.accept(call);
          return;
        }
        this.o.metrics.ingestErrors.inc({ reason: 'unauthenticated' });
        // No node name yet (hello comes after auth): the peer address is all there is to say who.
        this.o.log.warn(d.outcome === 'forbidden' ? 'agent refused: not an agent' : 'agent refused: missing or invalid bearer token', {
          peer: call.getPeer(),
          header: header === undefined ? 'absent' : 'present',
        });
        call.emit('error', {
          code: d.outcome === 'forbidden' ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED,
          details: d.outcome === 'forbidden' ? (d.message ?? 'not an agent') : 'missing or invalid bearer token',
        });
      },
      () => {
        call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'authentication failed' });
      },
    );
  }

  private accept(call: grpc.ServerDuplexStream<AgentMessagePb, ControlMessagePb>): void {
    let node: string | null = null;
    // The node's logger is made when a line is written, not kept per stream: a kept child
    // logger is six closures and a context per agent (about 3 MiB at 10,000 agents) for lines
    // written rarely.
    const log = (): Logger => (node === null ? this.o.log : this.o.log.child({ node }));
    this.streams.add(call);
    this.o.metrics.agentsConnected.set(this.streams.size);
    // A standby (Kubernetes mode, not leading) pushes nothing: agents follow the leader's set.
    const set = this.o.contractSet();
    if (set !== null) this.send(call, this.encodedSet(set));

    const reject = (bootId: string, seq: number, code: 'INVALID_ARGUMENT' | 'FAILED_PRECONDITION', reason: string, metricReason: string): void => {
      this.o.metrics.reports.inc({ result: 'rejected' });
      this.o.metrics.ingestErrors.inc({ reason: metricReason });
      log().warn('report rejected', { code, reason: reason.slice(0, 500), seq });
      this.send(call, { reject: { boot_id: bootId, seq, reason: `${code}: ${reason}` } });
    };

    call.on('data', (msg: AgentMessagePb) => {
      const nowMs = this.o.clock.nowMs();
      if (msg.body === 'hello' && msg.hello) {
        const name = msg.hello.node ?? '';
        if (name === '') {
          reject('', 0, 'INVALID_ARGUMENT', 'hello.node: expected the node name', 'malformed-hello');
          return;
        }
        if (node === null) this.o.store.nodeConnected(name, nowMs);
        else if (node !== name) {
          reject('', 0, 'INVALID_ARGUMENT', `hello.node: this stream is node ${node}, got ${name}`, 'malformed-hello');
          return;
        }
        node = name;
        log().info('agent connected', { bootId: msg.hello.boot_id ?? '', version: msg.hello.version ?? '' });
        return;
      }
      if (msg.body !== 'report' || msg.report === undefined) {
        reject('', 0, 'INVALID_ARGUMENT', 'expected a hello or a report', 'malformed-message');
        return;
      }
      const id = reportIdentity(msg.report);
      if (node === null) {
        reject(id.bootId, id.seq, 'FAILED_PRECONDITION', 'a report before hello', 'no-hello');
        return;
      }
      const decoded = windowSummaryFromPb(msg.report);
      if (!decoded.ok) {
        reject(id.bootId, id.seq, 'INVALID_ARGUMENT', formatProblems(decoded.error).replace(/\n/g, '; '), 'malformed-report');
        return;
      }
      const summary = decoded.value;
      if (summary.node !== node) {
        reject(summary.bootId, summary.seq, 'INVALID_ARGUMENT', `node: this stream is node ${node}, the report says ${summary.node}`, 'wrong-node');
        return;
      }
      if (this.dedup.has(summary.node, summary.bootId, summary.seq)) {
        this.o.metrics.reports.inc({ result: 'duplicate' });
        this.send(call, { ack: { boot_id: summary.bootId, seq: summary.seq } });
        return;
      }
      const outcome = this.o.store.ingest(summary, nowMs);
      this.dedup.add(summary.node, summary.bootId, summary.seq);
      const m = this.o.metrics;
      m.reports.inc({ result: 'accepted' });
      if (outcome.current > 0) m.windows.inc({ result: 'current' }, outcome.current);
      if (outcome.staleRevision > 0) m.windows.inc({ result: 'stale-revision' }, outcome.staleRevision);
      if (outcome.otherStage > 0) m.windows.inc({ result: 'other-stage' }, outcome.otherStage);
      if (outcome.unknownContract > 0) m.windows.inc({ result: 'unknown-contract' }, outcome.unknownContract);
      for (const w of summary.contracts) if (w.actualDenies > 0) m.actualDenies.inc({ contract: w.contract }, w.actualDenies);
      // The store holds it now: acknowledge (evidence is in memory by design; see evidence-store.ts).
      this.send(call, { ack: { boot_id: summary.bootId, seq: summary.seq } });
      if (outcome.touched.length > 0) this.o.onEvidence(outcome.touched);
      if (outcome.newEdges.length > 0) this.o.onNewEdges(outcome.newEdges);
      this.o.onAccepted?.(summary, nowMs);
    });

    let closed = false;
    const cleanup = (): void => {
      if (closed) return;
      closed = true;
      this.streams.delete(call);
      this.o.metrics.agentsConnected.set(this.streams.size);
      if (node !== null) {
        this.o.store.nodeDisconnected(node, this.o.clock.nowMs());
        log().info('agent disconnected');
      }
    };
    call.on('end', () => {
      call.end();
      cleanup();
    });
    call.on('cancelled', cleanup);
    call.on('close', cleanup);
    call.on('error', (e: Error) => {
      log().debug('agent stream error', { err: { message: e.message } });
      cleanup();
    });
  }
}
