/**
 * A direct wire decoder for `observer.GetFlowsResponse`, for the agent's hot path. It reads
 * only the fields the domain Flow needs and skips the rest (Ethernet, L7 records, Summary,
 * policy correlation…), building the same proto-loader-shaped record proto-loader would
 * build for those fields; `decodedFromRecord` then maps it. So its output equals the
 * reference path (proto-loader decode → flowFromRecord) by construction, which
 * test/unit/agent/hubble/fast-decode.test.ts checks over every capture.
 *
 * Field numbers: Cilium v1.19.4 flow.proto / observer.proto (proto/hubble/).
 */
import { hubbleRoot } from '../../proto/codec/hubble-types.js';
import { decodedFromRecord, type Decoded } from './from-pb.js';

type Rec = Record<string, unknown>;

const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

/** Enum number → name, as proto-loader's `enums: String` gives them (unknown stays a number). */
function enumNames(fullName: string): (n: number) => string | number {
  const e = hubbleRoot().lookupEnum(fullName);
  const byId = new Map<number, string>();
  for (const [name, id] of Object.entries(e.values)) if (!byId.has(id)) byId.set(id, name);
  return (n) => byId.get(n) ?? n;
}

let enums:
  | {
      verdict: (n: number) => string | number;
      flowType: (n: number) => string | number;
      direction: (n: number) => string | number;
      point: (n: number) => string | number;
      reason: (n: number) => string | number;
      drop: (n: number) => string | number;
      ipVersion: (n: number) => string | number;
      lostSource: (n: number) => string | number;
      nodeState: (n: number) => string | number;
    }
  | undefined;

function names(): NonNullable<typeof enums> {
  enums ??= {
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
  return enums;
}

/**
 * NOTE: a node's Hubble names the same node in every message (twice: the flow and the
 * envelope), so the last node name is kept with its bytes and reused when the bytes match
 * (one memcmp instead of a decode). Same result either way.
 */
let lastNameBytes = Buffer.alloc(0);
let lastName = '';

function nodeNameString(buf: Buffer, start: number, end: number): string {
  if (end - start === lastNameBytes.length && lastNameBytes.compare(buf, start, end) === 0) return lastName;
  lastName = buf.toString('utf8', start, end);
  lastNameBytes = Buffer.from(buf.subarray(start, end));
  return lastName;
}

/** A cursor over one message's bytes. */
class Reader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos: number, end: number) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** Varint as a JS number (exact up to 2^53; int32 negatives come back as their low 32 bits, signed). */
  varint(): number {
    const buf = this.buf;
    if (this.pos >= this.end) throw new RangeError('truncated varint');
    let b = buf[this.pos++]!;
    if (b < 0x80) return b;
    let result = b & 0x7f;
    let shift = 7;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      b = buf[this.pos++]!;
      if (shift < 28) result |= (b & 0x7f) << shift;
      else result += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) break;
      shift += 7;
      if (shift > 63) throw new RangeError('varint too long');
    }
    return result;
  }

  /** int32: values ≥ 2^31 (negative numbers) wrap to their signed 32-bit value. */
  int32(): number {
    const v = this.varint();
    return v > 0x7fffffff ? Number(BigInt.asIntN(32, BigInt(v))) : v;
  }

  /** uint32 as proto-loader gives it (the low 32 bits). */
  uint32(): number {
    const v = this.varint();
    return v > 0xffffffff ? Number(BigInt.asUintN(32, BigInt(v))) : v;
  }

  len(): number {
    const n = this.varint();
    const end = this.pos + n;
    if (end > this.end) throw new RangeError('length past end of message');
    return end;
  }

  string(): string {
    const end = this.len();
    const s = this.buf.toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  /** A node name: see `nodeNameString`. */
  nodeName(): string {
    const end = this.len();
    const s = nodeNameString(this.buf, this.pos, end);
    this.pos = end;
    return s;
  }

  skip(wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        while (this.buf[this.pos++]! >= 0x80) if (this.pos >= this.end) throw new RangeError('truncated varint');
        return;
      case WIRE_I64:
        this.pos += 8;
        break;
      case WIRE_LEN:
        this.pos = this.len();
        return;
      case WIRE_I32:
        this.pos += 4;
        break;
      default:
        throw new RangeError(`unsupported wire type ${wire}`);
    }
    if (this.pos > this.end) throw new RangeError('field past end of message');
  }

  sub(): Reader {
    const end = this.len();
    const r = new Reader(this.buf, this.pos, end);
    this.pos = end;
    return r;
  }
}

function timestamp(r: Reader): Rec {
  const out: Rec = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    if (field === 1 && (tag & 7) === WIRE_VARINT) {
      // int64 seconds: negative values are 10-byte varints
      const v = r.varint();
      out['seconds'] = v >= 2 ** 63 ? Number(BigInt.asIntN(64, BigInt(v))) : v;
    } else if (field === 2 && (tag & 7) === WIRE_VARINT) out['nanos'] = r.int32();
    else r.skip(tag & 7);
  }
  return out;
}

/**
 * NOTE: the small sub-messages that repeat on every flow (a BoolValue, TCP flags, the event
 * type) decode to shared frozen records: the mapping only reads them, so sharing changes no
 * result and saves allocations on the hot path.
 */
const MAX_SHARED_RECORDS = 1024; // in practice a handful of each; cleared if ever full
const BOOL_UNSET: Rec = Object.freeze({});
const BOOL_TRUE: Rec = Object.freeze({ value: true });
const BOOL_FALSE: Rec = Object.freeze({ value: false });

function boolValue(r: Reader): Rec {
  let out = BOOL_UNSET;
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x08) out = r.varint() !== 0 ? BOOL_TRUE : BOOL_FALSE;
    else r.skip(tag & 7);
  }
  return out;
}

function ports(r: Reader, withFlags: boolean): Rec {
  const out: Rec = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    switch (tag) {
      case 0x08:
        out['source_port'] = r.uint32();
        break;
      case 0x10:
        out['destination_port'] = r.uint32();
        break;
      case 0x1a:
        if (withFlags) out['flags'] = tcpFlags(r.sub());
        else r.skip(WIRE_LEN);
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

const FLAG_NAMES = ['', 'FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'];

/** Flag records by (fields present, fields true), each a 9-bit mask. */
const flagRecords = new Map<number, Rec>();

function tcpFlags(r: Reader): Rec {
  let present = 0;
  let set = 0;
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    if ((tag & 7) === WIRE_VARINT && field >= 1 && field <= 9) {
      const bit = 1 << field;
      present |= bit;
      if (r.varint() !== 0) set |= bit;
      else set &= ~bit; // a repeated field: the last value wins
    } else r.skip(tag & 7);
  }
  const key = present * 1024 + set;
  let out = flagRecords.get(key);
  if (out === undefined) {
    const rec: Rec = {};
    for (let field = 1; field <= 9; field++) if (present & (1 << field)) rec[FLAG_NAMES[field]!] = (set & (1 << field)) !== 0;
    out = Object.freeze(rec);
    if (flagRecords.size >= MAX_SHARED_RECORDS) flagRecords.clear();
    flagRecords.set(key, out);
  }
  return out;
}

function typeCode(r: Reader): Rec {
  const out: Rec = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x08) out['type'] = r.uint32();
    else if (tag === 0x10) out['code'] = r.uint32();
    else r.skip(tag & 7);
  }
  return out;
}

const L4_NAMES = ['', 'TCP', 'UDP', 'ICMPv4', 'ICMPv6', 'SCTP', 'VRRP', 'IGMP'];

function layer4(r: Reader): Rec {
  const out: Rec = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    const field = tag >>> 3;
    if ((tag & 7) !== WIRE_LEN || field < 1 || field > 7) {
      r.skip(tag & 7);
      continue;
    }
    const name = L4_NAMES[field]!;
    const sub = r.sub();
    // A later oneof member replaces an earlier one, as protobufjs does.
    for (const k of L4_NAMES) if (k !== '' && k in out) delete out[k];
    if (field === 1) out[name] = ports(sub, true);
    else if (field === 2 || field === 5) out[name] = ports(sub, false);
    else if (field === 3 || field === 4) out[name] = typeCode(sub);
    else {
      // VRRP / IGMP: the Flow only needs to know the protocol.
      sub.pos = sub.end;
      out[name] = {};
    }
    out['protocol'] = name;
  }
  return out;
}

function ip(r: Reader): Rec {
  const out: Rec = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    switch (tag) {
      case 0x0a:
        out['source'] = r.string();
        break;
      case 0x12:
        out['destination'] = r.string();
        break;
      case 0x18:
        out['ipVersion'] = names().ipVersion(r.varint());
        break;
      default:
        r.skip(tag & 7);
    }
  }
  return out;
}

function workload(r: Reader): Rec {
  const out: Rec = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x0a) out['name'] = r.string();
    else if (tag === 0x12) out['kind'] = r.string();
    else r.skip(tag & 7);
  }
  return out;
}

/**
 * NOTE: endpoints repeat across flows (a node sees the same few pods over and over), so a
 * decoded Endpoint record is memoised by its exact wire bytes. Equal bytes decode to equal
 * records, so this changes no result; sharing the record (and its labels array) also lets
 * core's identity memo confirm a hit by reference. Bounded: cleared when full.
 */
const MAX_CACHED_ENDPOINTS = 4096;

interface CachedEndpoint {
  readonly bytes: Buffer;
  readonly record: Rec;
}
const endpointsBySample = new Map<number, CachedEndpoint>();

/** A cheap key from the length and up to 32 sampled bytes; a hit is confirmed by memcmp. */
function sampleKey(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  let h = len * 0x9e3779b1;
  const step = len > 32 ? (len / 32) | 0 : 1;
  for (let i = start; i < end; i += step) h = Math.imul(h ^ buf[i]!, 0x01000193);
  return h ^ buf[end - 1]!;
}

function cachedEndpoint(r: Reader): Rec {
  const end = r.len();
  const start = r.pos;
  r.pos = end;
  const key = sampleKey(r.buf, start, end);
  const hit = endpointsBySample.get(key);
  if (hit !== undefined && hit.bytes.length === end - start && hit.bytes.compare(r.buf, start, end) === 0) return hit.record;
  const record = endpoint(new Reader(r.buf, start, end));
  if (endpointsBySample.size >= MAX_CACHED_ENDPOINTS) endpointsBySample.clear();
  // A copy: the message buffer is not ours to keep.
  endpointsBySample.set(key, { bytes: Buffer.from(r.buf.subarray(start, end)), record });
  return record;
}

function endpoint(r: Reader): Rec {
  const out: Rec = {};
  let labels: string[] | undefined;
  let workloads: Rec[] | undefined;
  while (r.pos < r.end) {
    const tag = r.varint();
    switch (tag) {
      case 0x08:
        out['ID'] = r.uint32();
        break;
      case 0x10:
        out['identity'] = r.uint32();
        break;
      case 0x1a:
        out['namespace'] = r.string();
        break;
      case 0x22:
        (labels ??= []).push(r.string());
        break;
      case 0x2a:
        out['pod_name'] = r.string();
        break;
      case 0x32:
        (workloads ??= []).push(workload(r.sub()));
        break;
      case 0x3a:
        out['cluster_name'] = r.string();
        break;
      default:
        r.skip(tag & 7);
    }
  }
  if (labels) out['labels'] = labels;
  if (workloads) out['workloads'] = workloads;
  return out;
}

/** Event type records by (type, sub_type), for the common small values. */
const eventTypeRecords = new Map<number, Rec>();

function eventType(r: Reader): Rec {
  let type: number | undefined;
  let subType: number | undefined;
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x08) type = r.int32();
    else if (tag === 0x10) subType = r.int32();
    else r.skip(tag & 7);
  }
  const small = (v: number | undefined): boolean => v === undefined || (v >= 0 && v < 1024);
  if (!small(type) || !small(subType)) {
    const out: Rec = {};
    if (type !== undefined) out['type'] = type;
    if (subType !== undefined) out['sub_type'] = subType;
    return out;
  }
  const key = (type === undefined ? 1024 : type) * 2048 + (subType === undefined ? 1024 : subType);
  let out = eventTypeRecords.get(key);
  if (out === undefined) {
    const rec: Rec = {};
    if (type !== undefined) rec['type'] = type;
    if (subType !== undefined) rec['sub_type'] = subType;
    out = Object.freeze(rec);
    if (eventTypeRecords.size >= MAX_SHARED_RECORDS) eventTypeRecords.clear();
    eventTypeRecords.set(key, out);
  }
  return out;
}

/** The fields of flow.Flow that the domain Flow reads; everything else is skipped. */
function flow(r: Reader): Rec {
  const n = names();
  const out: Rec = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    switch (tag) {
      case 0x0a: // 1 time
        out['time'] = timestamp(r.sub());
        break;
      case 0x10: // 2 verdict
        out['verdict'] = n.verdict(r.varint());
        break;
      case 0x18: // 3 drop_reason
        out['drop_reason'] = r.uint32();
        break;
      case 0x2a: // 5 IP
        out['IP'] = ip(r.sub());
        break;
      case 0x32: // 6 l4
        out['l4'] = layer4(r.sub());
        break;
      case 0x42: // 8 source
        out['source'] = cachedEndpoint(r);
        break;
      case 0x4a: // 9 destination
        out['destination'] = cachedEndpoint(r);
        break;
      case 0x50: // 10 Type
        out['Type'] = n.flowType(r.varint());
        break;
      case 0x5a: // 11 node_name
        out['node_name'] = r.nodeName();
        break;
      default:
        decodeRareField(r, tag, out, n);
    }
  }
  return out;
}

/** Fields with numbers ≥ 16 (two-byte tags) and anything else. */
function decodeRareField(r: Reader, tag: number, out: Rec, n: ReturnType<typeof names>): void {
  switch (tag) {
    case (16 << 3) | WIRE_VARINT: // reply
      out['reply'] = r.varint() !== 0;
      return;
    case (19 << 3) | WIRE_LEN: // event_type
      out['event_type'] = eventType(r.sub());
      return;
    case (22 << 3) | WIRE_VARINT: // traffic_direction
      out['traffic_direction'] = n.direction(r.varint());
      return;
    case (24 << 3) | WIRE_VARINT: // trace_observation_point
      out['trace_observation_point'] = n.point(r.varint());
      return;
    case (25 << 3) | WIRE_VARINT: // drop_reason_desc
      out['drop_reason_desc'] = n.drop(r.varint());
      return;
    case (26 << 3) | WIRE_LEN: // is_reply
      out['is_reply'] = boolValue(r.sub());
      return;
    case (34 << 3) | WIRE_LEN: // uuid
      out['uuid'] = r.string();
      return;
    case (36 << 3) | WIRE_VARINT: // trace_reason
      out['trace_reason'] = n.reason(r.varint());
      return;
    default:
      r.skip(tag & 7);
  }
}

function lostEvent(r: Reader): Rec {
  const out: Rec = {};
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x08) out['source'] = names().lostSource(r.varint());
    else if (tag === 0x10) out['num_events_lost'] = r.varint();
    else r.skip(tag & 7);
  }
  return out;
}

function nodeStatus(r: Reader): Rec {
  const out: Rec = {};
  const nodes: string[] = [];
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag === 0x08) out['state_change'] = names().nodeState(r.varint());
    else if (tag === 0x12) nodes.push(r.string());
    else if (tag === 0x1a) out['message'] = r.string();
    else r.skip(tag & 7);
  }
  if (nodes.length > 0) out['node_names'] = nodes;
  return out;
}

/** Decodes one GetFlowsResponse message. Throws RangeError on malformed bytes. */
export function fastDecodeResponse(bytes: Buffer): Decoded {
  return decodedFromRecord(fastDecodeRecord(bytes));
}

/** The partial proto-loader-shaped record (only the fields the domain Flow reads). */
export function fastDecodeRecord(bytes: Buffer): Rec {
  const r = new Reader(bytes, 0, bytes.length);
  const out: Rec = {};
  let envelopeTime: Reader | undefined;
  while (r.pos < r.end) {
    const tag = r.varint();
    switch (tag) {
      case 0x0a:
        delete out['lost_events'];
        delete out['node_status'];
        out['flow'] = flow(r.sub());
        break;
      case 0x12:
        delete out['flow'];
        delete out['lost_events'];
        out['node_status'] = nodeStatus(r.sub());
        break;
      case 0x1a:
        delete out['flow'];
        delete out['node_status'];
        out['lost_events'] = lostEvent(r.sub());
        break;
      case (1000 << 3) | WIRE_LEN:
        out['node_name'] = r.nodeName();
        break;
      case (1001 << 3) | WIRE_LEN:
        // The envelope time is only a fallback for a flow without its own: decode it last.
        envelopeTime = r.sub();
        break;
      default:
        if (tag >>> 3 === 0) throw new RangeError('invalid field number 0');
        r.skip(tag & 7);
    }
  }
  if (r.pos !== r.end) throw new RangeError('message overruns its length');
  if (envelopeTime !== undefined) {
    const flowRec = out['flow'] as Rec | undefined;
    out['time'] = flowRec !== undefined && flowRec['time'] !== undefined ? FLOW_HAS_TIME : timestamp(envelopeTime);
  }
  return out;
}

/** Stands in for an envelope time that is never read (the flow has its own). */
const FLOW_HAS_TIME: Rec = Object.freeze({});
