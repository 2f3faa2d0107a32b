/**
 * The fast wire decoder against protobufjs (the reference path: proto/hubble via
 * proto/codec/hubble-types.ts with proto/loader.ts's options, then `decodedFromRecord`),
 * over random Flow messages, structurally random field lists (any field number the fast path
 * reads, any wire type, negative and maximal varints, repeats, unknown fields), byte
 * mutations and truncation at every byte. The property: the same Decoded, or both reject.
 *
 * "Reject" is what the client does with either outcome: a throw and a `malformed` Decoded are
 * both counted as malformed and skipped.
 *
 * Well-formed messages (what protobufjs's encoder writes) are compared with protobufjs as the
 * agent's reference decoder runs it. Malformed bytes are compared with protobufjs's generated
 * decoder and conversion run (a) over the fields the fast path reads, the others being unknown
 * fields to it (the fast path does not look inside a field it does not read, so a corrupted
 * Ethernet header cannot refuse a flow), and (b) with a strict wire reader. protobufjs's own
 * reader is lenient in three ways the fast path does not copy, pinned below: a string whose
 * length runs past the end of its message is cut short instead of refused, a varint of more
 * than 5 bytes read as 32 bits has bytes 6 to 10 skipped unread, and an int64 varint with 4
 * bytes left ends there even if its last byte says more follows.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodedFromRecord, type Decoded } from '../../../../agent/hubble/from-pb.js';
import { FastDecoder, SKIPPED } from '../../../../agent/hubble/fast-decode.js';
import { ConnectionTracker } from '../../../../core/flow/index.js';
import { PROTO_ROOT } from '../../../../proto/loader.js';
import { OBSERVER_PROTO, TO_OBJECT_OPTIONS, decodeRecord, encodeRecord, hubbleType, type PbRecord } from '../../../../proto/codec/hubble-types.js';
import * as path from 'node:path';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseCapture } from '../../../../replay/capture.js';
import protobuf from 'protobufjs';

const RESPONSE = hubbleType('observer.GetFlowsResponse');
const SEED = 1515;

type Outcome = Decoded | { readonly kind: 'rejected' };

function outcome(decode: () => Decoded): Outcome {
  try {
    const d = decode();
    return d.kind === 'malformed' ? { kind: 'rejected' } : d;
  } catch {
    return { kind: 'rejected' };
  }
}

/** One decoder for the file, as one stream has: its caches carry from message to message. */
const decoder = new FastDecoder();
const fast = (bytes: Buffer): Outcome => outcome(() => decoder.decode(bytes));
/** protobufjs over a Buffer: what grpc-js hands the reference deserializer. */
const reference = (bytes: Buffer): Outcome => outcome(() => decodedFromRecord(decodeRecord(RESPONSE, bytes)));

/** The fields the fast path reads, by message; every other field is removed from the oracle's schema. */
const READ_FIELDS: Readonly<Record<string, readonly string[]>> = {
  'observer.GetFlowsResponse': ['flow', 'node_status', 'lost_events', 'node_name', 'time'],
  'flow.Flow': ['time', 'verdict', 'drop_reason', 'IP', 'l4', 'source', 'destination', 'Type', 'node_name', 'reply', 'event_type', 'traffic_direction', 'trace_observation_point', 'drop_reason_desc', 'is_reply', 'uuid', 'trace_reason', 'destination_names'],
  'google.protobuf.Timestamp': ['seconds', 'nanos'],
  'google.protobuf.BoolValue': ['value'],
  'flow.IP': ['source', 'destination', 'ipVersion'],
  'flow.Layer4': ['TCP', 'UDP', 'ICMPv4', 'ICMPv6', 'SCTP', 'VRRP', 'IGMP'],
  'flow.TCP': ['source_port', 'destination_port', 'flags'],
  'flow.UDP': ['source_port', 'destination_port'],
  'flow.SCTP': ['source_port', 'destination_port'],
  'flow.ICMPv4': ['type', 'code'],
  'flow.ICMPv6': ['type', 'code'],
  'flow.VRRP': [],
  'flow.IGMP': [],
  'flow.TCPFlags': ['FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'],
  'flow.Endpoint': ['ID', 'identity', 'cluster_name', 'namespace', 'labels', 'pod_name', 'workloads'],
  'flow.Workload': ['name', 'kind'],
  'flow.CiliumEventType': ['type', 'sub_type'],
  'flow.LostEvent': ['source', 'num_events_lost'],
  'relay.NodeStatusEvent': ['state_change', 'node_names', 'message'],
};

function oracleRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => (target.startsWith('google/protobuf/') || path.isAbsolute(target) ? target : path.join(PROTO_ROOT, target));
  root.loadSync(OBSERVER_PROTO, { keepCase: true });
  root.resolveAll();
  for (const [name, keep] of Object.entries(READ_FIELDS)) {
    const type = root.lookupType(name);
    for (const field of type.fieldsArray) if (!keep.includes(field.name)) type.remove(field);
    expect(type.fieldsArray.map((f) => f.name).sort()).toEqual([...keep].sort());
  }
  return root;
}

/**
 * protobufjs's Reader with spec-strict varints and lengths (at most 10 bytes, never past the
 * end of the message; a string never runs past it either; field number 0 refused) and the
 * same values (low 32 bits for 32-bit types, LongBits for 64-bit ones). The generated decoder
 * reads a tag with `uint32()` just before `skipType` for an unknown field, which is how field
 * number 0 is seen here.
 */
class StrictReader extends protobuf.Reader {
  private lastTag = -1;

  private varint(): { lo: number; hi: number } {
    let lo = 0;
    let hi = 0;
    for (let i = 0; ; i++) {
      if (this.pos >= this.len) throw new RangeError('truncated varint');
      const b = this.buf[this.pos++]!;
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) return { lo: lo >>> 0, hi: hi >>> 0 };
      if (i === 9) throw new RangeError('varint too long');
    }
  }

  override uint32(): number {
    const v = this.varint().lo;
    this.lastTag = v;
    return v;
  }

  override int32(): number {
    return this.uint32() | 0;
  }

  override bool(): boolean {
    return this.uint32() !== 0;
  }

  private long(unsigned: boolean): protobuf.Long | number {
    const { lo, hi } = this.varint();
    const bits = new protobuf.util.LongBits(lo, hi);
    return protobuf.util.Long ? bits.toLong(unsigned) : bits.toNumber(unsigned);
  }

  override int64(): protobuf.Long {
    return this.long(false) as protobuf.Long;
  }

  override uint64(): protobuf.Long {
    return this.long(true) as protobuf.Long;
  }

  override string(): string {
    const n = this.uint32();
    const end = this.pos + n;
    if (end > this.len) throw new RangeError('length past end of message');
    const s = Buffer.from(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength).toString('utf8', this.pos, end);
    this.pos = end;
    return s;
  }

  override skipType(wireType: number, depth = 0): this {
    if (this.lastTag >>> 3 === 0) throw new RangeError('invalid field number 0');
    if (depth > 100) throw new RangeError('maximum nesting depth exceeded');
    switch (wireType) {
      case 0:
        this.varint();
        return this;
      case 2: {
        const n = this.uint32();
        if (this.pos + n > this.len) throw new RangeError('length past end of message');
        this.pos += n;
        return this;
      }
      case 3:
        for (;;) {
          const w = this.uint32() & 7;
          if (w === 4) return this;
          this.skipType(w, depth + 1);
        }
      default:
        super.skipType(wireType, depth);
        return this;
    }
  }
}

const ORACLE_RESPONSE = oracleRoot().lookupType('observer.GetFlowsResponse');
/** protobufjs over the fields the fast path reads, with the strict reader. */
const oracle = (bytes: Buffer): Outcome =>
  outcome(() => decodedFromRecord(ORACLE_RESPONSE.toObject(ORACLE_RESPONSE.decode(new StrictReader(new Uint8Array(bytes))), TO_OBJECT_OPTIONS)));

/** Asserts the property on one (possibly malformed) input; returns the outcome for statistics. */
function agrees(bytes: Buffer): Outcome {
  const f = fast(bytes);
  expect(f, `bytes ${bytes.toString('hex')}`).toEqual(oracle(bytes));
  skipAgrees(bytes, f);
  return f;
}

/**
 * The early skip (decodeOrSkip) against the full decode: SKIPPED only for a flow that a fresh
 * ConnectionTracker skips (the skips decodeOrSkip may take do not depend on the tracker's
 * table), and otherwise the same Decoded.
 */
const SKIPS_BEFORE_LOOKUP = new Set(['not-l3-l4', 'no-five-tuple', 'dropped-not-policy', 'reply', 'not-connection-start', 'no-local-endpoint']);
let skippedSeen = 0;
function skipAgrees(bytes: Buffer, full: Outcome): void {
  const early = outcome(() => {
    const d = decoder.decodeOrSkip(bytes);
    return d === SKIPPED ? ({ kind: 'node-status', state: 'SKIPPED', nodes: [], message: '' } as const) : d;
  });
  if (early.kind === 'node-status' && early.state === 'SKIPPED') {
    skippedSeen++;
    expect(full.kind, `skipped, but the full decode gives ${full.kind}: ${bytes.toString('hex')}`).toBe('flow');
    if (full.kind !== 'flow') return;
    const c = new ConnectionTracker().classify(full.flow);
    expect(c.kind === 'skip' && SKIPS_BEFORE_LOOKUP.has(c.reason), `skipped, but the tracker says ${JSON.stringify(c)}: ${bytes.toString('hex')}`).toBe(true);
  } else {
    expect(early).toEqual(full);
    if (full.kind === 'flow') {
      const c = new ConnectionTracker().classify(full.flow);
      // Completeness (a speed matter, not a correctness one): every such skip is taken early.
      expect(c.kind === 'skip' && SKIPS_BEFORE_LOOKUP.has(c.reason), `not skipped early, but the tracker skips it (${JSON.stringify(c)}): ${bytes.toString('hex')}`).toBe(false);
    }
  }
}

// ---------------------------------------------------------------------------------------
// A raw protobuf writer, for messages protobufjs's encoder would never write.

function varintBytes(value: bigint): number[] {
  let v = BigInt.asUintN(64, value);
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}

type RawField =
  | { readonly field: number; readonly wire: 0; readonly value: bigint }
  | { readonly field: number; readonly wire: 1 | 5; readonly bytes: readonly number[] }
  | { readonly field: number; readonly wire: 2; readonly body: readonly RawField[] | Uint8Array };

function rawMessage(fields: readonly RawField[]): number[] {
  const out: number[] = [];
  for (const f of fields) {
    out.push(...varintBytes(BigInt(f.field * 8 + f.wire)));
    if (f.wire === 0) out.push(...varintBytes(f.value));
    else if (f.wire === 2) {
      const body = f.body instanceof Uint8Array ? [...f.body] : rawMessage(f.body);
      out.push(...varintBytes(BigInt(body.length)), ...body);
    } else out.push(...f.bytes);
  }
  return out;
}

const flowResponse = (flow: readonly RawField[], extra: readonly RawField[] = []): Buffer =>
  Buffer.from(rawMessage([{ field: 1, wire: 2, body: flow }, ...extra]));

const L3L4_FLOW: readonly RawField[] = [
  { field: 1, wire: 2, body: [{ field: 1, wire: 0, value: 1_700_000_000n }, { field: 2, wire: 0, value: 5n }] },
  { field: 2, wire: 0, value: 1n },
  { field: 10, wire: 0, value: 1n },
  { field: 11, wire: 2, body: Buffer.from('node-1') },
];

// ---------------------------------------------------------------------------------------

describe('fast decoder: the two bugs of issue 15', () => {
  it('decodes negative int32 and int64 as protobufjs does (-1 is -1, not 0)', () => {
    // event_type.type = -1 (int32: a 10-byte varint), and time.seconds = -1 (int64).
    const negativeType = flowResponse([...L3L4_FLOW, { field: 19, wire: 2, body: [{ field: 1, wire: 0, value: -1n }, { field: 2, wire: 0, value: 4n }] }]);
    expect(reference(negativeType).kind).toBe('rejected'); // flowFromRecord refuses a negative event type
    expect(fast(negativeType)).toEqual(reference(negativeType));
    agrees(negativeType);

    const negativeSeconds = flowResponse([{ field: 1, wire: 2, body: [{ field: 1, wire: 0, value: -1n }, { field: 2, wire: 0, value: 7n }] }, ...L3L4_FLOW.slice(1)]);
    const r = reference(negativeSeconds);
    expect(r.kind === 'flow' && r.seconds).toBe(-1);
    expect(fast(negativeSeconds)).toEqual(r);
    agrees(negativeSeconds);
  });

  it('rejects a varint cut off at the end of a sub-message, as protobufjs does', () => {
    // event_type's body is one byte: the tag of an unknown varint field (3) and no value;
    // the byte after it belongs to the Flow.
    const cut = flowResponse([{ field: 19, wire: 2, body: Uint8Array.of(0x18) }, ...L3L4_FLOW]);
    expect(reference(cut).kind).toBe('rejected');
    expect(fast(cut).kind).toBe('rejected');
    agrees(cut);
    // The same in an endpoint, an IP and a timestamp.
    for (const field of [8, 5, 1]) {
      const bytes = flowResponse([...L3L4_FLOW, { field, wire: 2, body: Uint8Array.of(0x78) }]);
      expect(reference(bytes).kind).toBe('rejected');
      expect(fast(bytes).kind, `field ${field}`).toBe('rejected');
      agrees(bytes);
    }
  });
});

describe("protobufjs's reader leniencies, which the fast path does not copy", () => {
  it('a string running past the end of its message: protobufjs (Buffer) cuts it short, the fast path and the strict reader refuse', () => {
    // node_name (field 11) claims 9 bytes, 6 follow: the last field of the Flow, then the
    // same as the envelope's node_name (field 1000), the last field of the response.
    const body = [...rawMessage(L3L4_FLOW.slice(0, 3)), 0x5a, 9, ...Buffer.from('node-1')];
    const inFlow = Buffer.from([0x0a, body.length, ...body]);
    const inEnvelope = Buffer.from([...rawMessage([{ field: 1, wire: 2, body: L3L4_FLOW }]), 0xc2, 0x3e, 20, ...Buffer.from('node-1')]);
    for (const bytes of [inFlow, inEnvelope]) {
      expect(reference(bytes).kind).toBe('flow');
      expect(fast(bytes).kind).toBe('rejected');
      expect(oracle(bytes).kind).toBe('rejected');
    }
  });

  it('a redundant 6-byte varint for a uint32: protobufjs skips 5 more bytes unread, the fast path reads it as the spec says', () => {
    // drop_reason (3) = 133 written in 6 bytes, then verdict (2) = DROPPED.
    const flow = [...rawMessage(L3L4_FLOW.filter((f) => f.field !== 2)), 0x18, 0x85, 0x81, 0x80, 0x80, 0x80, 0x00, 0x10, 0x02];
    const bytes = Buffer.from([0x0a, flow.length, ...flow]);
    const f = fast(bytes);
    expect(f.kind === 'flow' && [f.flow.observed, f.flow.dropReason]).toEqual(['DROPPED', 'POLICY_DENIED']);
    expect(f).toEqual(oracle(bytes));
    expect(reference(bytes)).not.toEqual(f);
  });
});

// ---------------------------------------------------------------------------------------
// Schema-shaped random messages (encoded by protobufjs).

const u32 = fc.oneof(fc.constantFrom(0, 1, 53, 80, 443, 65535, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1), fc.nat({ max: 2 ** 32 - 1 }));
const i32 = fc.oneof(fc.constantFrom(0, 1, 4, 5, 129, -1, -2, 2 ** 31 - 1, -(2 ** 31)), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }));
/** int64 as protobufjs's fromObject takes it: numbers within 2^53, strings beyond. */
const i64 = fc.oneof(
  fc.constantFrom<number | string>(0, 1_700_000_000, -1, '9223372036854775807', '-9223372036854775808', 2 ** 53 - 1, -(2 ** 53 - 1)),
  fc.integer({ min: -(2 ** 40), max: 2 ** 40 }),
);
const u64 = fc.oneof(fc.constantFrom<number | string>(0, 1, 2 ** 53 - 1, '18446744073709551615', '9223372036854775808'), fc.nat());
const enumNum = (max: number): fc.Arbitrary<number> => fc.oneof(fc.integer({ min: 0, max }), fc.constantFrom(-1, 2 ** 31 - 1, max + 1, 101, 133, 181));
const text = fc.oneof(fc.constantFrom('', 'node-1', 'kind/worker', '10.0.0.1', 'fd00::1', 'k8s:app=web', 'é∂'), fc.string({ maxLength: 12 }));
const labels = fc.array(fc.constantFrom('k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop', 'reserved:world', 'reserved:host', 'cidr:10.0.0.0/8', ''), { maxLength: 4 });

const endpoint = fc.record(
  {
    ID: u32,
    identity: u32,
    namespace: text,
    labels,
    pod_name: text,
    workloads: fc.array(fc.record({ name: text, kind: text }, { requiredKeys: [] }), { maxLength: 2 }),
    cluster_name: text,
  },
  { requiredKeys: [] },
);

const ports = fc.record({ source_port: u32, destination_port: u32 }, { requiredKeys: [] });
const tcpFlags = fc.record(
  { FIN: fc.boolean(), SYN: fc.boolean(), RST: fc.boolean(), PSH: fc.boolean(), ACK: fc.boolean(), URG: fc.boolean(), ECE: fc.boolean(), CWR: fc.boolean(), NS: fc.boolean() },
  { requiredKeys: [] },
);
const icmp = fc.record({ type: u32, code: u32 }, { requiredKeys: [] });
const layer4 = fc.oneof(
  fc.record({ TCP: fc.record({ source_port: u32, destination_port: u32, flags: tcpFlags }, { requiredKeys: [] }) }),
  fc.record({ UDP: ports }),
  fc.record({ SCTP: ports }),
  fc.record({ ICMPv4: icmp }),
  fc.record({ ICMPv6: icmp }),
  fc.record({ VRRP: fc.record({ type: u32, vrid: u32, priority: u32 }, { requiredKeys: [] }) }),
  fc.record({ IGMP: fc.record({ type: u32, group_address: text }, { requiredKeys: [] }) }),
  fc.constant({}),
);

const flowRecord = fc.record(
  {
    time: fc.record({ seconds: i64, nanos: i32 }, { requiredKeys: [] }),
    uuid: text,
    verdict: enumNum(7),
    drop_reason: u32,
    ethernet: fc.record({ source: text, destination: text }),
    IP: fc.record({ source: text, destination: text, ipVersion: enumNum(2), encrypted: fc.boolean() }, { requiredKeys: [] }),
    l4: layer4,
    source: endpoint,
    destination: endpoint,
    Type: enumNum(3),
    node_name: text,
    reply: fc.boolean(),
    event_type: fc.record({ type: i32, sub_type: i32 }, { requiredKeys: [] }),
    source_service: fc.record({ name: text, namespace: text }),
    traffic_direction: enumNum(2),
    policy_match_type: u32,
    trace_observation_point: enumNum(13),
    drop_reason_desc: enumNum(205),
    is_reply: fc.oneof(fc.constant({}), fc.record({ value: fc.boolean() })),
    trace_reason: enumNum(8),
    socket_cookie: u64,
    Summary: text,
  },
  { requiredKeys: [] },
);

const response: fc.Arbitrary<PbRecord> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ flow: flowRecord, node_name: text, time: fc.record({ seconds: i64, nanos: i32 }, { requiredKeys: [] }) }, { requiredKeys: ['flow'] }) },
  { weight: 1, arbitrary: fc.record({ lost_events: fc.record({ source: enumNum(3), num_events_lost: u64, cpu: fc.record({ value: i32 }) }, { requiredKeys: [] }), node_name: text }, { requiredKeys: ['lost_events'] }) },
  { weight: 1, arbitrary: fc.record({ node_status: fc.record({ state_change: enumNum(4), node_names: fc.array(text, { maxLength: 3 }), message: text }, { requiredKeys: [] }) }) },
);

const encoded = response.map((r) => encodeRecord(RESPONSE, r));

// ---------------------------------------------------------------------------------------
// Structurally random messages: the field numbers of every message the fast path reads, any
// wire type, varints from 0 to 2^64-1 (so negatives), lengths that lie.

const wireVarint = fc.oneof(
  fc.constantFrom(0n, 1n, 2n, 127n, 128n, 2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n, -1n, -2n, -(2n ** 31n)),
  fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
  fc.nat({ max: 300 }).map(BigInt),
);

function rawFields(fieldNumbers: readonly number[], nested: fc.Arbitrary<RawField[]> | null): fc.Arbitrary<RawField[]> {
  const field = fc.oneof(fc.constantFrom(...fieldNumbers), fc.integer({ min: 1, max: 40 }), fc.constantFrom(1000, 1001, 100000, 536870911));
  const one: fc.Arbitrary<RawField> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ field, wire: fc.constant(0 as const), value: wireVarint }) },
    { weight: 1, arbitrary: fc.record({ field, wire: fc.constantFrom(1 as const, 5 as const), bytes: fc.array(fc.nat({ max: 255 }), { minLength: 0, maxLength: 9 }) }) },
    { weight: 3, arbitrary: fc.record({ field, wire: fc.constant(2 as const), body: nested ?? fc.uint8Array({ maxLength: 12 }) }) },
    { weight: 1, arbitrary: fc.record({ field, wire: fc.constant(2 as const), body: fc.uint8Array({ maxLength: 12 }) }) },
  );
  return fc.array(one, { maxLength: 8 });
}

/** Bodies for sub-messages: any of Timestamp, IP, Layer4/TCP/flags, Endpoint, event type… (their field numbers are 1–9). */
const leaf = rawFields([1, 2, 3, 4, 5, 6, 7, 8, 9], null);
const mid = rawFields([1, 2, 3, 4, 5, 6, 7, 8, 9], leaf);
const inner = rawFields([1, 2, 3, 4, 5, 6, 7], mid);
/** Flow-level field numbers the fast path reads, and a few it skips. */
const flowFields = rawFields([1, 2, 3, 5, 6, 8, 9, 10, 11, 16, 19, 22, 24, 25, 26, 34, 36, 4, 13, 15, 21001], inner);
const rawResponse = fc
  .tuple(fc.constantFrom(1, 1, 1, 2, 3), flowFields, rawFields([1000, 1001, 4, 5], leaf))
  .map(([oneof, flow, extra]) => Buffer.from(rawMessage([{ field: oneof, wire: 2, body: [...L3L4_FLOW, ...flow] }, ...extra])));

// ---------------------------------------------------------------------------------------
// Byte mutations.

type Mutation = { op: 'flip'; at: number; value: number } | { op: 'insert'; at: number; bytes: number[] } | { op: 'delete'; at: number; count: number } | { op: 'cut'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 11 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), count: fc.integer({ min: 1, max: 3 }) }),
  fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
);

function mutate(bytes: Buffer, mutations: readonly Mutation[]): Buffer {
  let b = [...bytes];
  for (const m of mutations) {
    const at = b.length === 0 ? 0 : m.at % (b.length + 1);
    if (m.op === 'flip') {
      if (at < b.length) b[at] = m.value;
    } else if (m.op === 'insert') b.splice(at, 0, ...m.bytes);
    else if (m.op === 'delete') b.splice(at, m.count);
    else b = b.slice(0, at);
  }
  return Buffer.from(b);
}

describe('fast decoder ≡ protobufjs (differential)', () => {
  it('every captured flow (../shared/flows), with and without the early skip', () => {
    const dir = fileURLToPath(new URL('../../../../../shared/flows/', import.meta.url));
    let flows = 0;
    const before = skippedSeen;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.jsonl'))) {
      const r = parseCapture(readFileSync(dir + file, 'utf8'), file);
      if (!r.ok) throw new Error(`bad capture ${file}`);
      for (const record of r.value) {
        const bytes = encodeRecord(RESPONSE, record);
        expect(fast(bytes)).toEqual(reference(bytes));
        agrees(bytes);
        flows++;
      }
    }
    expect(flows).toBeGreaterThan(1000);
    expect(skippedSeen - before).toBeGreaterThan(flows / 4); // replies, continuations, remote-only flows
  });

  it('schema-shaped random responses decode alike', () => {
    fc.assert(
      fc.property(encoded, (bytes) => {
        expect(fast(bytes)).toEqual(reference(bytes));
        agrees(bytes);
      }),
      { seed: SEED, numRuns: 2000 },
    );
    expect(skippedSeen).toBeGreaterThan(20);
  });

  it('structurally random field lists (any wire type, negative and maximal varints, repeats, unknown fields) decode or reject alike', () => {
    fc.assert(fc.property(rawResponse, (bytes) => void agrees(bytes)), { seed: SEED, numRuns: 5000 });
  });

  it('mutated responses (flipped, inserted, deleted bytes) decode or reject alike', () => {
    fc.assert(
      fc.property(fc.oneof(encoded, rawResponse), fc.array(mutation, { minLength: 1, maxLength: 4 }), (bytes, ms) => void agrees(mutate(bytes, ms))),
      { seed: SEED, numRuns: 5000 },
    );
  });

  it('every truncation of random responses decodes or rejects alike', () => {
    let rejected = 0;
    let cuts = 0;
    fc.assert(
      fc.property(fc.oneof(encoded, rawResponse), (bytes) => {
        for (let n = 0; n <= bytes.length; n++) {
          cuts++;
          if (agrees(bytes.subarray(0, n)).kind === 'rejected') rejected++;
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
    // Most cuts land inside a field or a sub-message: both must reject those.
    expect(rejected).toBeGreaterThan(cuts / 2);
  });
});
