/**
 * The simulated cluster in motion: on each `step(nowMs)` it plans the connections that
 * started since the last step, runs each attempt through the datapath (what the applied
 * policies allow) and publishes what each node's Hubble would report. A denied attempt is
 * retried like a client's SYN retransmit (after 1 s, then 2 s more), each retry dropped again
 * while the policy stands. Driven by an injected clock; owns no timer.
 */
import type { ClusterSpec } from './cluster-spec.js';
import { buildCluster, type Cluster, type SimNode } from './cluster.js';
import type { Connection } from './connection.js';
import { Enforcement, type PolicyJudge } from './enforcement.js';
import { observeAttempt } from './observation.js';
import { seededRandom, type Random } from './random.js';
import type { FlowRecord } from './records.js';
import { TrafficModel } from './traffic.js';

export interface FlowSink {
  publish(node: SimNode, record: FlowRecord): void;
}

export interface SimulatorOptions {
  readonly spec: ClusterSpec;
  /** The datapath's policy engine, or a factory given the built cluster (for named ports). */
  readonly judge: PolicyJudge | ((cluster: Cluster) => PolicyJudge);
  readonly sink: FlowSink;
  readonly seed?: number;
  /** Overrides the spec's node count. */
  readonly nodes?: number;
  /** Multiplies every steady call rate. */
  readonly rateScale?: number;
}

export interface SimulatorStats {
  readonly flows: number;
  readonly connections: number;
  readonly established: number;
  /** Attempts (first SYNs and retransmits) dropped by an applied policy. */
  readonly droppedAttempts: number;
  readonly flowsByNode: Readonly<Record<string, number>>;
}

/** Retransmit delays after the first attempt (Linux SYN backoff: 1 s, then 2 s). */
const RETRY_DELAYS_MS = [1000, 3000];

interface Attempt {
  readonly atMs: number;
  readonly conn: Connection;
  readonly attempt: number;
  readonly firstMs: number;
}

export class Simulator {
  readonly cluster: Cluster;
  readonly enforcement: Enforcement;
  readonly traffic: TrafficModel;
  private readonly random: Random;
  private readonly sink: FlowSink;
  private readonly queue: Attempt[] = [];
  private lastMs: number | null = null;
  private flows = 0;
  private connections = 0;
  private established = 0;
  private droppedAttempts = 0;
  private readonly flowsByNode: Record<string, number> = {};

  constructor(opts: SimulatorOptions) {
    this.random = seededRandom(opts.seed ?? 1);
    this.cluster = buildCluster(opts.spec, this.random, opts.nodes ?? opts.spec.nodes);
    this.enforcement = new Enforcement(typeof opts.judge === 'function' ? opts.judge(this.cluster) : opts.judge, opts.spec.policies);
    this.traffic = new TrafficModel(this.cluster, opts.spec, this.random, opts.rateScale ?? 1);
    this.sink = opts.sink;
    for (const n of this.cluster.nodes) this.flowsByNode[n.name] = 0;
  }

  /** Advances simulated time to `nowMs`, publishing every flow that happened on the way. */
  step(nowMs: number): void {
    if (this.lastMs === null) {
      this.lastMs = nowMs;
      return;
    }
    if (nowMs <= this.lastMs) return;
    for (const p of this.traffic.plan(this.lastMs, nowMs)) {
      this.connections++;
      this.enqueue({ atMs: p.atMs, conn: p.conn, attempt: 0, firstMs: p.atMs });
    }
    this.lastMs = nowMs;
    while (this.queue.length > 0 && this.queue[0]!.atMs < nowMs) this.run(this.queue.shift()!);
  }

  private enqueue(a: Attempt): void {
    // Binary insertion keeps the queue ordered by time; it stays small (one step's worth).
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.queue[mid]!.atMs <= a.atMs) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, a);
  }

  private run(a: Attempt): void {
    const decisions = { egress: this.enforcement.decide(a.conn, 'egress'), ingress: this.enforcement.decide(a.conn, 'ingress') };
    const result = observeAttempt(a.conn, decisions, a.atMs, this.random);
    for (const e of result.events) {
      this.flows++;
      this.flowsByNode[e.node.name] = (this.flowsByNode[e.node.name] ?? 0) + 1;
      this.sink.publish(e.node, e.record);
    }
    if (result.outcome === 'established') {
      this.established++;
      return;
    }
    this.droppedAttempts++;
    const delay = RETRY_DELAYS_MS[a.attempt];
    if (delay !== undefined) this.enqueue({ ...a, atMs: a.firstMs + delay, attempt: a.attempt + 1 });
  }

  stats(): SimulatorStats {
    return {
      flows: this.flows,
      connections: this.connections,
      established: this.established,
      droppedAttempts: this.droppedAttempts,
      flowsByNode: { ...this.flowsByNode },
    };
  }
}
