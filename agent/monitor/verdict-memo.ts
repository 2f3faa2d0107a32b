/**
 * The verdicts of every bound contract for one kind of connection, remembered across flows,
 * so a connection between the same two workloads on the same port is evaluated once per
 * contract set instead of once per contract and flow.
 *
 * What the evaluator reads (core/policy): the two endpoints (kind, identity, identity labels
 * and what they imply, namespace, reserved name), the peer's IP where the peer is not a pod
 * (ipBlock, kube-apiserver), the protocol and destination port, and which sides are
 * evaluated. An entry is keyed and verified on exactly those:
 * - an end is remembered only when it has a security identity and labels (as core's own memo
 *   requires) and is not `unknown`; its labels, pod labels and namespace labels are compared
 *   by reference (core/flow shares them between flows of one identity), its kind, identity,
 *   namespace and reserved name by value;
 * - ends that are not pods are also compared by IP address;
 * - protocol, port and sides by value.
 * A hit therefore stands for the same inputs, and the same inputs give the same verdicts.
 * Named ports need a resolver, which the agent does not use, so they are never in play.
 *
 * Bounded: cleared when full, and whenever the contract set changes.
 */
import type { Endpoint, Flow } from '../../core/flow/index.js';
import { observedEdgeIdOf, type KeyedEdge } from '../../core/summary/index.js';
import type { ConnectionVerdict } from './ports.js';

/**
 * What the window aggregation names a connection by (core/summary: the traffic map's edge id
 * and the top-K edge keys per side), kept with its memo entry so a repeated connection builds
 * no strings. They depend only on the ends' workloads, the port and the protocol.
 */
export interface ConnectionNames {
  /** observedEdgeIdOf(flow) */
  readonly observedId: string;
  /** keyedEdgeOf(flow, side), made on the first deny or newly-allowed of that side. */
  egress: KeyedEdge | undefined;
  ingress: KeyedEdge | undefined;
}

/** Entries kept before the memo is cleared (about 0.3 KB each with 20 contracts); the captures need a few hundred. */
export const MAX_MEMO_ENTRIES = 1024;

interface Entry {
  readonly source: Endpoint;
  readonly destination: Endpoint;
  /** IPs, only compared for ends that are not pods. */
  readonly sourceIp: string;
  readonly destinationIp: string;
  readonly protocol: string | null;
  readonly port: number;
  readonly egress: boolean;
  readonly ingress: boolean;
  readonly verdicts: readonly ConnectionVerdict[];
  /** Made on the first hit; valid for a hit whose ends name the same Hubble workloads (`workloadName`). */
  names: ConnectionNames | undefined;
  namesSource: string | undefined;
  namesDestination: string | undefined;
}

/**
 * The one input of core/summary's workloadOf that a hit does not already pin: Hubble's
 * workload name of a pod (its labels, namespace and pod labels are compared by `sameEnd`; a
 * reserved end's name too; external ends all name `world`).
 */
const workloadName = (e: Endpoint): string | undefined => (e.kind === 'pod' ? e.workloads[0]?.name : undefined);

const PROTOCOL_CODES: Readonly<Record<string, number>> = { TCP: 1, UDP: 2, SCTP: 3, ICMPv4: 4, ICMPv6: 5, VRRP: 6, IGMP: 7 };

const rememberable = (e: Endpoint): boolean => e.identity > 0 && e.labels.length > 0 && e.kind !== 'unknown';

function sameEnd(a: Endpoint, b: Endpoint, aIp: string, bIp: string): boolean {
  if (a.labels !== b.labels || a.identity !== b.identity) return false;
  switch (a.kind) {
    case 'pod':
      return b.kind === 'pod' && a.namespace === b.namespace && a.podLabels === b.podLabels && a.namespaceLabels === b.namespaceLabels;
    case 'reserved':
      return b.kind === 'reserved' && a.name === b.name && aIp === bIp;
    case 'external':
      return b.kind === 'external' && aIp === bIp;
    default:
      return false;
  }
}

export class VerdictMemo {
  /** source labels → destination labels → protocol, port and sides → entry. */
  private readonly bySource = new Map<readonly string[], Map<readonly string[], Map<number, Entry>>>();
  private entries = 0;
  /** Where the last `lookup` missed, for `remember`; null when the flow cannot be remembered. */
  private pending: Map<number, Entry> | null = null;
  private pendingKey = 0;
  /** The entry the last `lookup` hit, for `names`. */
  private hit: Entry | null = null;
  /** Hits and misses since start (for tests and the benchmark). */
  hits = 0;
  misses = 0;

  /** The remembered verdicts for this flow's connection, or undefined (then call `remember`). */
  lookup(flow: Flow, egress: boolean, ingress: boolean): readonly ConnectionVerdict[] | undefined {
    this.pending = null;
    this.hit = null;
    const source = flow.source;
    const destination = flow.destination;
    const ip = flow.ip;
    if (ip === null || !rememberable(source) || !rememberable(destination)) return undefined;
    const l4 = flow.l4;
    const port = l4 === null ? 0 : l4.destinationPort;
    const code = l4 === null ? 0 : (PROTOCOL_CODES[l4.protocol] ?? 15);
    const key = ((port * 16 + code) * 2 + (egress ? 1 : 0)) * 2 + (ingress ? 1 : 0);
    let byDestination = this.bySource.get(source.labels);
    if (byDestination === undefined) {
      byDestination = new Map();
      this.bySource.set(source.labels, byDestination);
    }
    let byKey = byDestination.get(destination.labels);
    if (byKey === undefined) {
      byKey = new Map();
      byDestination.set(destination.labels, byKey);
    }
    const entry = byKey.get(key);
    if (
      entry !== undefined &&
      entry.port === port &&
      entry.protocol === (l4 === null ? null : l4.protocol) &&
      entry.egress === egress &&
      entry.ingress === ingress &&
      sameEnd(entry.source, source, entry.sourceIp, ip.source) &&
      sameEnd(entry.destination, destination, entry.destinationIp, ip.destination)
    ) {
      this.hits++;
      this.hit = entry;
      return entry.verdicts;
    }
    this.misses++;
    this.pending = byKey;
    this.pendingKey = key;
    return undefined;
  }

  /** Stores the verdicts computed after the last `lookup` missed (ignored when it could not be remembered). */
  remember(flow: Flow, egress: boolean, ingress: boolean, verdicts: readonly ConnectionVerdict[]): void {
    const byKey = this.pending;
    if (byKey === null) return;
    this.pending = null;
    if (this.entries >= MAX_MEMO_ENTRIES) {
      this.clear();
      return; // the tables it pointed into are gone; the next flow starts afresh
    }
    const l4 = flow.l4;
    if (!byKey.has(this.pendingKey)) this.entries++;
    byKey.set(this.pendingKey, {
      source: flow.source,
      destination: flow.destination,
      sourceIp: flow.ip?.source ?? '',
      destinationIp: flow.ip?.destination ?? '',
      protocol: l4 === null ? null : l4.protocol,
      port: l4 === null ? 0 : l4.destinationPort,
      egress,
      ingress,
      verdicts,
      names: undefined,
      namesSource: undefined,
      namesDestination: undefined,
    });
  }

  /**
   * The aggregation's names for the flow the last `lookup` answered (same flow), or undefined
   * when it missed or the ends name other Hubble workloads than the entry's (then the caller
   * builds them itself).
   */
  names(flow: Flow): ConnectionNames | undefined {
    const e = this.hit;
    if (e === null) return undefined;
    if (e.names === undefined) {
      e.namesSource = workloadName(flow.source);
      e.namesDestination = workloadName(flow.destination);
      e.names = { observedId: observedEdgeIdOf(flow), egress: undefined, ingress: undefined };
      return e.names;
    }
    return workloadName(flow.source) === e.namesSource && workloadName(flow.destination) === e.namesDestination ? e.names : undefined;
  }

  clear(): void {
    this.bySource.clear();
    this.entries = 0;
    this.pending = null;
    this.hit = null;
  }

  get size(): number {
    return this.entries;
  }
}
