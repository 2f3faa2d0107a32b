/**
 * One Flow as the fast Hubble decoder reads it from the wire: the fields the domain Flow
 * needs, kept as primitives and byte ranges in a reused `FlowScan` (strings are only made when
 * a Flow is built), everything else skipped.
 */
import { boolValue, type Rec, type SharedRecords } from './shared-records.js';
import { D_FLOW, D_IN_FLOW, D_IN_L4, type WireReader } from './wire-reader.js';

/** Where a timestamp's fields land (one for the flow's time, one for the envelope's). */
export interface TimeSlot {
  has: boolean;
  hasSeconds: boolean;
  seconds: number;
  hasNanos: boolean;
  nanos: number;
}
export const newTimeSlot = (): TimeSlot => ({ has: false, hasSeconds: false, seconds: 0, hasNanos: false, nanos: 0 });

export function timestampInto(r: WireReader, t: TimeSlot, depth: number): void {
  // A repeated message field replaces the earlier one (protobufjs does not merge).
  t.has = true;
  t.hasSeconds = false;
  t.seconds = 0;
  t.hasNanos = false;
  t.nanos = 0;
  while (r.pos < r.end) {
    const tag = r.u32();
    switch (tag >>> 3) {
      case 1:
        t.hasSeconds = true;
        t.seconds = r.long(false);
        break;
      case 2:
        t.hasNanos = true;
        t.nanos = r.i32();
        break;
      default:
        r.unknown(tag, depth);
    }
  }
}

export const L4_NAMES = ['', 'TCP', 'UDP', 'ICMPv4', 'ICMPv6', 'SCTP', 'VRRP', 'IGMP'];
export const L4_TCP = 1;
export const L4_ICMPV4 = 3;
export const L4_ICMPV6 = 4;

/**
 * One Flow as read from the wire, in primitives and byte ranges (strings are only made when a
 * Flow is built). Reset at every Flow field, since a later one replaces an earlier one.
 */
export class FlowScan {
  readonly time = newTimeSlot();
  hasVerdict = false;
  verdict = 0;
  hasDropReason = false;
  dropReason = 0;
  hasIp = false;
  ipSourceStart = -1;
  ipSourceEnd = -1;
  ipDestinationStart = -1;
  ipDestinationEnd = -1;
  hasIpVersion = false;
  ipVersion = 0;
  hasL4 = false;
  /** The Layer4 oneof member protobufjs's toObject names (the last declared one present), 0 for none. */
  l4 = 0;
  /** That member's fields: ports (TCP/UDP/SCTP) or type and code (ICMP). */
  hasP1 = false;
  p1 = 0;
  hasP2 = false;
  p2 = 0;
  flags: Rec | undefined = undefined;
  source: Rec | undefined = undefined;
  destination: Rec | undefined = undefined;
  hasType = false;
  type = 0;
  node: string | undefined = undefined;
  hasReply = false;
  reply = false;
  eventType: Rec | undefined = undefined;
  hasDirection = false;
  direction = 0;
  hasPoint = false;
  point = 0;
  hasDropDesc = false;
  dropDesc = 0;
  isReply: Rec | undefined = undefined;
  uuidStart = -1;
  uuidEnd = -1;
  hasTraceReason = false;
  traceReason = 0;
  /** `destination_names` (field 14): DNS names toFQDNs policies read; undefined when absent. */
  names: string[] | undefined = undefined;
  /** Temporaries for one Layer4 member body, copied into the fields above when that member is the one kept. */
  readonly body = { hasP1: false, p1: 0, hasP2: false, p2: 0, flags: undefined as Rec | undefined };

  reset(): void {
    this.time.has = false;
    this.hasVerdict = false;
    this.hasDropReason = false;
    this.hasIp = false;
    this.hasL4 = false;
    this.l4 = 0;
    this.source = undefined;
    this.destination = undefined;
    this.hasType = false;
    this.node = undefined;
    this.hasReply = false;
    this.eventType = undefined;
    this.hasDirection = false;
    this.hasPoint = false;
    this.hasDropDesc = false;
    this.isReply = undefined;
    this.uuidStart = -1;
    this.hasTraceReason = false;
    this.names = undefined;
  }
}


/** TCP / UDP / SCTP: ports (and TCP's flags). ICMP: type and code, also fields 1 and 2. */
function l4Body(r: WireReader, member: number, shared: SharedRecords, body: FlowScan['body']): void {
  body.hasP1 = false;
  body.p1 = 0;
  body.hasP2 = false;
  body.p2 = 0;
  body.flags = undefined;
  const known = member <= 5; // VRRP and IGMP: the Flow only needs to know the protocol
  while (r.pos < r.end) {
    const tag = r.u32();
    const field = tag >>> 3;
    if (known && field === 1) {
      body.hasP1 = true;
      body.p1 = r.u32();
    } else if (known && field === 2) {
      body.hasP2 = true;
      body.p2 = r.u32();
    } else if (member === L4_TCP && field === 3) {
      const outer = r.enter();
      body.flags = shared.tcpFlags(r);
      r.leave(outer);
    } else r.unknown(tag, D_IN_L4);
  }
}

function layer4Into(r: WireReader, f: FlowScan, shared: SharedRecords): void {
  const body = f.body;
  f.hasL4 = true;
  f.l4 = 0;
  while (r.pos < r.end) {
    const tag = r.u32();
    const member = tag >>> 3;
    if (member < 1 || member > 7) {
      r.unknown(tag, D_IN_FLOW);
      continue;
    }
    const outer = r.enter();
    l4Body(r, member, shared, body);
    r.leave(outer);
    // Every member is decoded (so a malformed one is refused); protobufjs keeps them all and
    // its toObject names the last declared one present, with that member's last body.
    if (member >= f.l4) {
      f.l4 = member;
      f.hasP1 = body.hasP1;
      f.p1 = body.p1;
      f.hasP2 = body.hasP2;
      f.p2 = body.p2;
      f.flags = body.flags;
    }
  }
}

function ipInto(r: WireReader, f: FlowScan): void {
  f.hasIp = true;
  f.ipSourceStart = -1;
  f.ipDestinationStart = -1;
  f.hasIpVersion = false;
  while (r.pos < r.end) {
    const tag = r.u32();
    switch (tag >>> 3) {
      case 1: {
        const end = r.len();
        f.ipSourceStart = r.pos;
        f.ipSourceEnd = r.pos = end;
        break;
      }
      case 2: {
        const end = r.len();
        f.ipDestinationStart = r.pos;
        f.ipDestinationEnd = r.pos = end;
        break;
      }
      case 3:
        f.hasIpVersion = true;
        f.ipVersion = r.i32();
        break;
      default:
        r.unknown(tag, D_IN_FLOW);
    }
  }
}

/**
 * The fields of flow.Flow that the domain Flow reads; everything else is skipped. As in
 * protobufjs, a field is recognised by its number alone (a wrong wire type is read as the
 * declared type, as protobufjs's generated decoder does).
 */
export function flowInto(r: WireReader, f: FlowScan, shared: SharedRecords): void {
  f.reset();
  while (r.pos < r.end) {
    const tag = r.u32();
    switch (tag >>> 3) {
      case 1: {
        const outer = r.enter();
        timestampInto(r, f.time, D_IN_FLOW);
        r.leave(outer);
        break;
      }
      case 2:
        f.hasVerdict = true;
        f.verdict = r.i32();
        break;
      case 3:
        f.hasDropReason = true;
        f.dropReason = r.u32();
        break;
      case 5: {
        const outer = r.enter();
        ipInto(r, f);
        r.leave(outer);
        break;
      }
      case 6: {
        const outer = r.enter();
        layer4Into(r, f, shared);
        r.leave(outer);
        break;
      }
      case 8: {
        const outer = r.enter();
        f.source = shared.endpoint(r);
        r.leave(outer);
        break;
      }
      case 9: {
        const outer = r.enter();
        f.destination = shared.endpoint(r);
        r.leave(outer);
        break;
      }
      case 10:
        f.hasType = true;
        f.type = r.i32();
        break;
      case 11:
        f.node = r.nodeName();
        break;
      case 14:
        (f.names ??= []).push(r.string());
        break;
      case 16:
        f.hasReply = true;
        f.reply = r.bool();
        break;
      case 19: {
        const outer = r.enter();
        f.eventType = shared.eventType(r);
        r.leave(outer);
        break;
      }
      case 22:
        f.hasDirection = true;
        f.direction = r.i32();
        break;
      case 24:
        f.hasPoint = true;
        f.point = r.i32();
        break;
      case 25:
        f.hasDropDesc = true;
        f.dropDesc = r.i32();
        break;
      case 26: {
        const outer = r.enter();
        f.isReply = boolValue(r);
        r.leave(outer);
        break;
      }
      case 34: {
        const end = r.len();
        f.uuidStart = r.pos;
        f.uuidEnd = r.pos = end;
        break;
      }
      case 36:
        f.hasTraceReason = true;
        f.traceReason = r.i32();
        break;
      default:
        r.unknown(tag, D_FLOW);
    }
  }
}

