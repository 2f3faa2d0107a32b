/**
 * Observed edges on the wire (WindowReport fields 10/11), and compatibility both ways with
 * the protocol as it was before them: an older agent's reports still decode here, and an
 * older control plane still decodes (and ignores) a new agent's report.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { windowSummaryFromPb, windowSummaryToPb } from '../../../../proto/codec/report-codec.js';
import { PROTO_ROOT } from '../../../../proto/loader.js';
import type { WindowSummary } from '../../../../core/summary/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const OLD = protobuf.parse(fs.readFileSync(path.join(here, '../../../fixtures/proto/collector-v1-before-map.proto'), 'utf8'), { keepCase: true }).root.lookupType('rampart.v1.WindowReport');
const NEW = protobuf.parse(fs.readFileSync(path.join(PROTO_ROOT, 'rampart/v1/collector.proto'), 'utf8'), { keepCase: true }).root.lookupType('rampart.v1.WindowReport');
const CONVERSION = { longs: Number, enums: String, defaults: false, oneofs: true } as const;

const base: WindowSummary = {
  node: 'node-a',
  bootId: 'boot-1',
  seq: 3,
  windowStartMs: 1_700_000_000_000,
  windowEndMs: 1_700_000_010_000,
  mergedWindows: 1,
  hubble: { flowsSeen: 10, connections: 4, lost: {}, reconnects: 0, connected: true },
  contracts: [],
  contractsGeneration: 2,
};
const withEdges: WindowSummary = {
  ...base,
  observedEdges: [
    {
      from: { namespace: 'shop', workload: 'frontend', kind: 'pod', labels: { app: 'frontend' }, namespaceLabels: { 'kubernetes.io/metadata.name': 'shop' }, labelsPartial: false },
      to: { namespace: 'shop', workload: 'api', kind: 'pod', labels: { app: 'api', tier: 'backend' }, namespaceLabels: {}, labelsPartial: true },
      port: 8080,
      protocol: 'TCP',
      count: 3,
      firstSeenMs: 1_700_000_001_000,
      lastSeenMs: 1_700_000_009_000,
    },
    {
      from: { namespace: '', workload: 'world', kind: 'external', labels: {}, namespaceLabels: {}, labelsPartial: false },
      to: { namespace: 'shop', workload: 'frontend', kind: 'pod', labels: { app: 'frontend' }, namespaceLabels: {}, labelsPartial: false },
      port: 443,
      protocol: 'TCP',
      count: 1,
      firstSeenMs: 1_700_000_002_000,
      lastSeenMs: 1_700_000_002_000,
    },
  ],
  observedEdgesOverflow: 17,
};

const wire = (type: protobuf.Type, s: WindowSummary): Uint8Array => type.encode(type.fromObject(windowSummaryToPb(s))).finish();
const read = (type: protobuf.Type, bytes: Uint8Array): unknown => type.toObject(type.decode(bytes), CONVERSION);

describe('observed edges in WindowReport', () => {
  it('round-trip through the new schema', () => {
    expect(windowSummaryFromPb(read(NEW, wire(NEW, withEdges)))).toEqual({ ok: true, value: withEdges });
  });

  it('an older agent (no fields 10/11) still decodes here, with no edges', () => {
    const back = windowSummaryFromPb(read(NEW, wire(OLD, base)));
    expect(back).toEqual({ ok: true, value: base });
    expect(back.ok && back.value.observedEdges).toBeFalsy();
  });

  it('an older control plane decodes a new report and ignores the edges', () => {
    const bytes = wire(NEW, withEdges);
    expect(bytes.length).toBeGreaterThan(wire(NEW, base).length);
    const back = windowSummaryFromPb(read(OLD, bytes));
    expect(back).toEqual({ ok: true, value: base });
  });

  it('rejects malformed edges with field paths, and bounds the labels a sender may push', () => {
    const pb = windowSummaryToPb(withEdges);
    const bad = {
      ...pb,
      observed_edges: [
        { ...pb.observed_edges[0]!, to_kind: 'alien', count: 0, from_labels: { app: 7 } },
        { ...pb.observed_edges[1]!, last_seen_ms: 1 },
      ],
    };
    const r = windowSummaryFromPb(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.map((p) => p.path).sort()).toEqual(['observed_edges[0].count', 'observed_edges[0].from_labels.app', 'observed_edges[0].to_kind', 'observed_edges[1].last_seen_ms']);
    }
    const many = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, 'v']));
    const flooded = windowSummaryFromPb({ ...pb, observed_edges: [{ ...pb.observed_edges[0]!, from_labels: many }] });
    expect(flooded.ok).toBe(true);
    if (flooded.ok) {
      const e = flooded.value.observedEdges![0]!;
      expect(Object.keys(e.from.labels).length).toBeLessThanOrEqual(32);
      expect(e.from.labelsPartial).toBe(true);
    }
  });
});
