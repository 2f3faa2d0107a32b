/**
 * The traffic map on disk: `<state>/traffic-map.json`, written whole with writeFileAtomic
 * (temporary file, fsync, rename, fsync of the folder), so a restart after kill -9 reads the
 * last complete snapshot, never a torn one. A file that does not parse is set aside
 * (`traffic-map.json.bad`) with a problem naming it, and the map starts empty: the map is
 * advisory (previews, admission warnings) and never a gate input, so an empty map can only
 * mean fewer warnings, never an advanced ramp.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ObservedPeer, ObservedPeerKind } from '../../core/summary/index.js';
import { writeFileAtomic } from '../state/atomic-file.js';
import type { TrafficMapSnapshot } from './traffic-map.js';

export const MAP_FILE = 'traffic-map.json';

export type LoadResult = { readonly kind: 'none' } | { readonly kind: 'loaded'; readonly snapshot: TrafficMapSnapshot } | { readonly kind: 'bad'; readonly problem: string; readonly movedTo: string };

const KINDS: readonly ObservedPeerKind[] = ['pod', 'external', 'reserved', 'unknown'];

function fail(where: string, what: string): never {
  throw new Error(`${where}: ${what}`);
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function labels(v: unknown, where: string): Record<string, string> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(where, 'expected an object of strings');
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') fail(`${where}.${k}`, 'expected a string');
  return v as Record<string, string>;
}

function peer(v: unknown, where: string): ObservedPeer {
  if (typeof v !== 'object' || v === null) fail(where, 'expected an object');
  const p = v as Record<string, unknown>;
  if (typeof p['namespace'] !== 'string') fail(`${where}.namespace`, 'expected a string');
  if (typeof p['workload'] !== 'string') fail(`${where}.workload`, 'expected a string');
  if (!KINDS.includes(p['kind'] as ObservedPeerKind)) fail(`${where}.kind`, `expected one of ${KINDS.join(', ')}`);
  if (typeof p['labelsPartial'] !== 'boolean') fail(`${where}.labelsPartial`, 'expected a boolean');
  return { namespace: p['namespace'], workload: p['workload'], kind: p['kind'] as ObservedPeerKind, labels: labels(p['labels'], `${where}.labels`), namespaceLabels: labels(p['namespaceLabels'], `${where}.namespaceLabels`), labelsPartial: p['labelsPartial'] };
}

function pairs(v: unknown, where: string): [number, number][] {
  if (!Array.isArray(v)) fail(where, 'expected a list of [ms, count]');
  return v.map((x, i) => {
    if (!Array.isArray(x) || x.length !== 2 || !isInt(x[0]) || !isInt(x[1])) fail(`${where}[${i}]`, 'expected [ms, count]');
    return [x[0], x[1]];
  });
}

/** Validates a parsed snapshot; throws with the field path of the first problem. */
export function parseSnapshot(raw: unknown): TrafficMapSnapshot {
  if (typeof raw !== 'object' || raw === null) fail('(document)', 'expected an object');
  const o = raw as Record<string, unknown>;
  if (o['version'] !== 1) fail('version', `expected 1, got ${JSON.stringify(o['version'])}`);
  if (!isInt(o['bucketMs'])) fail('bucketMs', 'expected an integer');
  if (!isInt(o['evictedEdges'])) fail('evictedEdges', 'expected an integer');
  if (o['collectingSinceMs'] !== undefined && !isInt(o['collectingSinceMs'])) fail('collectingSinceMs', 'expected an integer');
  if (!Array.isArray(o['edges'])) fail('edges', 'expected a list');
  const edges = o['edges'].map((e: unknown, i: number) => {
    const w = `edges[${i}]`;
    if (typeof e !== 'object' || e === null) fail(w, 'expected an object');
    const r = e as Record<string, unknown>;
    if (!isInt(r['port']) || r['port'] > 65535) fail(`${w}.port`, 'expected a port');
    if (typeof r['protocol'] !== 'string') fail(`${w}.protocol`, 'expected a string');
    if (!isInt(r['firstSeenMs'])) fail(`${w}.firstSeenMs`, 'expected an integer');
    if (!isInt(r['lastSeenMs'])) fail(`${w}.lastSeenMs`, 'expected an integer');
    return { from: peer(r['from'], `${w}.from`), to: peer(r['to'], `${w}.to`), port: r['port'], protocol: r['protocol'], firstSeenMs: r['firstSeenMs'], lastSeenMs: r['lastSeenMs'], buckets: pairs(r['buckets'], `${w}.buckets`) };
  });
  const since = isInt(o['collectingSinceMs']) ? { collectingSinceMs: o['collectingSinceMs'] } : {};
  return { version: 1, bucketMs: o['bucketMs'], evictedEdges: o['evictedEdges'], ...since, other: pairs(o['other'], 'other'), edges };
}

export function loadMapFile(stateDir: string): LoadResult {
  const file = path.join(stateDir, MAP_FILE);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'none' };
    throw e;
  }
  try {
    return { kind: 'loaded', snapshot: parseSnapshot(JSON.parse(text)) };
  } catch (e) {
    const movedTo = `${file}.bad`;
    fs.renameSync(file, movedTo);
    return { kind: 'bad', problem: `${file}: ${e instanceof Error ? e.message : String(e)}`, movedTo };
  }
}

export function saveMapFile(stateDir: string, snapshot: TrafficMapSnapshot): void {
  writeFileAtomic(path.join(stateDir, MAP_FILE), JSON.stringify(snapshot));
}
