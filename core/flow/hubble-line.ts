/**
 * One line of `hubble observe -o json` / `-o jsonpb` (or of the Hubble file exporter): a
 * `GetFlowsResponse` envelope (`{"flow":…}`, `{"lost_events":…}`, `{"node_status":…}`) or,
 * from older CLIs, a bare Flow (hubble.md 7.1).
 */
import { err, formatProblems, ok, isObject, type Result } from '../common/index.js';
import type { Flow } from './flow.js';
import { flowFromRecord } from './from-record.js';
import { readUint, showValue } from './endpoint.js';

export type HubbleRecord =
  | { readonly kind: 'flow'; readonly flow: Flow; readonly raw: unknown }
  /** Events Hubble could not deliver: `count` of them, lost at `source`. */
  | { readonly kind: 'lost'; readonly source: string; readonly count: number; readonly timeMs: number | null; readonly node: string }
  /** A line that carries no flow (`node_status`, an empty envelope, a blank line): `what` says which. */
  | { readonly kind: 'other'; readonly what: string };

/** Fields only a Flow has; a bare (legacy) flow line has at least one of them. */
const BARE_FLOW_KEYS = ['verdict', 'IP', 'l4', 'source', 'destination', 'Type', 'event_type', 'uuid'] as const;
const LOST_SOURCES = ['UNKNOWN_LOST_EVENT_SOURCE', 'PERF_EVENT_RING_BUFFER', 'OBSERVER_EVENTS_QUEUE', 'HUBBLE_RING_BUFFER'];

/** A LostEvent record (protojson or proto-loader shape) with the envelope's node and time. */
export function lostEventFromRecord(
  lost: unknown,
  envelope: { readonly node_name?: unknown; readonly time?: unknown },
): Result<Extract<HubbleRecord, { kind: 'lost' }>, string> {
  if (!isObject(lost)) return err('lost_events: expected an object');
  const problems: { path: string; message: string }[] = [];
  // uint64: a string in protojson, a number from proto-loader; 0 is omitted
  const count = readUint(lost['num_events_lost'] ?? 0, 'lost_events.num_events_lost', problems);
  const src = lost['source'];
  const source = typeof src === 'string' ? src : typeof src === 'number' ? (LOST_SOURCES[src] ?? String(src)) : 'UNKNOWN_LOST_EVENT_SOURCE';
  let timeMs: number | null = null;
  // the response time, else the newer LostEvent's own last/first timestamps
  const t = envelope.time ?? lost['last'] ?? lost['first'];
  if (typeof t === 'string') {
    const ms = Date.parse(t);
    timeMs = Number.isNaN(ms) ? null : ms;
  } else if (isObject(t) && typeof t['seconds'] === 'number') {
    timeMs = t['seconds'] * 1000 + Math.floor((typeof t['nanos'] === 'number' ? t['nanos'] : 0) / 1e6);
  }
  if (count === null || problems.length > 0) return err(formatProblems(problems));
  return ok({ kind: 'lost', source, count, timeMs, node: typeof envelope.node_name === 'string' ? envelope.node_name : '' });
}

/**
 * Parses one line. Errors are one-line messages saying what was expected (`flow.l4.TCP:
 * expected an object`); the caller prefixes file and line.
 */
export function parseHubbleLine(text: string): Result<HubbleRecord, string> {
  // a UTF-8 byte-order mark (files saved on Windows) is not part of the JSON
  const line = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let start = 0;
  while (start < line.length && (line.charCodeAt(start) === 32 || line.charCodeAt(start) === 9 || line.charCodeAt(start) === 13)) start++;
  if (start === line.length) return ok({ kind: 'other', what: 'blank line' });
  let parsed: unknown;
  try {
    parsed = JSON.parse(line);
  } catch (e) {
    return err(`expected one JSON object per line (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isObject(parsed)) return err(`expected a JSON object, got ${Array.isArray(parsed) ? 'an array' : showValue(parsed)}`);

  const flowRecord = parsed['flow'];
  if (flowRecord !== undefined) {
    const r = flowFromRecord(flowRecord, parsed);
    if (!r.ok) return err(r.error.map((p) => (p.path ? `flow.${p.path}: ${p.message}` : `flow: ${p.message}`)).join('; '));
    return ok({ kind: 'flow', flow: r.value, raw: parsed });
  }
  if (parsed['lost_events'] !== undefined) return lostEventFromRecord(parsed['lost_events'], parsed);
  if (parsed['node_status'] !== undefined) return ok({ kind: 'other', what: 'node_status' });
  for (const key of BARE_FLOW_KEYS) {
    if (parsed[key] !== undefined) {
      const r = flowFromRecord(parsed);
      if (!r.ok) return err(formatProblems(r.error).replaceAll('\n', '; '));
      return ok({ kind: 'flow', flow: r.value, raw: parsed });
    }
  }
  if (parsed['node_name'] !== undefined || parsed['time'] !== undefined) return ok({ kind: 'other', what: 'empty response' });
  return err('expected a Hubble GetFlowsResponse ({"flow":…}, {"lost_events":…} or {"node_status":…}) or a bare flow');
}
