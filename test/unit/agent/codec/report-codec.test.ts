import { describe, expect, it } from 'vitest';
import type * as grpc from '@grpc/grpc-js';
import { loadProto } from '../../../../proto/loader.js';
import { contractSetFromPb, contractSetToPb } from '../../../../proto/codec/contract-set-codec.js';
import { windowSummaryFromPb, windowSummaryToPb } from '../../../../proto/codec/report-codec.js';
import type { ContractSet, WindowSummary } from '../../../../core/summary/index.js';

// The real wire: serialise with the service definition grpc-js uses, and read it back.
const pkg = loadProto('rampart/v1/collector.proto') as unknown as {
  rampart: { v1: { Collector: grpc.ServiceClientConstructor } };
};
const connect = pkg.rampart.v1.Collector.service.Connect!;

function overTheWire(message: unknown, direction: 'request' | 'response'): Record<string, unknown> {
  if (direction === 'request') return connect.requestDeserialize(connect.requestSerialize(message)) as Record<string, unknown>;
  return connect.responseDeserialize(connect.responseSerialize(message)) as Record<string, unknown>;
}

const summary: WindowSummary = {
  node: 'node-a',
  bootId: 'boot-1',
  seq: 7,
  windowStartMs: 1_700_000_000_000,
  windowEndMs: 1_700_000_010_000,
  mergedWindows: 1,
  hubble: { flowsSeen: 1200, connections: 300, lost: { HUBBLE_RING_BUFFER: 3, PERF_EVENT_RING_BUFFER: 1 }, reconnects: 1, connected: true },
  contractsGeneration: 4,
  contracts: [
    {
      contract: 'shop-lockdown',
      revision: 2,
      stageIndex: 1,
      stageName: 'canary',
      egress: { allow: 10, deny: 2, indeterminate: 1 },
      ingress: { allow: 5, deny: 0, indeterminate: 0 },
      actualDenies: 3,
      wouldDenyEdges: [
        {
          fromNamespace: 'shop',
          fromWorkload: 'frontend',
          toNamespace: 'payments',
          toWorkload: 'db',
          port: 5432,
          protocol: 'TCP',
          side: 'egress',
          count: 2,
          firstSeenMs: 1_700_000_001_000,
          lastSeenMs: 1_700_000_002_000,
          sampleFlowJson: '{"flow":{}}',
        },
      ],
      wouldDenyEdgesOverflow: 0,
      actualDenyEdges: [],
      actualDenyEdgesOverflow: 5,
    },
  ],
};

describe('report codec', () => {
  it('round-trips a window summary through the protobuf wire format', () => {
    const wire = overTheWire({ report: windowSummaryToPb(summary) }, 'request');
    expect(wire.body).toBe('report');
    const back = windowSummaryFromPb(wire.report);
    expect(back).toEqual({ ok: true, value: summary });
  });

  it('round-trips a contract set', () => {
    const set: ContractSet = {
      generation: 9,
      contracts: [
        { name: 'a', revision: 1, stageIndex: 0, stageName: 'monitor', policies: [{ kind: 'NetworkPolicy' }], enforcement: { mode: 'monitor' } },
        { name: 'b', revision: 3, stageIndex: 2, stageName: 'half', policies: [], enforcement: { mode: 'percent', percent: 50 } },
        { name: 'c', revision: 1, stageIndex: 1, stageName: 'ns1', policies: [], enforcement: { mode: 'namespaces', namespaces: ['shop', 'web'] } },
      ],
    };
    const wire = overTheWire({ contracts: contractSetToPb(set) }, 'response');
    expect(contractSetFromPb(wire.contracts)).toEqual({ ok: true, value: set });
  });

  it('lists every problem of a malformed report with its field path', () => {
    const pb = windowSummaryToPb(summary) as unknown as Record<string, unknown>;
    const bad = {
      ...pb,
      node: '',
      seq: 0,
      window_end_ms: 5,
      contracts: [
        { ...(pb.contracts as object[])[0], egress: { allow: -1 }, would_deny_edges: [{ side: 'sideways', count: 1 }] },
        'nope',
      ],
    };
    const r = windowSummaryFromPb(bad);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.error.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(['node', 'seq', 'window_end_ms', 'contracts[0].egress.allow', 'contracts[0].would_deny_edges[0].side', 'contracts[1]']),
    );
  });

  it('rejects a non-object and a contract set with bad JSON policies', () => {
    expect(windowSummaryFromPb(42).ok).toBe(false);
    const r = contractSetFromPb({ generation: 1, contracts: [{ name: 'x', stage_name: 'm', policies_json: '{', enforcement: { mode: 'monitor' } }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]?.path).toBe('contracts[0].policies_json');
  });
});
