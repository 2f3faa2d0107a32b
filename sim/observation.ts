/**
 * What Hubble on each node reports for one connection attempt, under Cilium's default
 * monitor aggregation (../shared/docs/hubble.md section 6): policy-verdict events only
 * where a direction is enforced (one per new connection, one per denied packet), a drop
 * event per denied packet, and TO_OVERLAY / TO_ENDPOINT / TO_STACK traces for the SYN,
 * the reply and the first ACK. Endpoint IDs appear only on the node that hosts the endpoint.
 */
import type { SimNode } from './cluster.js';
import { peerIp, peerNode, type Connection, type Peer } from './connection.js';
import type { SideDecision } from './enforcement.js';
import type { Random } from './random.js';
import {
  EMITTER,
  EVENT_DROP,
  EVENT_POLICY_VERDICT,
  EVENT_TRACE,
  POLICY_DENIED,
  TRACE_SUB_TYPE,
  externalEndpoint,
  podEndpoint,
  tcpSummary,
  timestamp,
  type EndpointRecord,
  type FlowRecord,
  type TcpFlagsRecord,
} from './records.js';

export interface Observed {
  readonly node: SimNode;
  readonly record: FlowRecord;
}

export interface AttemptResult {
  readonly events: readonly Observed[];
  /** `dropped` when a policy denied the attempt (the client will retransmit). */
  readonly outcome: 'established' | 'dropped';
}

function endpointAt(peer: Peer, node: SimNode): EndpointRecord {
  switch (peer.kind) {
    case 'pod':
      return podEndpoint(peer.pod, peer.workload, node);
    case 'external':
      return externalEndpoint(peer.external);
    case 'host':
      return peer.node.name === node.name ? { identity: 1, labels: ['reserved:host'] } : { identity: 6, labels: ['reserved:remote-node'] };
  }
}

interface PacketSpec {
  readonly node: SimNode;
  /** true: client → server; false: the server's reply. */
  readonly forward: boolean;
  readonly flags: TcpFlagsRecord;
  readonly eventType: number;
  readonly subType?: number;
  readonly point?: 'TO_ENDPOINT' | 'TO_OVERLAY' | 'TO_STACK';
  readonly reason?: 'NEW' | 'ESTABLISHED' | 'REPLY';
  readonly isReply?: boolean;
  readonly direction?: 'INGRESS' | 'EGRESS';
  readonly denied?: boolean;
  readonly matchType?: number;
}

/** Simulates one attempt (the first SYN, or a retransmit) at `atMs`. */
export function observeAttempt(
  conn: Connection,
  decisions: { readonly egress: SideDecision; readonly ingress: SideDecision },
  atMs: number,
  random: Random,
): AttemptResult {
  const events: Observed[] = [];
  const srcNode = peerNode(conn.src);
  const dstNode = peerNode(conn.dst);
  if (!srcNode) throw new Error('the simulator only originates connections inside the cluster');
  const tcp = conn.protocol === 'TCP';
  let hop = 0;

  const emit = (p: PacketSpec): void => {
    // Hops of one packet are microseconds apart; nanos keep them ordered within a ms.
    hop++;
    const from = p.forward ? conn.src : conn.dst;
    const to = p.forward ? conn.dst : conn.src;
    const sport = p.forward ? conn.srcPort : conn.dstPort;
    const dport = p.forward ? conn.dstPort : conn.srcPort;
    const record: FlowRecord = {
      time: timestamp(atMs, hop * 17_000),
      uuid: random.uuid(),
      emitter: { ...EMITTER },
      verdict: p.denied === true ? 'DROPPED' : 'FORWARDED',
      IP: { source: peerIp(from), destination: peerIp(to), ipVersion: 'IPv4' },
      l4: tcp
        ? { TCP: { source_port: sport, destination_port: dport, flags: p.flags }, protocol: 'TCP' }
        : { UDP: { source_port: sport, destination_port: dport }, protocol: 'UDP' },
      source: endpointAt(from, p.node),
      destination: endpointAt(to, p.node),
      Type: 'L3_L4',
      node_name: p.node.name,
      event_type: p.subType === undefined || p.subType === 0 ? { type: p.eventType } : { type: p.eventType, sub_type: p.subType },
      Summary: tcp ? tcpSummary(p.flags) : 'UDP',
    };
    if (p.denied === true) {
      record.drop_reason = POLICY_DENIED;
      record.drop_reason_desc = 'POLICY_DENIED';
    }
    if (p.direction) record.traffic_direction = p.direction;
    if (p.point) record.trace_observation_point = p.point;
    if (p.reason) record.trace_reason = p.reason;
    if (p.isReply !== undefined) record.is_reply = { value: p.isReply };
    if (to.kind === 'external' && to.external.dns.length > 0) record.destination_names = [...to.external.dns];
    if (p.matchType !== undefined) record.policy_match_type = p.matchType;
    if (p.point === 'TO_OVERLAY') record.interface = { index: 6, name: 'cilium_vxlan' };
    if (conn.service && p.forward) record.destination_service = { ...conn.service };
    events.push({ node: p.node, record });
  };

  const syn: TcpFlagsRecord = tcp ? { SYN: true } : {};
  const synAck: TcpFlagsRecord = tcp ? { SYN: true, ACK: true } : {};
  const verdictAndMaybeDrop = (node: SimNode, direction: 'INGRESS' | 'EGRESS', d: SideDecision): boolean => {
    if (!d.enforced) return false;
    if (d.allowed) {
      emit({ node, forward: true, flags: syn, eventType: EVENT_POLICY_VERDICT, direction, isReply: false, matchType: 2 });
      return false;
    }
    // A denied packet: a policy-verdict event (no is_reply: no CT entry is created) and the drop.
    emit({ node, forward: true, flags: syn, eventType: EVENT_POLICY_VERDICT, direction, denied: true, matchType: 0 });
    emit({ node, forward: true, flags: syn, eventType: EVENT_DROP, subType: POLICY_DENIED, direction, denied: true });
    return true;
  };

  // Egress, on the client's node.
  if (conn.src.kind === 'pod' && verdictAndMaybeDrop(srcNode, 'EGRESS', decisions.egress)) return { events, outcome: 'dropped' };

  if (!dstNode) {
    // To the world: leaves through the host stack; the reply comes back to the endpoint.
    emit({ node: srcNode, forward: true, flags: syn, eventType: EVENT_TRACE, subType: TRACE_SUB_TYPE.TO_STACK, point: 'TO_STACK', reason: 'NEW', isReply: false, direction: 'EGRESS' });
    emit({ node: srcNode, forward: false, flags: synAck, eventType: EVENT_TRACE, point: 'TO_ENDPOINT', reason: 'REPLY', isReply: true, direction: 'EGRESS' });
    return { events, outcome: 'established' };
  }

  const crossNode = srcNode.name !== dstNode.name;
  // NOTE: TO_OVERLAY has no conntrack state, so it carries neither is_reply nor direction.
  if (crossNode) emit({ node: srcNode, forward: true, flags: syn, eventType: EVENT_TRACE, subType: TRACE_SUB_TYPE.TO_OVERLAY, point: 'TO_OVERLAY' });
  if (verdictAndMaybeDrop(dstNode, 'INGRESS', decisions.ingress)) return { events, outcome: 'dropped' };
  emit({ node: dstNode, forward: true, flags: syn, eventType: EVENT_TRACE, point: 'TO_ENDPOINT', reason: 'NEW', isReply: false, direction: 'INGRESS' });

  // The reply.
  if (conn.src.kind === 'host') {
    emit({ node: dstNode, forward: false, flags: synAck, eventType: EVENT_TRACE, subType: TRACE_SUB_TYPE.TO_STACK, point: 'TO_STACK', reason: 'REPLY', isReply: true, direction: 'INGRESS' });
    return { events, outcome: 'established' };
  }
  if (crossNode) emit({ node: dstNode, forward: false, flags: synAck, eventType: EVENT_TRACE, subType: TRACE_SUB_TYPE.TO_OVERLAY, point: 'TO_OVERLAY' });
  emit({ node: srcNode, forward: false, flags: synAck, eventType: EVENT_TRACE, point: 'TO_ENDPOINT', reason: 'REPLY', isReply: true, direction: 'EGRESS' });

  // The handshake's final ACK (TCP): a continuation, which the agent must not count.
  if (tcp) {
    if (crossNode) emit({ node: srcNode, forward: true, flags: { ACK: true }, eventType: EVENT_TRACE, subType: TRACE_SUB_TYPE.TO_OVERLAY, point: 'TO_OVERLAY' });
    emit({ node: dstNode, forward: true, flags: { ACK: true }, eventType: EVENT_TRACE, point: 'TO_ENDPOINT', reason: 'ESTABLISHED', isReply: false, direction: 'INGRESS' });
  }
  return { events, outcome: 'established' };
}
