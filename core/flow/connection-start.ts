/**
 * The one definition of "a connection start" (product.md "Evaluating a flow" 1, hubble.md
 * 6.3), as far as a single flow tells it: which flows are not L3/L4, have no 5-tuple, are a
 * non-policy drop, a reply, a continuation, or have no side local to the node. What needs
 * memory of earlier flows (a duplicate, the reverse of a recent connection) is the
 * ConnectionTracker's. Both the tracker (from a domain Flow) and the agent's wire decoder
 * (from the bytes, to skip a flow without building it) fill in `StartFacts` and ask here.
 */
import type { Flow } from './flow.js';

export const SKIP_REASONS = [
  /** L7, SOCK (trace-sock) or other non-L3/L4 events. */
  'not-l3-l4',
  /** No IP addresses or no layer-4 protocol: nothing to key a connection on. */
  'no-five-tuple',
  /** DROPPED for a reason other than policy (bad checksum, no backend…): not a connection. */
  'dropped-not-policy',
  /** `is_reply`/`reply` true, `trace_reason` REPLY, a SYN+ACK, an echo reply, or the reverse of a connection seen within the TTL. */
  'reply',
  /** A continuation: TCP without SYN, `trace_reason` ESTABLISHED/RELATED, ICMP errors. */
  'not-connection-start',
  /** The same node, 5-tuple and endpoint identities were counted within the TTL (another observation point, a retransmit). */
  'duplicate',
  /** Neither `source.ID` nor `destination.ID` is set: no side of this flow is enforced on this node. */
  'no-local-endpoint',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** What Hubble's conntrack says of a packet (`trace_reason`), in the classes that decide a start. */
export const TRACE_OTHER = 0;
/** NEW or REOPENED. */
export const TRACE_START = 1;
/** ESTABLISHED or RELATED. */
export const TRACE_CONTINUATION = 2;
export const TRACE_REPLY = 3;
export type TraceClass = typeof TRACE_OTHER | typeof TRACE_START | typeof TRACE_CONTINUATION | typeof TRACE_REPLY;

export function traceClassOf(reason: string | null): TraceClass {
  switch (reason) {
    case 'NEW':
    case 'REOPENED':
      return TRACE_START;
    case 'ESTABLISHED':
    case 'RELATED':
      return TRACE_CONTINUATION;
    case 'REPLY':
      return TRACE_REPLY;
    default:
      return TRACE_OTHER;
  }
}

/** Hubble's policy drop reasons: default deny (133) and an explicit deny rule (181). */
export function isPolicyDrop(flow: Flow): boolean {
  return flow.observed === 'DROPPED' && (flow.dropReason === 'POLICY_DENIED' || flow.dropReason === 'POLICY_DENY');
}

/** An ICMP message that answers (echo reply) or reports on (errors) another packet, by type. */
export function icmpKind(v6: boolean, type: number): 'reply' | 'related' | null {
  if (!v6) {
    if (type === 0) return 'reply'; // echo reply
    if (type === 3 || type === 4 || type === 5 || type === 11 || type === 12) return 'related';
  } else {
    if (type === 129) return 'reply';
    if (type >= 1 && type <= 4) return 'related';
  }
  return null;
}

/** The facts of one flow that decide whether it may start a connection; filled in place (no allocation per flow). */
export interface StartFacts {
  /** An L3/L4 event, or a field-masked one (no `Type`, but an l4 and no L7/sock event type). */
  l3l4: boolean;
  /** IP addresses and a layer-4 protocol. */
  fiveTuple: boolean;
  dropped: boolean;
  policyDrop: boolean;
  /** `is_reply` (or the older `reply`) is true. */
  isReply: boolean;
  trace: TraceClass;
  /** A TCP record with flags, and which of SYN and ACK are set. */
  tcpFlags: boolean;
  syn: boolean;
  ack: boolean;
  icmp: 'reply' | 'related' | null;
  /** `source.ID` / `destination.ID` is set: that side is an endpoint of this node. */
  localSource: boolean;
  localDestination: boolean;
}

export const newStartFacts = (): StartFacts => ({
  l3l4: false,
  fiveTuple: false,
  dropped: false,
  policyDrop: false,
  isReply: false,
  trace: TRACE_OTHER,
  tcpFlags: false,
  syn: false,
  ack: false,
  icmp: null,
  localSource: false,
  localDestination: false,
});

/** A domain Flow's facts, into `out`. */
export function startFactsOf(flow: Flow, out: StartFacts): StartFacts {
  const l4 = flow.l4;
  out.l3l4 = flow.type === 'L3_L4' || (flow.type === 'UNKNOWN_TYPE' && l4 !== null && flow.eventType !== 129 && flow.eventType !== 7);
  out.fiveTuple = l4 !== null && flow.ip !== null;
  out.dropped = flow.observed === 'DROPPED';
  out.policyDrop = isPolicyDrop(flow);
  out.isReply = flow.isReply === true;
  out.trace = traceClassOf(flow.traceReason);
  const flags = l4 === null ? null : l4.flags;
  out.tcpFlags = flags !== null;
  out.syn = flags !== null && flags.SYN;
  out.ack = flags !== null && flags.ACK;
  out.icmp = l4 === null || l4.icmpType === null ? null : l4.protocol === 'ICMPv4' ? icmpKind(false, l4.icmpType) : l4.protocol === 'ICMPv6' ? icmpKind(true, l4.icmpType) : null;
  out.localSource = flow.source.id !== null;
  out.localDestination = flow.destination.id !== null;
  return out;
}

/** Why a flow with these facts is not a connection start, or null when it may be one (the tracker then checks duplicates and replies). */
export function startSkipReason(f: StartFacts): SkipReason | null {
  if (!f.l3l4) return 'not-l3-l4';
  if (!f.fiveTuple) return 'no-five-tuple';
  if (f.dropped && !f.policyDrop) return 'dropped-not-policy';

  if (f.isReply || f.trace === TRACE_REPLY) return 'reply';
  if (f.tcpFlags && f.syn && f.ack) return 'reply';
  if (f.icmp === 'reply') return 'reply';

  if (f.trace === TRACE_CONTINUATION) return 'not-connection-start';
  if (f.trace !== TRACE_START) {
    // No conntrack verdict from Hubble: TCP starts with SYN && !ACK; a policy drop of any
    // packet is an attempt; other protocols, and TCP records without flags (never in real
    // L3/L4 captures; hand-written lines), start at the first sighting (the tracker checks).
    if (f.tcpFlags && !f.syn && !f.policyDrop) return 'not-connection-start';
    if (f.icmp === 'related') return 'not-connection-start';
  }
  if (!f.localSource && !f.localDestination) return 'no-local-endpoint';
  return null;
}
