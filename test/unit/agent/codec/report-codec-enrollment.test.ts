import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { contractSetFromPb, contractSetToPb } from '../../../../proto/codec/contract-set-codec.js';
import { windowSummaryFromPb, windowSummaryToPb } from '../../../../proto/codec/report-codec.js';
import { loadProto } from '../../../../proto/loader.js';
import type { ContractSet, WindowSummary } from '../../../../core/summary/index.js';

const pkg = loadProto('rampart/v1/collector.proto') as unknown as { rampart: { v1: { Collector: grpc.ServiceClientConstructor } } };
const connect = pkg.rampart.v1.Collector.service.Connect!;
const request = (m: unknown): Record<string, unknown> => connect.requestDeserialize(connect.requestSerialize(m)) as Record<string, unknown>;
const response = (m: unknown): Record<string, unknown> => connect.responseDeserialize(connect.responseSerialize(m)) as Record<string, unknown>;

describe('Kubernetes-mode enrollment over the wire', () => {
  it('carries Enforcement.enroll_label (field 4) and leaves it out when empty', () => {
    const set: ContractSet = {
      generation: 9,
      contracts: [
        { name: 'a', revision: 1, stageIndex: 1, stageName: 'canary', policies: [], enforcement: { mode: 'percent', percent: 10, enrollLabel: 'enroll.rampart.dev/a' } },
        { name: 'b', revision: 1, stageIndex: 1, stageName: 'canary', policies: [], enforcement: { mode: 'percent', percent: 10 } },
      ],
    };
    const back = contractSetFromPb(response({ contracts: contractSetToPb(set) }).contracts);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(back.value.contracts[0]!.enforcement).toEqual({ mode: 'percent', percent: 10, enrollLabel: 'enroll.rampart.dev/a' });
    expect(back.value.contracts[1]!.enforcement).toEqual({ mode: 'percent', percent: 10 });
  });

  it('carries the enrolled sides with and without the label (ContractWindow 20, 21)', () => {
    const window = {
      contract: 'a',
      revision: 1,
      stageIndex: 1,
      stageName: 'canary',
      egress: { allow: 1, deny: 0, indeterminate: 0 },
      ingress: { allow: 0, deny: 0, indeterminate: 0 },
      actualDenies: 0,
      wouldDenyEdges: [],
      wouldDenyEdgesOverflow: 0,
      actualDenyEdges: [],
      actualDenyEdgesOverflow: 0,
    };
    const summary: WindowSummary = {
      node: 'n',
      bootId: 'b',
      seq: 1,
      windowStartMs: 1,
      windowEndMs: 2,
      mergedWindows: 1,
      hubble: { flowsSeen: 1, connections: 1, lost: {}, reconnects: 0, connected: true },
      contractsGeneration: 1,
      contracts: [{ ...window, enrollment: { missing: 7, seen: 0 } }, { ...window, contract: 'b' }],
    };
    const back = windowSummaryFromPb((request({ report: windowSummaryToPb(summary) }) as { report: unknown }).report);
    expect(back.ok).toBe(true);
    if (!back.ok) return;
    expect(back.value.contracts[0]!.enrollment).toEqual({ missing: 7, seen: 0 });
    expect(back.value.contracts[1]!.enrollment).toBeUndefined();
  });
});
