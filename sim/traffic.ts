/**
 * The traffic model: which connections start when. Steady calls start at their rate
 * (fractional expectations carry over between steps, so low rates still fire); periodic
 * jobs fire a burst every `every` after `offset` (the rare edge a short observation window
 * misses); a share of calls first resolve the service name with kube-dns over UDP 53;
 * kubelet probes every pod from its node. Time comes from the caller, never from a timer.
 */
import type { CallSpec, ClusterSpec } from './cluster-spec.js';
import { addressIn, type Cluster, type SimPod, type SimWorkload } from './cluster.js';
import type { Connection, Peer } from './connection.js';
import type { Random } from './random.js';

export interface PlannedConnection {
  readonly atMs: number;
  readonly conn: Connection;
}

const EPHEMERAL_MIN = 32_768;
const EPHEMERAL_MAX = 60_999;
const BURST_SPACING_MS = 150;

export class TrafficModel {
  private readonly cluster: Cluster;
  private readonly spec: ClusterSpec;
  private readonly random: Random;
  private readonly carry: number[];
  private startMs: number | null = null;
  private lateActive = false;
  /** Multiplies every steady rate (the `--rate` flag). */
  rateScale: number;

  constructor(cluster: Cluster, spec: ClusterSpec, random: Random, rateScale = 1) {
    this.cluster = cluster;
    this.spec = spec;
    this.random = random;
    this.rateScale = rateScale;
    this.carry = spec.calls.map(() => 0);
  }

  /** Starts the workloads marked `late` (the demo's new caller). */
  activateLate(): void {
    this.lateActive = true;
  }

  isLateActive(): boolean {
    return this.lateActive;
  }

  private workloadActive(w: SimWorkload): boolean {
    return !w.late || this.lateActive;
  }

  /** Connections starting in [fromMs, toMs); bursts may run a little past `toMs`. */
  plan(fromMs: number, toMs: number): PlannedConnection[] {
    this.startMs ??= fromMs;
    const out: PlannedConnection[] = [];
    const dt = toMs - fromMs;
    if (dt <= 0) return out;
    this.spec.calls.forEach((call, i) => {
      const from = this.cluster.workloads.get(call.from);
      if (!from || !this.workloadActive(from)) return;
      if (call.schedule !== null) {
        // The CronJob's runs, wall-clock aligned: a burst at each run in [fromMs, toMs).
        for (let t = call.schedule.next(fromMs - 1), n = 0; t !== null && t < toMs && n < 1000; t = call.schedule.next(t), n++) {
          for (let b = 0; b < call.burst; b++) this.addCall(out, call, from, t + b * BURST_SPACING_MS);
        }
      } else if (call.everyMs === null) {
        const expected = this.carry[i]! + (call.ratePerSec * this.rateScale * dt) / 1000;
        const n = Math.floor(expected);
        this.carry[i] = expected - n;
        for (let k = 0; k < n; k++) this.addCall(out, call, from, fromMs + this.random.next() * dt);
      } else {
        const first = this.startMs! + call.offsetMs;
        let k = Math.max(0, Math.ceil((fromMs - first) / call.everyMs));
        for (let t = first + k * call.everyMs; t < toMs; k++, t = first + k * call.everyMs) {
          for (let b = 0; b < call.burst; b++) this.addCall(out, call, from, t + b * BURST_SPACING_MS);
        }
      }
    });
    this.addProbes(out, fromMs, toMs);
    return out.sort((a, b) => a.atMs - b.atMs);
  }

  private srcPort(): number {
    return this.random.int(EPHEMERAL_MIN, EPHEMERAL_MAX);
  }

  private addCall(out: PlannedConnection[], call: CallSpec, from: SimWorkload, atMs: number): void {
    const pod = this.random.pick(from.pods);
    const src: Peer = { kind: 'pod', pod, workload: from };
    const toWorkload = this.cluster.workloads.get(call.to);
    const external = this.cluster.externals.get(call.to);
    let dst: Peer;
    let service: Connection['service'] = null;
    if (toWorkload) {
      dst = { kind: 'pod', pod: this.random.pick(toWorkload.pods), workload: toWorkload };
      service = { name: toWorkload.name, namespace: toWorkload.namespace };
    } else if (external) {
      dst = { kind: 'external', external, ip: addressIn(external.cidr, this.random) };
    } else {
      return;
    }
    if (this.spec.dnsPerCall > 0 && this.random.next() < this.spec.dnsPerCall) this.addDns(out, pod, from, atMs - 2);
    out.push({ atMs, conn: { src, dst, srcPort: this.srcPort(), dstPort: call.port, protocol: call.protocol, service } });
  }

  private addDns(out: PlannedConnection[], pod: SimPod, from: SimWorkload, atMs: number): void {
    const dns = this.cluster.workloads.get(this.spec.dnsServer);
    if (!dns) return;
    out.push({
      atMs,
      conn: {
        src: { kind: 'pod', pod, workload: from },
        dst: { kind: 'pod', pod: this.random.pick(dns.pods), workload: dns },
        srcPort: this.srcPort(),
        dstPort: 53,
        protocol: 'UDP',
        service: { name: 'kube-dns', namespace: dns.namespace },
      },
    });
  }

  private addProbes(out: PlannedConnection[], fromMs: number, toMs: number): void {
    const every = this.spec.probeEveryMs;
    if (every <= 0) return;
    for (const w of this.cluster.workloads.values()) {
      if (!this.workloadActive(w)) continue;
      const port = w.ports.find((p) => p.protocol === 'TCP');
      if (!port) continue;
      for (const pod of w.pods) {
        // A stable per-pod phase, so probes do not all fire in the same millisecond.
        const phase = (pod.endpointId * 7919) % every;
        const first = this.startMs! + phase;
        for (let k = Math.max(0, Math.ceil((fromMs - first) / every)), t = first + k * every; t < toMs; k++, t = first + k * every) {
          out.push({
            atMs: t,
            conn: { src: { kind: 'host', node: pod.node }, dst: { kind: 'pod', pod, workload: w }, srcPort: this.srcPort(), dstPort: port.port, protocol: 'TCP', service: null },
          });
        }
      }
    }
  }
}
