/**
 * The simulated datapath's policy decisions, made by the same engine the agents use
 * (core/policy), so "what the datapath enforces" and "what the agent predicts" cannot drift
 * apart. Each connection is turned into the flow Hubble would show for its SYN and evaluated
 * for one side; named ports resolve from the simulated pods' container ports.
 */
import { flowFromRecord } from '../core/flow/index.js';
import {
  createEvaluator,
  parsePolicy,
  type PolicyEvaluator,
  type ClusterNamedPortResolver,
  type NamedPortResolver,
  type Policy,
} from '../core/policy/index.js';
import type { Cluster } from './cluster.js';
import { peerIp, type Connection, type Peer } from './connection.js';
import { NOT_ENFORCED, type PolicyJudge, type SideDecision } from './enforcement.js';
import { externalEndpoint, hostEndpoint, podEndpoint, type EndpointRecord, type FlowRecord } from './records.js';

/** Compiled sets kept at once; one per distinct combination of enforcing contracts. */
const MAX_SETS = 64;

export class CorePolicyJudge implements PolicyJudge {
  private readonly sets = new Map<string, PolicyEvaluator>();
  private readonly namedPorts: NamedPortResolver;
  /** Egress named ports over every pod, as Cilium resolves them (netpol.md 4.3). */
  private readonly clusterNamedPorts: ClusterNamedPortResolver;
  /** Manifests that did not parse (the control plane validates them first; counted, skipped). */
  invalidPolicies = 0;

  constructor(cluster: Cluster) {
    const byPod = new Map(cluster.pods.map((p) => [`${p.namespace}/${p.name}`, p]));
    this.namedPorts = (namespace, podName, portName, protocol) => {
      const pod = byPod.get(`${namespace}/${podName}`);
      if (!pod) return undefined;
      return pod.ports.find((p) => p.name === portName && p.protocol === protocol)?.port ?? null;
    };
    const numbers = new Map<string, Set<number>>();
    for (const pod of cluster.pods) {
      for (const p of pod.ports) {
        if (p.name === null) continue;
        const key = `${p.name}/${p.protocol}`;
        let set = numbers.get(key);
        if (set === undefined) numbers.set(key, (set = new Set()));
        set.add(p.port);
      }
    }
    this.clusterNamedPorts = (portName, protocol) => {
      const set = numbers.get(`${portName}/${protocol}`);
      return set !== undefined && set.size === 1 ? [...set][0]! : null;
    };
  }

  decide(setKey: string, policies: readonly unknown[], conn: Connection, side: 'egress' | 'ingress'): SideDecision {
    const set = this.compiled(setKey, policies);
    const parsed = flowFromRecord(synRecord(conn));
    if (!parsed.ok) return NOT_ENFORCED;
    const ev = set.evaluate(parsed.value, { egress: side === 'egress', ingress: side === 'ingress' }, { namedPorts: this.namedPorts, clusterNamedPorts: this.clusterNamedPorts });
    const verdict = side === 'egress' ? ev.egress : ev.ingress;
    if (verdict === 'none') return NOT_ENFORCED;
    // An allow with no admitting policy means no policy isolates the pod in this direction.
    const enforced = verdict !== 'allow' || ev.policies.length > 0;
    // NOTE: a real datapath admits only what a rule matches, so an undecidable side is dropped.
    return { enforced, allowed: verdict === 'allow' };
  }

  private compiled(key: string, policies: readonly unknown[]): PolicyEvaluator {
    const hit = this.sets.get(key);
    if (hit) return hit;
    const parsed: Policy[] = [];
    policies.forEach((raw, i) => {
      const r = parsePolicy(raw, `policies[${i}]`);
      if (r.ok) parsed.push(r.value);
      else this.invalidPolicies++;
    });
    const set = createEvaluator(parsed);
    if (this.sets.size >= MAX_SETS) this.sets.clear();
    this.sets.set(key, set);
    return set;
  }
}

function endpointOf(peer: Peer): EndpointRecord {
  switch (peer.kind) {
    case 'pod':
      // Evaluated as if observed on the pod's own node: both sides carry their IDs.
      return podEndpoint(peer.pod, peer.workload, peer.pod.node);
    case 'external':
      return externalEndpoint(peer.external);
    case 'host':
      return hostEndpoint();
  }
}

/** The SYN record a connection starts with, as Hubble would print it (no time, no node). */
export function synRecord(conn: Connection): FlowRecord {
  return {
    time: { seconds: 0, nanos: 0 },
    uuid: '',
    verdict: 'FORWARDED',
    IP: { source: peerIp(conn.src), destination: peerIp(conn.dst), ipVersion: 'IPv4' },
    l4:
      conn.protocol === 'TCP'
        ? { TCP: { source_port: conn.srcPort, destination_port: conn.dstPort, flags: { SYN: true } }, protocol: 'TCP' }
        : { UDP: { source_port: conn.srcPort, destination_port: conn.dstPort }, protocol: 'UDP' },
    source: endpointOf(conn.src),
    destination: endpointOf(conn.dst),
    Type: 'L3_L4',
    node_name: 'sim',
    event_type: { type: 4 },
    trace_reason: 'NEW',
    is_reply: { value: false },
    ...(conn.dst.kind === 'external' && conn.dst.external.dns.length > 0 ? { destination_names: [...conn.dst.external.dns] } : {}),
    Summary: '',
  };
}
