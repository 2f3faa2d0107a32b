/**
 * The gRPC collector (proto/rampart/v1 `Collector.Connect`): one bidi stream per agent.
 * On connect it pushes the active ContractSet (and again on every change); each
 * WindowReport is validated, de-duplicated on (node, boot_id, seq), added to the evidence
 * store and acknowledged. Refused reports get a ReportReject whose reason starts with the
 * gRPC status name (INVALID_ARGUMENT, FAILED_PRECONDITION), are counted, and never end the
 * stream. Ingest only feeds the store; the reconcile loop decides (style.md 2.5).
 */
import type { Clock, Logger } from '../../core/common/index.js';
import { formatProblems } from '../../core/common/index.js';
import type { ContractSet, WindowSummary } from '../../core/summary/index.js';
import { loadService } from '../../proto/definitions.js';
import { contractSetToPb } from '../../proto/codec/contract-set-codec.js';
import { windowSummaryFromPb } from '../../proto/codec/report-codec.js';
import { GrpcServer, type GrpcTlsMaterial } from '../../io/http2/grpc-server.js';
import { GrpcStatus, type GrpcServerCall } from '../../io/http2/grpc-call.js';
import { authorize, type Authorizer } from '../access/authorizer.js';
import type { ControlplaneMetrics } from '../metrics/metrics.js';
import type { EvidenceStore, NewEdge } from './evidence-store.js';
import { ReportDedup } from './report-dedup.js';

/**
 * Messages queued to one agent behind its flow-control window beyond which its stream is
 * ended: it is not reading its acks.
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

/** Reports may be large (observed edges for 50 contracts); a bound still stops a runaway peer. */
const MAX_RECEIVE_MESSAGE_BYTES = 16 * 1024 * 1024;

export class CollectorService {
  private readonly o: CollectorOptions;
  private readonly dedup = new ReportDedup();
  private readonly streams = new Set<GrpcServerCall>();
  private server: GrpcServer | null = null;
  private encode: ((v: ControlMessagePb) => Buffer) | null = null;
  private decode: ((b: Buffer) => AgentMessagePb) | null = null;
  private setBytes: { readonly set: ContractSet; readonly bytes: Buffer } | null = null;

  constructor(options: CollectorOptions) {
    this.o = options;
  }

  /** Binds the server (TLS when given PEM material); returns the bound port (the address may say port 0). */
  async listen(address: string, tls: GrpcTlsMaterial | null = null): Promise<number> {
    const connect = loadService('rampart/v1/collector.proto', 'rampart.v1.Collector')['Connect']!;
    this.encode = connect.responseSerialize as (v: ControlMessagePb) => Buffer;
    this.decode = connect.requestDeserialize as (b: Buffer) => AgentMessagePb;
    // Our own HTTP/2 server, not grpc-js's: node:http2 costs ≈ 36 KiB per agent connection,
    // ours ≈ 5 (docs/controlplane-scale.md). Messages stay bytes: a contract set is encoded
    // once and the same buffer written to every stream.
    const server = new GrpcServer({
      methods: new Map([[connect.path, (call: GrpcServerCall) => this.connect(call)]]),
      maxReceiveMessageBytes: MAX_RECEIVE_MESSAGE_BYTES,
      onProtocolError: (peer, message) => {
        this.o.metrics.ingestErrors.inc({ reason: 'protocol' });
        this.o.log.warn('agent connection closed: HTTP/2 protocol error', { peer, error: message });
      },
    });
    const port = await server.listen(address, tls);
    this.server = server;
    return port;
  }

  /** Pushes a new ContractSet to every connected agent. */
  broadcast(set: ContractSet): void {
    const bytes = this.encodedSet(set);
    for (const call of this.streams) this.send(call, bytes);
  }

  /** The set as wire bytes, encoded once per set (the reconciler hands out one object per generation). */
  private encodedSet(set: ContractSet): Buffer {
    if (this.setBytes?.set === set) return this.setBytes.bytes;
    this.setBytes = { set, bytes: this.encode!({ contracts: contractSetToPb(set) }) };
    return this.setBytes.bytes;
  }

  connectedStreams(): number {
    return this.streams.size;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    for (const call of [...this.streams]) call.end();
    await server.close(2000);
  }

  private send(call: GrpcServerCall, msg: ControlMessagePb | Buffer): void {
    if (call.backlog > MAX_STREAM_BACKLOG_MESSAGES) {
      this.o.metrics.ingestErrors.inc({ reason: 'agent-not-reading' });
      call.fail(GrpcStatus.RESOURCE_EXHAUSTED, 'the agent is not reading its acknowledgements');
      return;
    }
    call.write(Buffer.isBuffer(msg) ? msg : this.encode!(msg));
  }

  private connect(call: GrpcServerCall): void {
    const header = call.header('authorization');
    // Messages are held (and not credited to the client's window) until the check answers.
    authorize(this.o.authorizer, header, { kind: 'agent' }).then(
      (d) => {
        if (d.outcome === 'allowed') {
          this.accept(call);
          return;
        }
        this.o.metrics.ingestErrors.inc({ reason: 'unauthenticated' });
        // No node name yet (hello comes after auth): the peer address is all there is to say who.
        this.o.log.warn(d.outcome === 'forbidden' ? 'agent refused: not an agent' : 'agent refused: missing or invalid bearer token', {
          peer: call.peer,
          header: header === undefined ? 'absent' : 'present',
        });
        call.fail(
          d.outcome === 'forbidden' ? GrpcStatus.PERMISSION_DENIED : GrpcStatus.UNAUTHENTICATED,
          d.outcome === 'forbidden' ? (d.message ?? 'not an agent') : 'missing or invalid bearer token',
        );
      },
      () => {
        call.fail(GrpcStatus.UNAVAILABLE, 'authentication failed');
      },
    );
  }

  private accept(call: GrpcServerCall): void {
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

    const onMessage = (bytes: Buffer): void => {
      let msg: AgentMessagePb;
      try {
        msg = this.decode!(bytes);
      } catch (e) {
        // Not a protobuf AgentMessage at all: the stream cannot be trusted to continue.
        this.o.metrics.ingestErrors.inc({ reason: 'malformed-message' });
        call.fail(GrpcStatus.INTERNAL, `could not parse the message: ${e instanceof Error ? e.message : String(e)}`);
        return;
      }
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
    };

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
    call.start({
      message: onMessage,
      // The agent half-closed: end ours too (the agent reconnects to go on).
      end: () => call.end(),
      close: (reason) => {
        log().debug('agent stream closed', { reason });
        cleanup();
      },
    });
  }
}
