/**
 * A week of the simulated cluster's traffic for the demo's traffic map, written before the
 * control plane starts, so a contract is judged on history from its first second (product.md
 * "Enough evidence"). Ten minutes of the traffic model's connections are sampled and spread
 * evenly over the map's buckets of the last `days`: the counts are what a week of that traffic
 * would leave. Periodic jobs on a CronJob schedule and late callers are left out: in the
 * story they are new (the invoicing job was created with the demo), so history has not seen them.
 *
 * Written in the map file format the control plane loads (version 1, controlplane/map).
 */
import { writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { flowFromRecord } from '../../core/flow/index.js';
import { observedEdgeId, observedPeerOf, type ObservedPeer } from '../../core/summary/index.js';
import type { ClusterSpec } from '../cluster-spec.js';
import { buildCluster } from '../cluster.js';
import { synRecord } from '../core-judge.js';
import { seededRandom } from '../random.js';
import { TrafficModel } from '../traffic.js';

const DAY_MS = 86_400_000;
const SAMPLE_MS = 10 * 60_000;
/** The map's bucket size at its default retention (7 d / 42 buckets), so buckets line up. */
const BUCKET_MS = Math.floor((7 * DAY_MS) / 42);
export const MAP_FILE = 'traffic-map.json';

interface SeedEdge {
  from: ObservedPeer;
  to: ObservedPeer;
  port: number;
  protocol: string;
  count: number;
}

export function historySeed(spec: ClusterSpec, nowMs: number, days = 7, seed = 7): Record<string, unknown> {
  const cluster = buildCluster(spec, seededRandom(seed));
  const steady = { ...spec, calls: spec.calls.filter((c) => c.schedule === null) };
  const model = new TrafficModel(cluster, steady, seededRandom(seed + 1));
  const edges = new Map<string, SeedEdge>();
  for (const p of model.plan(nowMs - SAMPLE_MS, nowMs)) {
    const parsed = flowFromRecord(synRecord(p.conn));
    if (!parsed.ok) continue;
    const e = { from: observedPeerOf(parsed.value.source), to: observedPeerOf(parsed.value.destination), port: p.conn.dstPort, protocol: p.conn.protocol };
    const id = observedEdgeId(e);
    const have = edges.get(id);
    if (have) have.count++;
    else edges.set(id, { ...e, count: 1 });
  }
  const since = nowMs - days * DAY_MS;
  const first = since - (since % BUCKET_MS);
  const buckets: number[] = [];
  for (let b = first; b <= nowMs - BUCKET_MS; b += BUCKET_MS) buckets.push(b);
  const scale = (days * DAY_MS) / SAMPLE_MS / Math.max(1, buckets.length);
  return {
    version: 1,
    bucketMs: BUCKET_MS,
    evictedEdges: 0,
    collectingSinceMs: since,
    other: [],
    edges: [...edges.values()].map((e) => ({
      from: e.from,
      to: e.to,
      port: e.port,
      protocol: e.protocol,
      firstSeenMs: since,
      lastSeenMs: buckets.at(-1)! + BUCKET_MS - 1,
      buckets: buckets.map((b) => [b, Math.max(1, Math.round(e.count * scale))]),
    })),
  };
}

/** Writes the seed into the control plane's state folder (before it starts). */
export function writeHistorySeed(stateDir: string, spec: ClusterSpec, nowMs: number): number {
  const snapshot = historySeed(spec, nowMs);
  writeFileSync(path.join(stateDir, MAP_FILE), JSON.stringify(snapshot));
  return (snapshot['edges'] as unknown[]).length;
}
