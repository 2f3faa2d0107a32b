/**
 * The sub-message records of the fast Hubble decoder that repeat from flow to flow: TCP
 * flags, event types, BoolValues and endpoints. They decode to shared records (frozen where
 * they are small), which changes no result, since the mapping only reads them, and saves
 * allocations on the hot path. One `SharedRecords` belongs to one decoder.
 */
import { endpointFromRecord, type Endpoint } from '../../../core/flow/index.js';
import { D_FLAGS, D_IN_FLOW, D_IN_L4, type WireReader } from './wire-reader.js';

export type Rec = Record<string, unknown>;

const MAX_SHARED_RECORDS = 1024; // in practice a handful of each; cleared if ever full
export const BOOL_UNSET: Rec = Object.freeze({});
export const BOOL_TRUE: Rec = Object.freeze({ value: true });
export const BOOL_FALSE: Rec = Object.freeze({ value: false });

const FLAG_NAMES = ['', 'FIN', 'SYN', 'RST', 'PSH', 'ACK', 'URG', 'ECE', 'CWR', 'NS'];

/**
 * NOTE: endpoints repeat across flows (a node sees the same few pods over and over), so a
 * decoded Endpoint record is memoised by its exact wire bytes. Equal bytes decode to equal
 * records, so this changes no result; sharing the record (and its labels array) also lets
 * core's identity memo confirm a hit by reference. Bounded: a two-way set-associative table
 * (the less recently used way is replaced), so two endpoints that share a set do not evict
 * each other flow after flow.
 */
const ENDPOINT_SETS = 4096;

interface CachedEndpoint {
  readonly bytes: Buffer;
  readonly record: Rec;
  /** The domain Endpoint of the record, made on first use (equal records map alike). */
  endpoint: Endpoint | undefined;
}

const NO_PROBLEMS: never[] = [];

export function boolValue(r: WireReader): Rec {
  let out = BOOL_UNSET;
  while (r.pos < r.end) {
    const tag = r.u32();
    if (tag >>> 3 === 1) out = r.bool() ? BOOL_TRUE : BOOL_FALSE;
    else r.unknown(tag, D_IN_FLOW);
  }
  return out;
}

/**
 * A cheap key: the length, the first 16 bytes (Hubble writes the fields in number order, so
 * the endpoint ID and the security identity, which tell endpoints apart, come first) and about
 * 16 bytes sampled from the rest. A hit is confirmed by memcmp.
 */
function sampleKey(buf: Buffer, start: number, end: number): number {
  const len = end - start;
  let h = Math.imul(len, 0x9e3779b1);
  const head = end - start > 16 ? start + 16 : end;
  let i = start;
  for (; i < head; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
  const rest = end - head;
  const step = rest > 16 ? (rest / 16) | 0 : 1;
  for (; i < end; i += step) h = Math.imul(h ^ buf[i]!, 0x01000193);
  h ^= h >>> 15;
  return end > start ? h ^ buf[end - 1]! : h;
}

function sameBytes(cached: CachedEndpoint | undefined, buf: Buffer, start: number, end: number): cached is CachedEndpoint {
  return cached !== undefined && cached.bytes.length === end - start && cached.bytes.compare(buf, start, end) === 0;
}

function workload(r: WireReader): Rec {
  const out: Rec = {};
  while (r.pos < r.end) {
    const tag = r.u32();
    const field = tag >>> 3;
    if (field === 1) out['name'] = r.string();
    else if (field === 2) out['kind'] = r.string();
    else r.unknown(tag, D_IN_L4);
  }
  return out;
}

function endpoint(r: WireReader): Rec {
  const out: Rec = {};
  let labels: string[] | undefined;
  let workloads: Rec[] | undefined;
  while (r.pos < r.end) {
    const tag = r.u32();
    switch (tag >>> 3) {
      case 1:
        out['ID'] = r.u32();
        break;
      case 2:
        out['identity'] = r.u32();
        break;
      case 3:
        out['namespace'] = r.string();
        break;
      case 4:
        (labels ??= []).push(r.string());
        break;
      case 5:
        out['pod_name'] = r.string();
        break;
      case 6: {
        const outer = r.enter();
        (workloads ??= []).push(workload(r));
        r.leave(outer);
        break;
      }
      case 7:
        out['cluster_name'] = r.string();
        break;
      default:
        r.unknown(tag, D_IN_FLOW);
    }
  }
  if (labels) out['labels'] = labels;
  if (workloads) out['workloads'] = workloads;
  return out;
}

export class SharedRecords {
  /** Flag records by (fields present, fields true), each a 9-bit mask. */
  readonly #flagRecords = new Map<number, Rec>();
  /** Event type records by (type, sub_type), for the common small values. */
  readonly #eventTypeRecords = new Map<number, Rec>();
  /** Set k is slots 2k (the more recently used way) and 2k + 1. */
  readonly #endpointSlots: (CachedEndpoint | undefined)[] = new Array<CachedEndpoint | undefined>(2 * ENDPOINT_SETS).fill(undefined);
  /** The cache entry of a record made here (the cached one's when it came from the cache). */
  readonly #endpointOfRecord = new WeakMap<Rec, CachedEndpoint>();

  tcpFlags(r: WireReader): Rec {
    let present = 0;
    let set = 0;
    while (r.pos < r.end) {
      const tag = r.u32();
      const field = tag >>> 3;
      if (field >= 1 && field <= 9) {
        const bit = 1 << field;
        present |= bit;
        if (r.bool()) set |= bit;
        else set &= ~bit; // a repeated field: the last value wins
      } else r.unknown(tag, D_FLAGS);
    }
    const key = present * 1024 + set;
    const records = this.#flagRecords;
    let out = records.get(key);
    if (out === undefined) {
      const rec: Rec = {};
      for (let field = 1; field <= 9; field++) if (present & (1 << field)) rec[FLAG_NAMES[field]!] = (set & (1 << field)) !== 0;
      out = Object.freeze(rec);
      if (records.size >= MAX_SHARED_RECORDS) records.clear();
      records.set(key, out);
    }
    return out;
  }

  eventType(r: WireReader): Rec {
    let type: number | undefined;
    let subType: number | undefined;
    while (r.pos < r.end) {
      const tag = r.u32();
      const field = tag >>> 3;
      if (field === 1) type = r.i32();
      else if (field === 2) subType = r.i32();
      else r.unknown(tag, D_IN_FLOW);
    }
    const small = (v: number | undefined): boolean => v === undefined || (v >= 0 && v < 1024);
    if (!small(type) || !small(subType)) {
      const out: Rec = {};
      if (type !== undefined) out['type'] = type;
      if (subType !== undefined) out['sub_type'] = subType;
      return out;
    }
    const key = (type === undefined ? 1024 : type) * 2048 + (subType === undefined ? 1024 : subType);
    const records = this.#eventTypeRecords;
    let out = records.get(key);
    if (out === undefined) {
      const rec: Rec = {};
      if (type !== undefined) rec['type'] = type;
      if (subType !== undefined) rec['sub_type'] = subType;
      out = Object.freeze(rec);
      if (records.size >= MAX_SHARED_RECORDS) records.clear();
      records.set(key, out);
    }
    return out;
  }

  /** An Endpoint sub-message, from the cache when the same bytes were decoded before. */
  endpoint(r: WireReader): Rec {
    const start = r.pos;
    const end = r.end;
    const slots = this.#endpointSlots;
    const slot = (sampleKey(r.buf, start, end) & (ENDPOINT_SETS - 1)) * 2;
    const first = slots[slot];
    if (sameBytes(first, r.buf, start, end)) {
      r.pos = end;
      return first.record;
    }
    const second = slots[slot + 1];
    if (sameBytes(second, r.buf, start, end)) {
      slots[slot] = second;
      slots[slot + 1] = first;
      r.pos = end;
      return second.record;
    }
    const record = endpoint(r);
    // A copy: the message buffer is not ours to keep.
    const entry: CachedEndpoint = { bytes: Buffer.from(r.buf.subarray(start, end)), record, endpoint: undefined };
    slots[slot + 1] = first;
    slots[slot] = entry;
    this.#endpointOfRecord.set(record, entry);
    return record;
  }

  /** The domain Endpoint of a record (mapped once per cached record). */
  domainEndpoint(record: Rec | undefined, side: 'source' | 'destination'): Endpoint {
    if (record === undefined) return endpointFromRecord(undefined, side, NO_PROBLEMS);
    const cached = this.#endpointOfRecord.get(record);
    if (cached === undefined) return endpointFromRecord(record, side, NO_PROBLEMS);
    // Records built here always have the right field types, so endpointFromRecord finds no problem.
    cached.endpoint ??= endpointFromRecord(record, side, NO_PROBLEMS);
    return cached.endpoint;
  }
}
