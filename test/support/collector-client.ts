/**
 * A real peer of proto/rampart/v1 `Collector.Connect` for control plane tests: a grpc-js
 * client that says Hello, sends WindowReports (well-formed through the shared codec, or raw
 * wire objects), and records what the control plane answers (ContractSets, acks, rejects,
 * the final status).
 */
import * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../proto/loader.js';
import { contractSetFromPb } from '../../proto/codec/contract-set-codec.js';
import { windowSummaryToPb } from '../../proto/codec/report-codec.js';
import type { ContractSet, WindowSummary } from '../../core/summary/index.js';

type Duplex = grpc.ClientDuplexStream<Record<string, unknown>, Record<string, unknown>>;

export interface CollectorClientOptions {
  readonly port: number;
  readonly node: string;
  readonly token?: string;
  readonly bootId?: string;
  /** Extra channel options (e.g. a unique key so that many clients get their own connection). */
  readonly channelOptions?: grpc.ChannelOptions;
}

let collectorCtor: grpc.ServiceClientConstructor | null = null;
function ctor(): grpc.ServiceClientConstructor {
  if (!collectorCtor) {
    const pkg = loadProto('rampart/v1/collector.proto') as unknown as { rampart: { v1: { Collector: grpc.ServiceClientConstructor } } };
    collectorCtor = pkg.rampart.v1.Collector;
  }
  return collectorCtor;
}

export class CollectorClient {
  readonly node: string;
  readonly bootId: string;
  readonly sets: ContractSet[] = [];
  readonly acks: number[] = [];
  readonly rejects: { seq: number; reason: string }[] = [];
  status: grpc.StatusObject | null = null;
  error: grpc.ServiceError | null = null;
  private readonly client: grpc.Client;
  private readonly call: Duplex;
  private seq = 0;
  private lastEndMs = Date.now();

  constructor(o: CollectorClientOptions) {
    this.node = o.node;
    this.bootId = o.bootId ?? `boot-${o.node}-${Math.random().toString(36).slice(2)}`;
    const Ctor = ctor();
    this.client = new Ctor(`127.0.0.1:${o.port}`, grpc.credentials.createInsecure(), o.channelOptions);
    const md = new grpc.Metadata();
    if (o.token !== undefined) md.set('authorization', `Bearer ${o.token}`);
    this.call = (this.client as unknown as { Connect(md: grpc.Metadata): Duplex }).Connect(md);
    this.call.on('data', (msg: Record<string, unknown>) => {
      if (msg['body'] === 'contracts') {
        const set = contractSetFromPb(msg['contracts']);
        if (set.ok) this.sets.push(set.value);
      } else if (msg['body'] === 'ack') {
        this.acks.push(Number((msg['ack'] as { seq?: number }).seq ?? 0));
      } else if (msg['body'] === 'reject') {
        const r = msg['reject'] as { seq?: number; reason?: string };
        this.rejects.push({ seq: Number(r.seq ?? 0), reason: r.reason ?? '' });
      }
    });
    this.call.on('status', (s: grpc.StatusObject) => {
      this.status = s;
    });
    this.call.on('error', (e: grpc.ServiceError) => {
      this.error = e;
    });
    this.call.write({ hello: { node: o.node, boot_id: this.bootId, version: 'test' } });
  }

  /** The latest ContractSet received. */
  latest(): ContractSet | null {
    return this.sets.at(-1) ?? null;
  }

  nextSeq(): number {
    return ++this.seq;
  }

  send(summary: WindowSummary): boolean {
    return this.call.write({ report: windowSummaryToPb(summary) });
  }

  sendRaw(report: Record<string, unknown>): void {
    this.call.write({ report });
  }

  /**
   * A report like an agent's: a window since the last one, with one contract window per
   * contract of the latest set, labelled with that contract's revision and stage.
   */
  sendWindow(o: { allow?: number; deny?: number; actualDenies?: number; lost?: number; flowsSeen?: number; edge?: { from: string; to: string; port: number } } = {}): number {
    const end = Date.now();
    const start = Math.min(this.lastEndMs, end - 1);
    this.lastEndMs = end;
    const seq = this.nextSeq();
    const set = this.latest();
    const edge = o.edge
      ? [
          {
            fromNamespace: o.edge.from.split('/')[0]!,
            fromWorkload: o.edge.from.split('/')[1]!,
            toNamespace: o.edge.to.split('/')[0]!,
            toWorkload: o.edge.to.split('/')[1]!,
            port: o.edge.port,
            protocol: 'TCP',
            side: 'ingress' as const,
            count: o.deny ?? 0,
            firstSeenMs: start,
            lastSeenMs: end,
            sampleFlowJson: '',
          },
        ]
      : [];
    this.send({
      node: this.node,
      bootId: this.bootId,
      seq,
      windowStartMs: start,
      windowEndMs: end,
      mergedWindows: 1,
      hubble: { flowsSeen: o.flowsSeen ?? 1000, connections: 100, lost: o.lost ? { HUBBLE_RING_BUFFER: o.lost } : {}, reconnects: 0, connected: true },
      contracts: (set?.contracts ?? []).map((c) => ({
        contract: c.name,
        revision: c.revision,
        stageIndex: c.stageIndex,
        stageName: c.stageName,
        egress: { allow: 0, deny: 0, indeterminate: 0 },
        ingress: { allow: o.allow ?? 100, deny: o.deny ?? 0, indeterminate: 0 },
        actualDenies: o.actualDenies ?? 0,
        wouldDenyEdges: edge,
        wouldDenyEdgesOverflow: 0,
        actualDenyEdges: [],
        actualDenyEdgesOverflow: 0,
      })),
      contractsGeneration: set?.generation ?? 0,
    });
    return seq;
  }

  close(): void {
    this.call.end();
    this.call.cancel();
    this.client.close();
  }
}
