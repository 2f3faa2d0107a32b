/**
 * The domain Flow straight from a FlowScan, for a flow the reference mapping
 * (core/flow/from-record.ts `flowFromRecord`) would accept: the same Flow, field for field,
 * without the intermediate record.
 */
import { DROP_REASON_NAMES, FLOW_TYPES, formatTimestamp, OBSERVATION_POINTS, OBSERVED_VERDICTS, readFlags, TRACE_REASONS, type Flow, type Layer4 } from '../../../core/flow/index.js';
import { L4_ICMPV4, L4_ICMPV6, L4_TCP, type FlowScan, type TimeSlot } from './flow-scan.js';
import type { EnumNames } from './records.js';
import { BOOL_TRUE, type SharedRecords } from './shared-records.js';

/** The envelope's own time and node name, the fallback for what the flow lacks. */
export interface Envelope {
  readonly time: TimeSlot;
  node: string | undefined;
}

/** What flowFromRecord would refuse in a record built here (its field types are always right, so only these). */
export function acceptable(f: FlowScan, envelopeTime: TimeSlot): boolean {
  const t = f.time.has ? f.time : envelopeTime;
  if (!t.has) return false;
  const nanos = t.hasNanos ? t.nanos : 0;
  if (nanos < 0 || nanos >= 1e9) return false;
  // formatTimestamp's Date: beyond ±8.64e15 ms it is invalid and toISOString throws.
  if (t.hasSeconds && !(Math.abs(t.seconds * 1000) <= 8.64e15)) return false;
  if (f.hasType && (f.type < 0 || f.type > 3)) return false;
  if (f.hasVerdict && (f.verdict < 0 || f.verdict > 7)) return false;
  if (f.eventType !== undefined) {
    const type = (f.eventType['type'] as number | undefined) ?? 0;
    const sub = (f.eventType['sub_type'] as number | undefined) ?? 0;
    if (type < 0 || sub < 0) return false;
  }
  return !(f.hasIp && (f.ipSourceStart < 0 || f.ipSourceEnd === f.ipSourceStart || f.ipDestinationStart < 0 || f.ipDestinationEnd === f.ipDestinationStart));
}


/** readEnumName + noUnknown of from-record.ts, from an enum number. */
function enumText(name: string | number, byNumber: Readonly<Record<number, string>> | readonly string[], unknownName: string): string | null {
  const text = typeof name === 'string' ? name : ((byNumber as Record<number, string | undefined>)[name] ?? String(name));
  return text === unknownName ? null : text;
}

function dropReasonOf(f: FlowScan, n: EnumNames): string | null {
  if (f.hasDropDesc) {
    const desc = n.drop(f.dropDesc);
    if (typeof desc === 'string') return desc === 'DROP_REASON_UNKNOWN' ? null : desc;
    if (desc !== 0) return DROP_REASON_NAMES[desc] ?? String(desc);
  }
  if (f.hasDropReason && f.dropReason !== 0) return DROP_REASON_NAMES[f.dropReason] ?? String(f.dropReason);
  return null;
}


function layer4Of(f: FlowScan): Layer4 | null {
  if (!f.hasL4 || f.l4 === 0) return null;
  const member = f.l4;
  const p1 = f.hasP1 ? f.p1 : 0;
  const p2 = f.hasP2 ? f.p2 : 0;
  switch (member) {
    case L4_TCP:
      return { protocol: 'TCP', sourcePort: p1, destinationPort: p2, flags: readFlags(f.flags), icmpType: null, icmpCode: null };
    case 2:
      return { protocol: 'UDP', sourcePort: p1, destinationPort: p2, flags: null, icmpType: null, icmpCode: null };
    case 5:
      return { protocol: 'SCTP', sourcePort: p1, destinationPort: p2, flags: null, icmpType: null, icmpCode: null };
    case L4_ICMPV4:
      return { protocol: 'ICMPv4', sourcePort: 0, destinationPort: 0, flags: null, icmpType: p1, icmpCode: p2 };
    case L4_ICMPV6:
      return { protocol: 'ICMPv6', sourcePort: 0, destinationPort: 0, flags: null, icmpType: p1, icmpCode: p2 };
    case 6:
      return { protocol: 'VRRP', sourcePort: 0, destinationPort: 0, flags: null, icmpType: null, icmpCode: null };
    default:
      return { protocol: 'IGMP', sourcePort: 0, destinationPort: 0, flags: null, icmpType: null, icmpCode: null };
  }
}

function ipOf(buf: Buffer, f: FlowScan, ips: IpTexts): Flow['ip'] {
  if (!f.hasIp) return null;
  const source = ips.text(buf, f.ipSourceStart, f.ipSourceEnd);
  const destination = ips.text(buf, f.ipDestinationStart, f.ipDestinationEnd);
  const v = f.hasIpVersion ? f.ipVersion : 0;
  const version: 4 | 6 = v === 2 ? 6 : v === 1 ? 4 : source.includes(':') ? 6 : 4;
  return { source, destination, version };
}

/**
 * NOTE: a node's flows name the same few addresses over and over, so address strings are
 * kept by their bytes in a small direct-mapped table (a hit is confirmed byte by byte): equal
 * bytes, equal string, fewer strings made per flow.
 */
const IP_SLOTS = 1024;

export class IpTexts {
  readonly #bytes: (Buffer | undefined)[] = new Array<Buffer | undefined>(IP_SLOTS).fill(undefined);
  readonly #text: string[] = new Array<string>(IP_SLOTS).fill('');

  text(buf: Buffer, start: number, end: number): string {
    const len = end - start;
    if (len > 46) return buf.toString('utf8', start, end);
    let h = len;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const slot = (h ^ (h >>> 15)) & (IP_SLOTS - 1);
    const kept = this.#bytes[slot];
    if (kept !== undefined && kept.length === len) {
      let same = true;
      for (let i = 0; i < len; i++) {
        if (kept[i] !== buf[start + i]) {
          same = false;
          break;
        }
      }
      if (same) return this.#text[slot]!;
    }
    const text = buf.toString('utf8', start, end);
    this.#bytes[slot] = Buffer.from(buf.subarray(start, end));
    this.#text[slot] = text;
    return text;
  }
}

/** flowFromRecord's Flow for an acceptable scan, field for field. */
export function buildFlow(buf: Buffer, f: FlowScan, envelope: Envelope, n: EnumNames, shared: SharedRecords, ips: IpTexts): Flow {
  const envelopeTime = envelope.time;
  const envelopeNode = envelope.node;
  const t = f.time.has ? f.time : envelopeTime;
  const seconds = t.hasSeconds ? t.seconds : 0;
  const nanos = t.hasNanos ? t.nanos : 0;
  const node = f.node ?? envelopeNode;
  const et = f.eventType;
  const direction = f.hasDirection ? f.direction : 0;
  return {
    timeMs: seconds * 1000 + Math.floor(nanos / 1e6),
    time: formatTimestamp(seconds, nanos),
    uuid: f.uuidStart >= 0 && f.uuidEnd > f.uuidStart ? buf.toString('utf8', f.uuidStart, f.uuidEnd) : null,
    node: node ?? '',
    type: FLOW_TYPES[f.hasType ? f.type : 0]!,
    eventType: et === undefined ? null : ((et['type'] as number | undefined) ?? 0),
    eventSubType: et === undefined ? null : ((et['sub_type'] as number | undefined) ?? 0),
    observed: OBSERVED_VERDICTS[f.hasVerdict ? f.verdict : 0]!,
    dropReason: dropReasonOf(f, n),
    direction: direction === 1 ? 'ingress' : direction === 2 ? 'egress' : 'unknown',
    isReply: f.isReply !== undefined ? f.isReply === BOOL_TRUE : f.hasReply && f.reply ? true : null,
    traceReason: f.hasTraceReason ? enumText(n.reason(f.traceReason), TRACE_REASONS, 'TRACE_REASON_UNKNOWN') : null,
    observationPoint: f.hasPoint ? enumText(n.point(f.point), OBSERVATION_POINTS, 'UNKNOWN_POINT') : null,
    ip: ipOf(buf, f, ips),
    l4: layer4Of(f),
    source: shared.domainEndpoint(f.source, 'source'),
    destination: shared.domainEndpoint(f.destination, 'destination'),
    ...(f.names === undefined ? {} : { destinationNames: f.names }),
  };
}

