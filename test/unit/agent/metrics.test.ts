import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { createAgentMetrics } from '../../../agent/metrics.js';
import type { WindowSummary } from '../../../core/summary/index.js';
import { parsePrometheusText } from '../../support/prom-text.js';

const window = (deny: number): WindowSummary => ({
  node: 'n',
  bootId: 'b',
  seq: 0,
  windowStartMs: 0,
  windowEndMs: 10_000,
  mergedWindows: 1,
  hubble: { flowsSeen: 100, connections: 10, lost: { HUBBLE_RING_BUFFER: 2 }, reconnects: 1, connected: true },
  contractsGeneration: 3,
  contracts: [
    {
      contract: 'shop',
      revision: 2,
      stageIndex: 1,
      stageName: 'canary',
      egress: { allow: 5, deny, indeterminate: 1 },
      ingress: { allow: 4, deny: 0, indeterminate: 0 },
      actualDenies: 2,
      wouldDenyEdges: [],
      wouldDenyEdgesOverflow: 7,
      actualDenyEdges: [],
      actualDenyEdgesOverflow: 0,
    },
  ],
});

describe('agent metrics', () => {
  it('advance from windows, mirror live state at scrape time, and use bounded labels only', async () => {
    const registry = new Registry();
    let merges = 0;
    const metrics = createAgentMetrics(registry, {
      hubbleConnected: () => true,
      controlplaneConnected: () => false,
      outboxWindows: () => 12,
      outboxEntries: () => 4,
      contractsActive: () => 1,
      contractsGeneration: () => 3,
      outboxStats: () => ({ merges, acked: 9, rejected: 1, resends: 2 }),
    });
    metrics.recordWindow(window(3));
    metrics.recordWindow(window(4));
    merges = 5;
    metrics.contractSetRejected();
    const m = parsePrometheusText(await registry.metrics());
    expect(m.value('rampart_agent_evaluations_total', { contract: 'shop', stage: 'canary', side: 'egress', verdict: 'deny' })).toBe(7);
    expect(m.value('rampart_agent_evaluations_total', { contract: 'shop', stage: 'canary', side: 'ingress', verdict: 'deny' })).toBe(0);
    expect(m.value('rampart_agent_flows_total')).toBe(200);
    expect(m.value('rampart_agent_lost_events_total', { source: 'HUBBLE_RING_BUFFER' })).toBe(4);
    expect(m.value('rampart_agent_actual_denies_total', { contract: 'shop', stage: 'canary' })).toBe(4);
    expect(m.value('rampart_agent_edge_overflow_total', { contract: 'shop', stage: 'canary' })).toBe(14);
    expect(m.value('rampart_agent_hubble_reconnects_total')).toBe(2);
    expect(m.value('rampart_agent_outbox_merges_total')).toBe(5);
    expect(m.value('rampart_agent_reports_acked_total')).toBe(9);
    expect(m.value('rampart_agent_outbox_windows')).toBe(12);
    expect(m.value('rampart_agent_hubble_connected')).toBe(1);
    expect(m.value('rampart_agent_controlplane_connected')).toBe(0);
    expect(m.value('rampart_agent_contract_sets_rejected_total')).toBe(1);
    expect(m.types['rampart_agent_evaluations_total']).toBe('counter');
    const labels = new Set(m.samples.flatMap((s) => Object.keys(s.labels)));
    expect([...labels].sort()).toEqual(['contract', 'side', 'source', 'stage', 'verdict']);
  });
});

describe('prom-text parser', () => {
  it('reads escaped label values and rejects garbage', () => {
    const m = parsePrometheusText('# TYPE x counter\nx{a="q\\"uo\\\\te",b="n\\nl"} 3 1700000000\ny 2.5e3\n');
    expect(m.value('x', { a: 'q"uo\\te', b: 'n\nl' })).toBe(3);
    expect(m.value('y')).toBe(2500);
    expect(() => parsePrometheusText('bad name{} 1')).toThrow();
    expect(() => parsePrometheusText('z abc')).toThrow(/bad sample value/);
  });
});
