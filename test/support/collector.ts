/**
 * A small, real Collector (proto/rampart/v1) for agent tests: a grpc-js server on loopback
 * that pushes a scripted contract set, ingests WindowReports idempotently on
 * (node, boot_id, seq) as the real control plane must, acks them, and records everything
 * (accepted windows, duplicates, malformed reports) for assertions.
 */
import { rmSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../proto/loader.js';
import { contractSetToPb, windowSummaryFromPb, type ContractSetPb } from '../../proto/codec/report-codec.js';
import type { ContractSet, WindowSummary } from '../../core/summary/index.js';

export interface TestCollectorOptions {
  /** Bearer token to require (none: anything goes). */
  readonly token?: string;
  /** Contract set pushed on connect (none: nothing is pushed until `setContracts`). */
  readonly contracts?: ContractSet;
  /** Raw ContractSet message to push instead (to test malformed sets). */
  readonly rawContracts?: ContractSetPb | Record<string, unknown>;
  /** When false, reports are recorded but never acked. */
  readonly ack?: boolean;
  /** The loopback address to listen on (default 127.0.0.1; replicas behind one name share a port). */
  readonly host?: string;
  /** Serve TLS with this key pair (PEM); with `clientCaPem`, require client certificates. */
  readonly tls?: { readonly certPem: Buffer; readonly keyPem: Buffer; readonly clientCaPem?: Buffer };
}

type Stream = grpc.ServerDuplexStream<{ body?: string; hello?: unknown; report?: unknown }, unknown>;

export class TestCollector {
  private server: grpc.Server | null = null;
  private readonly streams = new Set<Stream>();
  private options: TestCollectorOptions;
  private contractsMsg: unknown;
  port = 0;
  private unixAddress: string | null = null;
  /** What a client dials: `127.0.0.1:<port>`, or the `unix://` address it was started on. */
  get target(): string {
    return this.unixAddress ?? `${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }
  /** Unique windows in arrival order. */
  readonly accepted: WindowSummary[] = [];
  /** Reports whose (node, boot_id, seq) was already accepted. */
  duplicates = 0;
  readonly malformed: string[] = [];
  readonly hellos: unknown[] = [];
  readonly authorizations: string[] = [];
  connects = 0;
  private readonly seen = new Set<string>();

  constructor(options: TestCollectorOptions = {}) {
    this.options = options;
    this.contractsMsg = options.rawContracts ?? (options.contracts ? contractSetToPb(options.contracts) : undefined);
  }

  /**
   * Starts on 127.0.0.1 (port 0: any free port), or on a `unix://` address. To stop and come
   * back, use a Unix socket: no other process can take it in between, as one could take a
   * closed TCP port. `start()` again comes back where it was.
   */
  async start(at: number | string = this.unixAddress ?? this.port): Promise<number> {
    const pkg = loadProto('rampart/v1/collector.proto') as unknown as { rampart: { v1: { Collector: grpc.ServiceClientConstructor } } };
    const server = new grpc.Server();
    server.addService(pkg.rampart.v1.Collector.service, { Connect: (call: Stream) => this.onConnect(call) });
    this.port = await new Promise<number>((resolve, reject) => {
      const tls = this.options.tls;
      const credentials = tls
        ? grpc.ServerCredentials.createSsl(tls.clientCaPem ?? null, [{ private_key: tls.keyPem, cert_chain: tls.certPem }], tls.clientCaPem !== undefined)
        : grpc.ServerCredentials.createInsecure();
      if (typeof at === 'string') rmSync(at.replace(/^unix:\/\//, ''), { force: true }); // a socket file left by `stop`
      server.bindAsync(typeof at === 'string' ? at : `${this.options.host ?? '127.0.0.1'}:${at}`, credentials, (e, p) => (e ? reject(e) : resolve(p)));
    });
    this.unixAddress = typeof at === 'string' ? at : null;
    this.server = server;
    return this.port;
  }

  /** Kills every stream and the server at once (a crash, from the agent's point of view). */
  stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.streams) s.destroy();
    this.streams.clear();
    if (!server) return Promise.resolve();
    server.forceShutdown();
    return Promise.resolve();
  }

  setContracts(set: ContractSet | Record<string, unknown>, raw = false): void {
    this.contractsMsg = raw ? set : contractSetToPb(set as ContractSet);
    for (const s of this.streams) s.write({ contracts: this.contractsMsg });
  }

  /** Requires a different token from now on (a rotated ServiceAccount token). */
  setToken(token: string): void {
    this.options = { ...this.options, token };
  }

  setAck(ack: boolean): void {
    this.options = { ...this.options, ack };
  }

  get connectedStreams(): number {
    return this.streams.size;
  }

  /** Sum over accepted windows of one counter of one contract. */
  total(contract: string, pick: (w: WindowSummary['contracts'][number]) => number): number {
    let n = 0;
    for (const w of this.accepted) for (const c of w.contracts) if (c.contract === contract) n += pick(c);
    return n;
  }

  private onConnect(call: Stream): void {
    this.connects++;
    const auth = call.metadata.get('authorization')[0];
    this.authorizations.push(typeof auth === 'string' ? auth : '');
    if (this.options.token !== undefined && auth !== `Bearer ${this.options.token}`) {
      call.emit('error', { code: grpc.status.UNAUTHENTICATED, details: 'bad token' });
      return;
    }
    this.streams.add(call);
    if (this.contractsMsg !== undefined) call.write({ contracts: this.contractsMsg });
    call.on('data', (msg: { body?: string; hello?: unknown; report?: unknown }) => {
      if (msg.body === 'hello') {
        this.hellos.push(msg.hello);
        return;
      }
      if (msg.body !== 'report') return;
      const decoded = windowSummaryFromPb(msg.report);
      const raw = msg.report as { boot_id?: string; seq?: number };
      if (!decoded.ok) {
        this.malformed.push(decoded.error.map((p) => `${p.path}: ${p.message}`).join('; '));
        call.write({ reject: { boot_id: raw.boot_id ?? '', seq: raw.seq ?? 0, reason: 'malformed' } });
        return;
      }
      const s = decoded.value;
      const key = `${s.node}\u0000${s.bootId}\u0000${s.seq}`;
      if (this.seen.has(key)) this.duplicates++;
      else {
        this.seen.add(key);
        this.accepted.push(s);
      }
      if (this.options.ack !== false) call.write({ ack: { boot_id: s.bootId, seq: s.seq } });
    });
    const forget = (): void => {
      this.streams.delete(call);
    };
    call.on('end', () => {
      forget();
      call.end();
    });
    call.on('error', forget);
    call.on('close', forget);
  }
}
