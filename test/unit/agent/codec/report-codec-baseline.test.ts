/**
 * The brownfield fields of the protocol over the real protobuf wire: the baseline in the
 * contract set (ContractSet 3/4, ActiveContract 7) and the brownfield counts of a contract
 * window (ContractWindow 14..18). Absent stays absent, so old peers and plain windows are
 * unchanged.
 */
import type * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { ContractSet, ContractWindow, WindowSummary } from '../../../../core/summary/index.js';
import { contractSetFromPb, contractSetToPb } from '../../../../proto/codec/contract-set-codec.js';
import { windowSummaryFromPb, windowSummaryToPb } from '../../../../proto/codec/report-codec.js';
import { loadProto } from '../../../../proto/loader.js';

const pkg = loadProto('rampart/v1/collector.proto') as unknown as { rampart: { v1: { Collector: grpc.ServiceClientConstructor } } };
const connect = pkg.rampart.v1.Collector.service.Connect!;
const request = (m: unknown): Record<string, unknown> => connect.requestDeserialize(connect.requestSerialize(m)) as Record<string, unknown>;
const response = (m: unknown): Record<string, unknown> => connect.responseDeserialize(connect.responseSerialize(m)) as Record<string, unknown>;

const edge = { fromNamespace: 'shop', fromWorkload: 'web', toNamespace: 'shop', toWorkload: 'db', port: 5432, protocol: 'TCP', side: 'ingress' as const, count: 4, firstSeenMs: 10, lastSeenMs: 20, sampleFlowJson: '' };
const plain: ContractWindow = {
  contract: 'c1',
  revision: 1,
  stageIndex: 0,
  stageName: 'monitor',
  egress: { allow: 1, deny: 2, indeterminate: 0 },
  ingress: { allow: 3, deny: 0, indeterminate: 1 },
  actualDenies: 0,
  wouldDenyEdges: [],
  wouldDenyEdgesOverflow: 0,
  actualDenyEdges: [],
  actualDenyEdgesOverflow: 0,
};
const summaryOf = (contracts: ContractWindow[]): WindowSummary => ({
  node: 'n',
  bootId: 'b',
  seq: 1,
  windowStartMs: 0,
  windowEndMs: 10,
  mergedWindows: 1,
  hubble: { flowsSeen: 1, connections: 1, lost: {}, reconnects: 0, connected: true },
  contracts,
  contractsGeneration: 2,
});

describe('report codec: brownfield fields', () => {
  it('round-trips a window judged against a baseline, and leaves a plain one plain', () => {
    const judged: ContractWindow = {
      ...plain,
      contract: 'c2',
      baseline: { revision: 'abc123', egress: { alreadyDenied: 5, newlyAllowed: 0 }, ingress: { alreadyDenied: 1, newlyAllowed: 4 }, newlyAllowedEdges: [edge], newlyAllowedEdgesOverflow: 2 },
    };
    const s = summaryOf([plain, judged]);
    const back = windowSummaryFromPb(request({ report: windowSummaryToPb(s) })['report']);
    expect(back).toEqual({ ok: true, value: s });
    if (back.ok) expect('baseline' in back.value.contracts[0]!).toBe(false);
    // Judged against a baseline with nothing to count is still recorded with its revision.
    const quiet: ContractWindow = { ...plain, baseline: { revision: 'r9', egress: { alreadyDenied: 0, newlyAllowed: 0 }, ingress: { alreadyDenied: 0, newlyAllowed: 0 }, newlyAllowedEdges: [], newlyAllowedEdgesOverflow: 0 } };
    expect(windowSummaryFromPb(request({ report: windowSummaryToPb(summaryOf([quiet])) })['report'])).toEqual({ ok: true, value: summaryOf([quiet]) });
  });

  it('rejects bad brownfield counts with their field path', () => {
    const pb = windowSummaryToPb(summaryOf([{ ...plain, baseline: { revision: 'r', egress: { alreadyDenied: 1, newlyAllowed: 0 }, ingress: { alreadyDenied: 0, newlyAllowed: 0 }, newlyAllowedEdges: [edge], newlyAllowedEdgesOverflow: 0 } }]));
    const c = pb.contracts[0]!;
    const bad = { ...pb, contracts: [{ ...c, egress_changes: { already_denied: -3, newly_allowed: 0 }, newly_allowed_edges: [{ ...c.newly_allowed_edges![0], side: 'sideways' }] }] };
    const r = windowSummaryFromPb(bad);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.map((p) => p.path)).toEqual(expect.arrayContaining(['contracts[0].egress_changes.already_denied', 'contracts[0].newly_allowed_edges[0].side']));
  });

  it('round-trips the baseline of a contract set, owners and revision included', () => {
    const set: ContractSet = {
      generation: 3,
      contracts: [{ name: 'c1', revision: 1, stageIndex: 0, stageName: 'monitor', policies: [], enforcement: { mode: 'monitor' }, baselineRevision: 'rev-1' }],
      baseline: {
        revision: 'rev-1',
        policies: [
          { ref: 'shop/a', manifest: { kind: 'NetworkPolicy', metadata: { name: 'a', namespace: 'shop' } }, owner: null },
          { ref: 'shop/b', manifest: { kind: 'NetworkPolicy', metadata: { name: 'b', namespace: 'shop' } }, owner: 'c1' },
        ],
      },
    };
    expect(contractSetFromPb(response({ contracts: contractSetToPb(set) })['contracts'])).toEqual({ ok: true, value: set });
    const none: ContractSet = { generation: 4, contracts: [] };
    expect(contractSetFromPb(response({ contracts: contractSetToPb(none) })['contracts'])).toEqual({ ok: true, value: none });
  });

  it('round-trips what a contract replaces and removes (kind NetworkPolicy sent as "", a cluster-wide kind without namespace)', () => {
    const set: ContractSet = {
      generation: 5,
      contracts: [
        {
          name: 'c1',
          revision: 2,
          stageIndex: 1,
          stageName: 'half',
          policies: [],
          enforcement: { mode: 'percent', percent: 50 },
          baselineRevision: 'rev-1',
          replaces: [{ kind: 'NetworkPolicy', namespace: 'shop', name: 'a' }],
          removes: [{ kind: 'CiliumNetworkPolicy', namespace: 'shop', name: 'b' }, { kind: 'CiliumClusterwideNetworkPolicy', namespace: '', name: 'c' }],
        },
      ],
      baseline: { revision: 'rev-1', policies: [] },
    };
    const pb = contractSetToPb(set);
    expect(pb.contracts[0]!.replaces).toEqual([{ kind: '', namespace: 'shop', name: 'a' }]);
    expect(contractSetFromPb(response({ contracts: pb })['contracts'])).toEqual({ ok: true, value: set });
    const bad = contractSetFromPb({ ...pb, contracts: [{ ...pb.contracts[0]!, removes: [{ kind: 'X', namespace: 'shop', name: '' }] }] });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.map((p) => p.path)).toEqual(['contracts[0].removes[0].name']);
  });

  it('names a baseline manifest that is not JSON', () => {
    const pb = contractSetToPb({ generation: 1, contracts: [], baseline: { revision: 'r', policies: [{ ref: 'shop/a', manifest: {}, owner: null }] } });
    const r = contractSetFromPb({ ...pb, baseline: [{ ref: 'shop/a', manifest_json: '{oops', owner: '' }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]!.path).toBe('baseline[0].manifest_json');
  });
});
