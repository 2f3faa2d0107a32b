/**
 * The proto-loader-shaped records of the fast Hubble decoder (only the fields the domain Flow
 * reads), for what does not go straight to a Flow: lost events, node status, and flows the
 * reference mapping must judge (so its problems read exactly as on the reference path).
 */
import { hubbleRoot } from '../../../proto/codec/hubble-types.js';
import { L4_ICMPV4, L4_ICMPV6, L4_TCP, type FlowScan, type TimeSlot } from './flow-scan.js';
import type { Rec } from './shared-records.js';
import { D_FLOW, type WireReader } from './wire-reader.js';

/** Enum number → name, as proto-loader's `enums: String` gives them (unknown stays a number). */
function enumNames(fullName: string): (n: number) => string | number {
  const e = hubbleRoot().lookupEnum(fullName);
  const byId = new Map<number, string>();
  for (const [name, id] of Object.entries(e.values)) if (!byId.has(id)) byId.set(id, name);
  return (n) => byId.get(n) ?? n;
}

/** The enum names a decoder needs, read from the Hubble schema once per decoder. */
export interface EnumNames {
  readonly verdict: (n: number) => string | number;
  readonly flowType: (n: number) => string | number;
  readonly direction: (n: number) => string | number;
  readonly point: (n: number) => string | number;
  readonly reason: (n: number) => string | number;
  readonly drop: (n: number) => string | number;
  readonly ipVersion: (n: number) => string | number;
  readonly lostSource: (n: number) => string | number;
  readonly nodeState: (n: number) => string | number;
}

export function enumNamesOfSchema(): EnumNames {
  return {
    verdict: enumNames('flow.Verdict'),
    flowType: enumNames('flow.FlowType'),
    direction: enumNames('flow.TrafficDirection'),
    point: enumNames('flow.TraceObservationPoint'),
    reason: enumNames('flow.TraceReason'),
    drop: enumNames('flow.DropReason'),
    ipVersion: enumNames('flow.IPVersion'),
    lostSource: enumNames('flow.LostEventSource'),
    nodeState: enumNames('relay.NodeState'),
  };
}

const L4_NAMES = ['', 'TCP', 'UDP', 'ICMPv4', 'ICMPv6', 'SCTP', 'VRRP', 'IGMP'];

export function timeRecord(t: TimeSlot): Rec {
  const out: Rec = {};
  if (t.hasSeconds) out['seconds'] = t.seconds;
  if (t.hasNanos) out['nanos'] = t.nanos;
  return out;
}

function layer4Record(f: FlowScan): Rec {
  const out: Rec = {};
  const member = f.l4;
  if (member === 0) return out;
  const body: Rec = {};
  if (member <= 5) {
    const icmp = member === L4_ICMPV4 || member === L4_ICMPV6;
    if (f.hasP1) body[icmp ? 'type' : 'source_port'] = f.p1;
    if (f.hasP2) body[icmp ? 'code' : 'destination_port'] = f.p2;
    if (member === L4_TCP && f.flags !== undefined) body['flags'] = f.flags;
  }
  const name = L4_NAMES[member]!;
  out[name] = body;
  out['protocol'] = name;
  return out;
}

function ipRecord(buf: Buffer, f: FlowScan, n: EnumNames): Rec {
  const out: Rec = {};
  if (f.ipSourceStart >= 0) out['source'] = buf.toString('utf8', f.ipSourceStart, f.ipSourceEnd);
  if (f.ipDestinationStart >= 0) out['destination'] = buf.toString('utf8', f.ipDestinationStart, f.ipDestinationEnd);
  if (f.hasIpVersion) out['ipVersion'] = n.ipVersion(f.ipVersion);
  return out;
}

/** The proto-loader-shaped record of what was scanned (only the fields the domain Flow reads). */
export function flowRecord(buf: Buffer, f: FlowScan, n: EnumNames): Rec {
  const out: Rec = {};
  if (f.time.has) out['time'] = timeRecord(f.time);
  if (f.hasVerdict) out['verdict'] = n.verdict(f.verdict);
  if (f.hasDropReason) out['drop_reason'] = f.dropReason;
  if (f.hasIp) out['IP'] = ipRecord(buf, f, n);
  if (f.hasL4) out['l4'] = layer4Record(f);
  if (f.source !== undefined) out['source'] = f.source;
  if (f.destination !== undefined) out['destination'] = f.destination;
  if (f.hasType) out['Type'] = n.flowType(f.type);
  if (f.node !== undefined) out['node_name'] = f.node;
  if (f.hasReply) out['reply'] = f.reply;
  if (f.eventType !== undefined) out['event_type'] = f.eventType;
  if (f.hasDirection) out['traffic_direction'] = n.direction(f.direction);
  if (f.hasPoint) out['trace_observation_point'] = n.point(f.point);
  if (f.hasDropDesc) out['drop_reason_desc'] = n.drop(f.dropDesc);
  if (f.isReply !== undefined) out['is_reply'] = f.isReply;
  if (f.names !== undefined) out['destination_names'] = f.names;
  if (f.uuidStart >= 0) out['uuid'] = buf.toString('utf8', f.uuidStart, f.uuidEnd);
  if (f.hasTraceReason) out['trace_reason'] = n.reason(f.traceReason);
  return out;
}

export function lostEvent(r: WireReader, n: EnumNames): Rec {
  const out: Rec = {};
  while (r.pos < r.end) {
    const tag = r.u32();
    const field = tag >>> 3;
    if (field === 1) out['source'] = n.lostSource(r.i32());
    else if (field === 2) out['num_events_lost'] = r.long(true);
    else r.unknown(tag, D_FLOW);
  }
  return out;
}

export function nodeStatus(r: WireReader, n: EnumNames): Rec {
  const out: Rec = {};
  let nodes: string[] | undefined;
  while (r.pos < r.end) {
    const tag = r.u32();
    const field = tag >>> 3;
    if (field === 1) out['state_change'] = n.nodeState(r.i32());
    else if (field === 2) (nodes ??= []).push(r.string());
    else if (field === 3) out['message'] = r.string();
    else r.unknown(tag, D_FLOW);
  }
  if (nodes) out['node_names'] = nodes;
  return out;
}

