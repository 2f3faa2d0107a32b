/**
 * Maps one Hubble `flow.Flow` record with proto field names to the domain Flow. Accepts both
 * shapes that reach us:
 *  - protojson, as `hubble observe -o json` prints it: `time` an RFC 3339 string, `is_reply`
 *    a bare bool, enums as names, uint64 as strings, `l4: {"TCP": {...}}`;
 *  - what @grpc/proto-loader decodes with proto/loader.ts options (keepCase, enums as names,
 *    longs as numbers, defaults off, oneofs): `time: {seconds, nanos}`, `is_reply: {value}`
 *    (or `{}` for a false BoolValue, since defaults are off), `l4: {TCP: {...}, protocol: 'TCP'}`.
 * Older fields are honoured: `reply` (before `is_reply`), numeric `drop_reason` (before
 * `drop_reason_desc`), flows without `uuid` / `trace_reason` / `ID`.
 *
 * Called by the agent on every gRPC message: one object per flow plus its endpoints; no
 * regexes, no Object.keys, problems array only allocated on error.
 */
import { err, ok, isObject, type Problem, type Result } from '../common/index.js';
import { endpointFromRecord, readUint, showValue } from './endpoint.js';
import {
  FLOW_TYPES,
  OBSERVED_VERDICTS,
  type Flow,
  type FlowType,
  type Layer4,
  type L4Protocol,
  type ObservedVerdict,
  type TcpFlags,
  type TrafficDirection,
} from './flow.js';

/** Where `flowFromRecord` may fall back to when the flow itself lacks a field. */
export interface FlowEnvelope {
  /** `GetFlowsResponse.time`, used when `flow.time` is absent. */
  readonly time?: unknown;
  /** `GetFlowsResponse.node_name`, used when `flow.node_name` is absent. */
  readonly node_name?: unknown;
}

const VERDICT_BY_NAME: Readonly<Record<string, ObservedVerdict>> = Object.fromEntries(
  OBSERVED_VERDICTS.map((v) => [v, v]),
);
const TYPE_BY_NAME: Readonly<Record<string, FlowType>> = Object.fromEntries(FLOW_TYPES.map((t) => [t, t]));

/** Drop reasons that matter by name even when a client sends numbers (hubble.md 2.2.6). */
export const DROP_REASON_NAMES: Readonly<Record<number, string>> = { 133: 'POLICY_DENIED', 181: 'POLICY_DENY', 189: 'AUTH_REQUIRED' };
/** TraceReason and TraceObservationPoint numbers for clients that send enums as numbers. */
export const TRACE_REASONS: readonly string[] = ['TRACE_REASON_UNKNOWN', 'NEW', 'ESTABLISHED', 'REPLY', 'RELATED', 'REOPENED', 'SRV6_ENCAP', 'SRV6_DECAP', 'ENCRYPT_OVERLAY'];
export const OBSERVATION_POINTS: Readonly<Record<number, string>> = {
  101: 'TO_ENDPOINT', 1: 'TO_PROXY', 2: 'TO_HOST', 3: 'TO_STACK', 4: 'TO_OVERLAY', 5: 'FROM_ENDPOINT', 6: 'FROM_PROXY',
  7: 'FROM_HOST', 8: 'FROM_STACK', 9: 'FROM_OVERLAY', 10: 'FROM_NETWORK', 11: 'TO_NETWORK', 12: 'FROM_CRYPTO', 13: 'TO_CRYPTO',
};
const NO_FLAGS: TcpFlags = Object.freeze({ SYN: false, ACK: false, FIN: false, RST: false });
const SYN_ONLY: TcpFlags = Object.freeze({ SYN: true, ACK: false, FIN: false, RST: false });

// One-entry memo of the formatted second: a stream's flows share seconds, and toISOString is
// the costliest step of mapping a gRPC timestamp.
let lastSeconds = Number.NaN;
let lastSecondText = '';

/** RFC 3339 UTC with nanoseconds, the way protojson prints a Timestamp. */
export function formatTimestamp(seconds: number, nanos: number): string {
  if (seconds !== lastSeconds) {
    lastSecondText = new Date(seconds * 1000).toISOString().slice(0, 19); // YYYY-MM-DDTHH:MM:SS
    lastSeconds = seconds;
  }
  return nanos === 0 ? `${lastSecondText}Z` : `${lastSecondText}.${String(nanos).padStart(9, '0')}Z`;
}

interface TimeValue {
  ms: number;
  text: string;
}

function readTime(value: unknown, path: string, problems: Problem[]): TimeValue | null {
  if (typeof value === 'string') {
    const ms = Date.parse(value);
    if (!Number.isNaN(ms)) return { ms, text: value };
  } else if (isObject(value)) {
    // google.protobuf.Timestamp as proto-loader decodes it; both fields default to 0 (omitted)
    const secondsRaw = value['seconds'] ?? 0;
    const seconds = typeof secondsRaw === 'string' ? Number(secondsRaw) : secondsRaw;
    const nanos = value['nanos'] ?? 0;
    if (typeof seconds === 'number' && Number.isFinite(seconds) && typeof nanos === 'number' && nanos >= 0 && nanos < 1e9) {
      return { ms: seconds * 1000 + Math.floor(nanos / 1e6), text: formatTimestamp(seconds, nanos) };
    }
  }
  problems.push({
    path,
    message: `expected an RFC 3339 timestamp string or {seconds, nanos}, got ${value === undefined ? 'nothing' : showValue(value)}`,
  });
  return null;
}

function readEnumName(value: unknown, byNumber: Readonly<Record<number, string>> | readonly string[], path: string, problems: Problem[]): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'number') {
    const name = (byNumber as Record<number, string | undefined>)[value];
    return name ?? String(value);
  }
  problems.push({ path, message: `expected an enum name, got ${showValue(value)}` });
  return null;
}

function readVerdict(value: unknown, problems: Problem[]): ObservedVerdict {
  if (value === undefined || value === null) return 'VERDICT_UNKNOWN';
  if (typeof value === 'string') {
    const v = VERDICT_BY_NAME[value];
    if (v !== undefined) return v;
  } else if (typeof value === 'number') {
    const v = OBSERVED_VERDICTS[value];
    if (v !== undefined) return v;
  }
  problems.push({ path: 'verdict', message: `expected one of ${OBSERVED_VERDICTS.join(', ')}, got ${showValue(value)}` });
  return 'VERDICT_UNKNOWN';
}

function readType(value: unknown, problems: Problem[]): FlowType {
  if (value === undefined || value === null) return 'UNKNOWN_TYPE';
  if (typeof value === 'string') {
    const t = TYPE_BY_NAME[value];
    if (t !== undefined) return t;
  } else if (typeof value === 'number') {
    const t = FLOW_TYPES[value];
    if (t !== undefined) return t;
  }
  problems.push({ path: 'Type', message: `expected one of ${FLOW_TYPES.join(', ')}, got ${showValue(value)}` });
  return 'UNKNOWN_TYPE';
}

function readDirection(value: unknown): TrafficDirection {
  if (value === 'INGRESS' || value === 1) return 'ingress';
  if (value === 'EGRESS' || value === 2) return 'egress';
  return 'unknown';
}

/** `is_reply` as a bare bool (protojson) or a BoolValue wrapper (gRPC); else the old `reply`. */
function readIsReply(isReply: unknown, reply: unknown, problems: Problem[]): boolean | null {
  if (typeof isReply === 'boolean') return isReply;
  if (isObject(isReply)) {
    const v = isReply['value'];
    if (v === undefined || typeof v === 'boolean') return v === true; // {} is a false BoolValue
    problems.push({ path: 'is_reply.value', message: `expected a boolean, got ${showValue(v)}` });
    return null;
  }
  if (isReply !== undefined && isReply !== null) {
    problems.push({ path: 'is_reply', message: `expected a boolean or {value: boolean}, got ${showValue(isReply)}` });
    return null;
  }
  // `reply` is deprecated and false is indistinguishable from absent: only `true` is known.
  if (reply === true) return true;
  if (reply !== undefined && reply !== null && typeof reply !== 'boolean') {
    problems.push({ path: 'reply', message: `expected a boolean, got ${showValue(reply)}` });
  }
  return null;
}

function readDropReason(desc: unknown, numeric: unknown): string | null {
  if (typeof desc === 'string') return desc === 'DROP_REASON_UNKNOWN' ? null : desc;
  if (typeof desc === 'number' && desc !== 0) return DROP_REASON_NAMES[desc] ?? String(desc);
  if (typeof numeric === 'number' && numeric !== 0) return DROP_REASON_NAMES[numeric] ?? String(numeric);
  return null;
}

/**
 * The TcpFlags of a `flags` record, or null when there is none (Hubble always sends them on
 * L3/L4 TCP; L7 flows omit them). The two common values are shared frozen objects.
 */
export function readFlags(value: unknown): TcpFlags | null {
  if (!isObject(value)) return null;
  const SYN = value['SYN'] === true;
  const ACK = value['ACK'] === true;
  const FIN = value['FIN'] === true;
  const RST = value['RST'] === true;
  if (!SYN && !ACK && !FIN && !RST) return NO_FLAGS;
  if (SYN && !ACK && !FIN && !RST) return SYN_ONLY;
  return { SYN, ACK, FIN, RST };
}

function portLayer(protocol: L4Protocol, body: Record<string, unknown>, path: string, problems: Problem[], flags: TcpFlags | null): Layer4 {
  return {
    protocol,
    sourcePort: readUint(body['source_port'], `${path}.source_port`, problems) ?? 0,
    destinationPort: readUint(body['destination_port'], `${path}.destination_port`, problems) ?? 0,
    flags,
    icmpType: null,
    icmpCode: null,
  };
}

function readLayer4(value: unknown, problems: Problem[]): Layer4 | null {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) {
    problems.push({ path: 'l4', message: 'expected an object with one of TCP, UDP, SCTP, ICMPv4, ICMPv6, VRRP, IGMP' });
    return null;
  }
  // proto-loader with `oneofs: true` names the populated branch; protojson has only the branch.
  const named = value['protocol'];
  let protocol: string | null = typeof named === 'string' ? named : null;
  if (protocol === null) {
    if (value['TCP'] !== undefined) protocol = 'TCP';
    else if (value['UDP'] !== undefined) protocol = 'UDP';
    else if (value['ICMPv4'] !== undefined) protocol = 'ICMPv4';
    else if (value['ICMPv6'] !== undefined) protocol = 'ICMPv6';
    else if (value['SCTP'] !== undefined) protocol = 'SCTP';
    else if (value['VRRP'] !== undefined) protocol = 'VRRP';
    else if (value['IGMP'] !== undefined) protocol = 'IGMP';
    else return null; // an empty Layer4: no protocol known
  }
  const body = value[protocol];
  const path = `l4.${protocol}`;
  if (body !== undefined && !isObject(body)) {
    problems.push({ path, message: 'expected an object' });
    return null;
  }
  const b = body ?? {};
  switch (protocol) {
    case 'TCP':
      return portLayer('TCP', b, path, problems, readFlags(b['flags']));
    case 'UDP':
      return portLayer('UDP', b, path, problems, null);
    case 'SCTP':
      return portLayer('SCTP', b, path, problems, null);
    case 'ICMPv4':
    case 'ICMPv6':
      return {
        protocol,
        sourcePort: 0,
        destinationPort: 0,
        flags: null,
        icmpType: readUint(b['type'], `${path}.type`, problems) ?? 0,
        icmpCode: readUint(b['code'], `${path}.code`, problems) ?? 0,
      };
    case 'VRRP':
    case 'IGMP':
      return { protocol, sourcePort: 0, destinationPort: 0, flags: null, icmpType: null, icmpCode: null };
    default:
      problems.push({ path: 'l4', message: `expected one of TCP, UDP, SCTP, ICMPv4, ICMPv6, VRRP, IGMP, got ${showValue(protocol)}` });
      return null;
  }
}

function readIp(value: unknown, problems: Problem[]): Flow['ip'] {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) {
    problems.push({ path: 'IP', message: 'expected {source, destination, ipVersion}' });
    return null;
  }
  const source = value['source'];
  const destination = value['destination'];
  if (typeof source !== 'string' || typeof destination !== 'string' || source === '' || destination === '') {
    problems.push({ path: 'IP', message: 'expected source and destination addresses as strings' });
    return null;
  }
  const v = value['ipVersion'];
  const version: 4 | 6 = v === 'IPv6' || v === 2 ? 6 : v === 'IPv4' || v === 1 ? 4 : source.includes(':') ? 6 : 4;
  return { source, destination, version };
}

/**
 * Maps a `flow.Flow` record to the domain Flow; every problem is collected with its field
 * path relative to the flow (`l4.TCP.destination_port`, `source.labels[3]`).
 */
export function flowFromRecord(record: unknown, envelope?: FlowEnvelope): Result<Flow, Problem[]> {
  if (!isObject(record)) return err([{ path: '', message: 'expected a flow object' }]);
  const problems: Problem[] = [];
  const time = readTime(record['time'] ?? envelope?.time, 'time', problems);
  const uuid = record['uuid'];
  const nodeName = record['node_name'] ?? envelope?.node_name;
  const eventType = record['event_type'];
  const flow: Flow = {
    timeMs: time === null ? 0 : time.ms,
    time: time === null ? '' : time.text,
    uuid: typeof uuid === 'string' && uuid !== '' ? uuid : null,
    node: typeof nodeName === 'string' ? nodeName : '',
    type: readType(record['Type'], problems),
    eventType: isObject(eventType) ? readUint(eventType['type'] ?? 0, 'event_type.type', problems) : null,
    eventSubType: isObject(eventType) ? readUint(eventType['sub_type'] ?? 0, 'event_type.sub_type', problems) : null,
    observed: readVerdict(record['verdict'], problems),
    dropReason: readDropReason(record['drop_reason_desc'], record['drop_reason']),
    direction: readDirection(record['traffic_direction']),
    isReply: readIsReply(record['is_reply'], record['reply'], problems),
    traceReason: noUnknown(readEnumName(record['trace_reason'], TRACE_REASONS, 'trace_reason', problems), 'TRACE_REASON_UNKNOWN'),
    observationPoint: noUnknown(readEnumName(record['trace_observation_point'], OBSERVATION_POINTS, 'trace_observation_point', problems), 'UNKNOWN_POINT'),
    ip: readIp(record['IP'], problems),
    l4: readLayer4(record['l4'], problems),
    source: endpointFromRecord(record['source'], 'source', problems),
    destination: endpointFromRecord(record['destination'], 'destination', problems),
    ...readNames(record['destination_names'], problems),
  };
  return problems.length === 0 ? ok(flow) : err(problems);
}

function readNames(value: unknown, problems: Problem[]): { destinationNames?: readonly string[] } {
  if (value === undefined || value === null) return {};
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    problems.push({ path: 'destination_names', message: `expected a list of DNS names, got ${showValue(value)}` });
    return {};
  }
  return value.length === 0 ? {} : { destinationNames: value as string[] };
}

function noUnknown(name: string | null, unknownName: string): string | null {
  return name === unknownName ? null : name;
}
