/**
 * What the traffic says a policy set must admit: every connection start (classified exactly
 * as `rampart evaluate` and the agent classify it) folded into side edges, one per
 * (workload, direction, peer, protocol, port), with the label sets seen per workload and one
 * representative flow per distinct verdict input, so a suggestion can be re-evaluated over
 * millions of flows in the time of a few thousand. Memory is bounded by distinct edges.
 */
import { ConnectionTracker, workloadName, type Endpoint, type Flow } from '../flow/index.js';
import type { PolicyProtocol } from '../policy/index.js';
import type { Labels } from './labels.js';

export type Direction = 'egress' | 'ingress';

/** The other end of a side edge, as a rule would name it. */
export type PeerRef =
  | { readonly kind: 'workload'; readonly workload: string; readonly namespace: string }
  /** An external address (world, cidr:, kube-apiserver): admitted by an ipBlock of this /32 or /128. */
  | { readonly kind: 'cidr'; readonly cidr: string }
  /** Cilium's health or ingress endpoints: no selector or ipBlock matches them, only a rule without peers. */
  | { readonly kind: 'any'; readonly what: string };

export interface SideEdge {
  /** The workload whose side this is, `ns/name`. */
  readonly self: string;
  readonly namespace: string;
  readonly direction: Direction;
  readonly peer: PeerRef;
  /** null: a protocol without ports (ICMP), admitted only by a rule without `ports`. */
  readonly protocol: PolicyProtocol | null;
  readonly port: number;
  /** Egress to a cluster DNS server (port 53, or the kube-dns pods' own port). */
  readonly dns: boolean;
  count: number;
  firstSeenMs: number;
  lastSeenMs: number;
}

export interface ObservedWorkload {
  readonly key: string;
  readonly namespace: string;
  readonly name: string;
  readonly kind: string;
  /** Distinct pod label sets, by canonical text. */
  readonly labelSets: Map<string, Labels>;
  /** True once the workload was seen as the pod whose side is decided (not only as a peer). */
  hasSide: boolean;
  /** Pod names seen (at most 256), to match pods from --pods to the workload. */
  readonly podNames: Set<string>;
}

/** Bound on representative flows kept for re-evaluation (distinct verdict inputs). */
export const MAX_REPRESENTATIVES = 200_000;
/** Bound on distinct side edges: far above what one contract can hold (the CRD's bounds). */
export const MAX_EDGES = 100_000;

const POLICY_PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);

export const peerKey = (p: PeerRef): string => (p.kind === 'workload' ? `w:${p.workload}` : p.kind === 'cidr' ? `c:${p.cidr}` : `a:${p.what}`);

export const hostCidr = (ip: string): string => (ip.includes(':') ? `${ip}/128` : `${ip}/32`);

/** Memo of label texts by the (shared, frozen) label objects flows carry per identity. */
const labelsTextMemo = new WeakMap<object, string>();

function labelsText(labels: Labels): string {
  const hit = labelsTextMemo.get(labels);
  if (hit !== undefined) return hit;
  const text = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]!}`)
    .join(',');
  labelsTextMemo.set(labels, text);
  return text;
}

export class ObservationSet {
  readonly workloads = new Map<string, ObservedWorkload>();
  readonly edges = new Map<string, SideEdge>();
  /** One flow per distinct (source identity, destination identity, external IPs, protocol, port). */
  readonly representatives = new Map<string, Flow>();
  /** Connection sides no rule can be written for, by reason (unknown identities, …). */
  readonly unexpressible = new Map<string, number>();
  readonly #tracker = new ConnectionTracker();
  connections = 0;
  skipped = 0;
  /** Connection sides not learned because MAX_EDGES distinct edges were already held. */
  edgeOverflow = 0;
  representativeOverflow = 0;

  /** Classifies one flow as `rampart evaluate` does and, if it is a connection start, learns from it. */
  addFlow(flow: Flow): boolean {
    const c = this.#tracker.classify(flow);
    if (c.kind === 'skip') {
      this.skipped++;
      return false;
    }
    this.addConnection(flow);
    return true;
  }

  /** Learns from a flow already known to be a connection start (both sides, whichever node saw it). */
  addConnection(flow: Flow, options?: { readonly externalSourceAs?: string; readonly externalSourceCidrs?: readonly string[] }): void {
    this.connections++;
    const l4 = flow.l4;
    const protocol = l4 !== null && POLICY_PROTOCOLS.has(l4.protocol) ? (l4.protocol as PolicyProtocol) : null;
    const port = protocol === null || l4 === null ? 0 : l4.destinationPort;
    const src = this.#endpoint(flow.source);
    const dst = this.#endpoint(flow.destination);
    this.#side(flow, 'egress', flow.source, src, flow.destination, dst, flow.ip?.destination, protocol, port);
    // A declared public entry point: its ingress is from these networks (the world), not from the one address of a made-up flow.
    const cidrs = options?.externalSourceCidrs;
    if (cidrs !== undefined && flow.source.kind === 'external') for (const cidr of cidrs) this.#side(flow, 'ingress', flow.destination, dst, flow.source, src, flow.ip?.source, protocol, port, undefined, cidr);
    else this.#side(flow, 'ingress', flow.destination, dst, flow.source, src, flow.ip?.source, protocol, port, options?.externalSourceAs);
    this.#represent(flow, protocol, port);
  }

  #endpoint(e: Endpoint): ObservedWorkload | null {
    if (e.kind !== 'pod') return null;
    const name = workloadName(e);
    const key = `${e.namespace}/${name}`;
    let w = this.workloads.get(key);
    if (w === undefined) {
      w = { key, namespace: e.namespace, name, kind: e.workloads[0]?.kind ?? '', labelSets: new Map(), hasSide: false, podNames: new Set() };
      this.workloads.set(key, w);
    }
    if (e.podName !== '' && w.podNames.size < 256) w.podNames.add(e.podName);
    if (w.labelSets.size < 64) {
      const text = labelsText(e.podLabels);
      if (!w.labelSets.has(text)) w.labelSets.set(text, e.podLabels);
    }
    return w;
  }

  #side(
    flow: Flow,
    direction: Direction,
    self: Endpoint,
    selfW: ObservedWorkload | null,
    peer: Endpoint,
    peerW: ObservedWorkload | null,
    peerIp: string | undefined,
    protocol: PolicyProtocol | null,
    port: number,
    externalAs?: string,
    externalCidr?: string,
  ): void {
    if (self.kind === 'external') return; // no side (netpol.md rule 6)
    if (self.kind === 'reserved' && self.name !== 'init' && self.name !== 'unmanaged') return; // not a pod
    if (selfW === null) {
      this.#unexpressible(`${direction} of a pod whose labels are unknown (${self.kind === 'reserved' ? `reserved:${self.name}` : 'unknown identity'})`);
      return;
    }
    let ref: PeerRef;
    switch (peer.kind) {
      case 'pod':
        ref = { kind: 'workload', workload: peerW!.key, namespace: peerW!.namespace };
        break;
      case 'external':
        if (externalAs !== undefined) {
          ref = { kind: 'any', what: externalAs };
          break;
        }
        if (externalCidr !== undefined) {
          ref = { kind: 'cidr', cidr: externalCidr };
          break;
        }
        if (peerIp === undefined || peerIp === '') return this.#unexpressible(`${direction} with an external peer without an IP`);
        ref = { kind: 'cidr', cidr: hostCidr(peerIp) };
        break;
      case 'reserved':
        if (peer.name === 'host' || peer.name === 'remote-node') return; // always allowed
        if (peer.name === 'kube-apiserver') {
          if (peerIp === undefined || peerIp === '') return this.#unexpressible(`${direction} with kube-apiserver without an IP`);
          ref = { kind: 'cidr', cidr: hostCidr(peerIp) };
        } else if (peer.name === 'health' || peer.name === 'ingress') ref = { kind: 'any', what: `reserved:${peer.name}` };
        else return this.#unexpressible(`${direction} with a reserved:${peer.name} peer (labels unknown)`);
        break;
      case 'unknown':
        return this.#unexpressible(`${direction} with a peer of unknown identity`);
    }
    selfW.hasSide = true;
    const dns =
      direction === 'egress' &&
      ref.kind === 'workload' &&
      (protocol === 'UDP' || protocol === 'TCP') &&
      (port === 53 || (peer.kind === 'pod' && peer.podLabels['k8s-app'] === 'kube-dns'));
    const key = `${selfW.key}\u0000${direction}\u0000${peerKey(ref)}\u0000${protocol ?? '-'}\u0000${port}`;
    const edge = this.edges.get(key);
    if (edge !== undefined) {
      edge.count++;
      if (flow.timeMs < edge.firstSeenMs) edge.firstSeenMs = flow.timeMs;
      if (flow.timeMs > edge.lastSeenMs) edge.lastSeenMs = flow.timeMs;
      return;
    }
    if (this.edges.size >= MAX_EDGES) {
      this.edgeOverflow++;
      return;
    }
    this.edges.set(key, { self: selfW.key, namespace: selfW.namespace, direction, peer: ref, protocol, port, dns, count: 1, firstSeenMs: flow.timeMs, lastSeenMs: flow.timeMs });
  }

  #unexpressible(reason: string): void {
    this.unexpressible.set(reason, (this.unexpressible.get(reason) ?? 0) + 1);
  }

  #represent(flow: Flow, protocol: PolicyProtocol | null, port: number): void {
    const s = flow.source;
    const d = flow.destination;
    const ext = (e: Endpoint, ip: string | undefined): string => (e.kind === 'external' || (e.kind === 'reserved' && e.name === 'kube-apiserver') ? (ip ?? '') : '');
    const k = `${endpointKey(s)}\u0000${endpointKey(d)}\u0000${ext(s, flow.ip?.source)}\u0000${ext(d, flow.ip?.destination)}\u0000${protocol ?? flow.l4?.protocol ?? '-'}\u0000${port}`;
    if (this.representatives.has(k)) return;
    if (this.representatives.size >= MAX_REPRESENTATIVES) {
      this.representativeOverflow++;
      return;
    }
    this.representatives.set(k, flow);
  }
}

const joinedMemo = new WeakMap<readonly string[], string>();
function joined(labels: readonly string[]): string {
  let j = joinedMemo.get(labels);
  if (j === undefined) {
    j = labels.join(',');
    joinedMemo.set(labels, j);
  }
  return j;
}

/** What a verdict reads of an endpoint: its kind, namespace and identity labels. */
function endpointKey(e: Endpoint): string {
  switch (e.kind) {
    case 'pod':
      return `p:${e.namespace}:${joined(e.labels)}`;
    case 'unknown':
      return `u:${e.namespace ?? ''}:${joined(e.labels)}`;
    case 'reserved':
      return `r:${e.name}`;
    case 'external':
      return 'x';
  }
}
