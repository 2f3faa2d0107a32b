/**
 * protojson (what `hubble observe -o json` prints) ⇄ proto-loader records, driven by the
 * proto reflection so every field of proto/hubble/ converts the same way:
 * - field names: proto names (`source_port`, `IP`); lowerCamel JSON names are accepted too;
 * - enums: names (numbers accepted on input); 64-bit integers: decimal strings on output;
 * - Timestamp: RFC 3339; wrappers (`is_reply`, `cpu`): the bare value; FieldMask: `a.b,c`;
 * - zero values, empty lists and false are omitted on output, like protojson.
 * Output field order is declaration order, as protojson's. Unknown input fields are problems.
 */
import type protobuf from 'protobufjs';
import { childPath, err, ok, problem, type Problem, type Result } from '../../core/common/index.js';
import { hubbleType, type PbRecord } from './hubble-types.js';
import { rfc3339FromTimestamp, timestampFromRfc3339, type TimestampRecord } from './hubble-time.js';

const WRAPPERS = new Set([
  '.google.protobuf.BoolValue',
  '.google.protobuf.Int32Value',
  '.google.protobuf.UInt32Value',
  '.google.protobuf.Int64Value',
  '.google.protobuf.UInt64Value',
  '.google.protobuf.StringValue',
  '.google.protobuf.DoubleValue',
  '.google.protobuf.FloatValue',
]);
const LONG_TYPES = new Set(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);
const INT32_TYPES = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32']);

type JsonValue = unknown;

interface FieldIndex {
  readonly byName: ReadonlyMap<string, protobuf.Field>;
}
const indexCache = new WeakMap<protobuf.Type, FieldIndex>();

function fieldIndex(type: protobuf.Type): FieldIndex {
  let idx = indexCache.get(type);
  if (!idx) {
    const byName = new Map<string, protobuf.Field>();
    for (const f of type.fieldsArray) {
      byName.set(f.name, f);
      byName.set(lowerCamel(f.name), f);
    }
    idx = { byName };
    indexCache.set(type, idx);
  }
  return idx;
}

function lowerCamel(name: string): string {
  return name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
}

// ---------------------------------------------------------------- JSON → record

/** Converts a protojson object of `type` into a proto-loader record, collecting every problem. */
export function recordFromJson(type: protobuf.Type, json: JsonValue, path = ''): Result<PbRecord, Problem[]> {
  const problems: Problem[] = [];
  const record = messageFromJson(type, json, path, problems);
  return problems.length === 0 && record !== undefined ? ok(record) : err(problems);
}

function messageFromJson(type: protobuf.Type, json: JsonValue, path: string, problems: Problem[]): PbRecord | undefined {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    problems.push(problem(path, `expected an object (${type.name})`));
    return undefined;
  }
  const { byName } = fieldIndex(type);
  const out: PbRecord = {};
  for (const [key, value] of Object.entries(json)) {
    const field = byName.get(key);
    const p = childPath(path, key);
    if (!field) {
      problems.push(problem(p, `unknown field of ${type.name}`));
      continue;
    }
    if (value === null) continue; // protojson: null means "not set"
    let converted: unknown;
    if (field.repeated) {
      if (!Array.isArray(value)) {
        problems.push(problem(p, 'expected a list'));
        continue;
      }
      converted = value.map((v, i) => singleFromJson(field, v, childPath(p, i), problems));
    } else {
      converted = singleFromJson(field, value, p, problems);
    }
    if (converted === undefined) continue;
    out[field.name] = converted;
    if (field.partOf) out[field.partOf.name] = field.name;
  }
  return out;
}

function singleFromJson(field: protobuf.Field, value: JsonValue, path: string, problems: Problem[]): unknown {
  const rt = field.resolvedType;
  if (rt && 'values' in rt) return enumFromJson(rt, value, path, problems);
  if (rt) return messageValueFromJson(rt, value, path, problems);
  return scalarFromJson(field.type, value, path, problems);
}

function enumFromJson(e: protobuf.Enum, value: JsonValue, path: string, problems: Problem[]): unknown {
  if (typeof value === 'string') {
    if (value in e.values) return value;
    problems.push(problem(path, `unknown ${e.name} value ${JSON.stringify(value)}`));
    return undefined;
  }
  if (typeof value === 'number' && Number.isInteger(value)) {
    // proto-loader with enums: String turns known numbers into names, keeps unknown ones.
    return e.valuesById[value] ?? value;
  }
  problems.push(problem(path, `expected a ${e.name} name`));
  return undefined;
}

function messageValueFromJson(type: protobuf.Type, value: JsonValue, path: string, problems: Problem[]): unknown {
  const full = type.fullName;
  if (full === '.google.protobuf.Timestamp') {
    const ts = typeof value === 'string' ? timestampFromRfc3339(value) : null;
    if (!ts) problems.push(problem(path, 'expected an RFC 3339 timestamp such as 2021-06-16T16:52:13.136834446Z'));
    return ts ?? undefined;
  }
  if (WRAPPERS.has(full)) {
    const inner = type.fieldsArray[0]!;
    const v = scalarFromJson(inner.type, value, path, problems);
    return v === undefined ? undefined : { value: v };
  }
  if (full === '.google.protobuf.FieldMask') {
    if (typeof value !== 'string') {
      problems.push(problem(path, 'expected a comma-separated field mask'));
      return undefined;
    }
    const paths = value === '' ? [] : value.split(',').map((s) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));
    return { paths };
  }
  if (full === '.google.protobuf.Any') {
    problems.push(problem(path, 'google.protobuf.Any is not supported'));
    return undefined;
  }
  return messageFromJson(type, value, path, problems);
}

function scalarFromJson(t: string, value: JsonValue, path: string, problems: Problem[]): unknown {
  if (t === 'string') {
    if (typeof value === 'string') return value;
    problems.push(problem(path, 'expected a string'));
    return undefined;
  }
  if (t === 'bool') {
    if (typeof value === 'boolean') return value;
    problems.push(problem(path, 'expected true or false'));
    return undefined;
  }
  if (INT32_TYPES.has(t) || LONG_TYPES.has(t)) {
    const n = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
    const unsigned = t.startsWith('u') || t === 'fixed32' || t === 'fixed64';
    const max = INT32_TYPES.has(t) ? (unsigned ? 0xffff_ffff : 0x7fff_ffff) : Number.MAX_SAFE_INTEGER;
    if (typeof n === 'number' && Number.isInteger(n) && n <= max && (unsigned ? n >= 0 : n >= -max - 1)) return n;
    problems.push(problem(path, `expected ${unsigned ? 'an unsigned' : 'an'} integer (${t})`));
    return undefined;
  }
  if (t === 'double' || t === 'float') {
    if (typeof value === 'number') return value;
    if (value === 'NaN' || value === 'Infinity' || value === '-Infinity') return Number(value);
    problems.push(problem(path, 'expected a number'));
    return undefined;
  }
  if (t === 'bytes') {
    if (typeof value === 'string') return Buffer.from(value, 'base64');
    problems.push(problem(path, 'expected base64 text'));
    return undefined;
  }
  problems.push(problem(path, `unsupported field type ${t}`));
  return undefined;
}

// ---------------------------------------------------------------- record → JSON

/** Converts a proto-loader record of `type` to the object protojson would print. */
export function jsonFromRecord(type: protobuf.Type, record: PbRecord): Record<string, JsonValue> {
  const out: Record<string, JsonValue> = {};
  for (const field of type.fieldsArray) {
    const value = record[field.name];
    if (value === undefined || value === null) continue;
    if (field.repeated) {
      if (!Array.isArray(value) || value.length === 0) continue;
      out[field.name] = value.map((v: unknown) => singleToJson(field, v, true));
      continue;
    }
    const converted = singleToJson(field, value, field.partOf !== null);
    if (converted !== undefined) out[field.name] = converted;
  }
  return out;
}

/** `keepZero`: list elements and oneof members are printed even when zero, as protojson does. */
function singleToJson(field: protobuf.Field, value: unknown, keepZero: boolean): JsonValue {
  const rt = field.resolvedType;
  if (rt && 'values' in rt) {
    const name = typeof value === 'number' ? (rt.valuesById[value] ?? value) : value;
    if (!keepZero && (name === 0 || rt.values[name as string] === 0)) return undefined;
    return name;
  }
  if (rt) return messageToJson(rt, value as PbRecord);
  return scalarToJson(field.type, value, keepZero);
}

function messageToJson(type: protobuf.Type, value: PbRecord): JsonValue {
  const full = type.fullName;
  if (full === '.google.protobuf.Timestamp') return rfc3339FromTimestamp(value as TimestampRecord);
  if (WRAPPERS.has(full)) {
    const inner = type.fieldsArray[0]!;
    return scalarToJson(inner.type, value['value'] ?? zeroOf(inner.type), true);
  }
  if (full === '.google.protobuf.FieldMask') {
    const paths = (value['paths'] as string[] | undefined) ?? [];
    return paths.map(lowerCamel).join(',');
  }
  return jsonFromRecord(type, value);
}

function zeroOf(t: string): unknown {
  if (t === 'string') return '';
  if (t === 'bool') return false;
  return 0;
}

function scalarToJson(t: string, value: unknown, keepZero: boolean): JsonValue {
  if (!keepZero && (value === 0 || value === false || value === '' || (value instanceof Uint8Array && value.length === 0))) {
    return undefined;
  }
  if (LONG_TYPES.has(t)) return String(value);
  if (t === 'bytes') return Buffer.from(value as Uint8Array).toString('base64');
  if ((t === 'double' || t === 'float') && typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return value;
}

// ---------------------------------------------------------------- lines

const RESPONSE = 'observer.GetFlowsResponse';
const FLOW = 'flow.Flow';

/**
 * Parses one `hubble observe -o json` line into a GetFlowsResponse record. Accepts the
 * `{"flow":…}` envelope and, as older CLIs printed, a bare flow (`node_name`/`time` are then
 * copied from the flow).
 */
export function parseResponseLine(line: string, where = ''): Result<PbRecord, Problem[]> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (e) {
    return err([problem(where, `not JSON: ${e instanceof Error ? e.message : String(e)}`)]);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return err([problem(where, 'expected a JSON object per line')]);
  }
  const obj = json as Record<string, unknown>;
  const isEnvelope = 'flow' in obj || 'lost_events' in obj || 'lostEvents' in obj || 'node_status' in obj || 'nodeStatus' in obj;
  if (isEnvelope) return recordFromJson(hubbleType(RESPONSE), obj, where);
  const flow = recordFromJson(hubbleType(FLOW), obj, childPath(where, 'flow'));
  if (!flow.ok) return flow;
  const response: PbRecord = { flow: flow.value, response_types: 'flow' };
  if (flow.value['node_name'] !== undefined) response['node_name'] = flow.value['node_name'];
  if (flow.value['time'] !== undefined) response['time'] = flow.value['time'];
  return ok(response);
}

/** Formats a GetFlowsResponse record as one `hubble observe -o json` line (no newline). */
export function formatResponseLine(record: PbRecord): string {
  return JSON.stringify(jsonFromRecord(hubbleType(RESPONSE), record));
}
