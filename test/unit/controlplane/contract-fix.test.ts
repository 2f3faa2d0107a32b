/**
 * The control plane's fix (GET …/fix) from evidence held in the store: the sample flow of each
 * would-deny edge is read back and fixed; an edge without a readable sample, or whose sample is
 * no longer denied, is listed as unfixable, never guessed at.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { sampleFlowJson } from '../../../agent/monitor/sample-flow.js';
import { contractFixJson } from '../../../controlplane/http/contract-fix.js';
import { EvidenceStore } from '../../../controlplane/ingest/evidence-store.js';
import type { ContractView } from '../../../core/rollout/contract-view.js';
import { parseContract } from '../../../core/contract/index.js';
import { demoDir } from '../../../sim/load-spec.js';
import { aFlow, aPod, tcp } from '../../support/builders.js';
import { aContractWindow, aSummary, anEdge } from '../../support/window-builders.js';

const T0 = Date.UTC(2026, 0, 1);

function view(store: EvidenceStore): ContractView {
  const c = parseContract(parse(readFileSync(join(demoDir(), 'contracts', 'payments-lockdown.yaml'), 'utf8')));
  if (!c.ok) throw new Error('contract');
  store.beginStage('payments-lockdown', 1, 0, T0 - 60_000);
  return { name: 'payments-lockdown', contract: c.value, state: { revision: 1, phase: 'Blocked' } } as unknown as ContractView;
}

describe('contractFixJson', () => {
  it('fixes the would-deny edges from their sample flows', () => {
    const store = new EvidenceStore();
    const v = view(store);
    const job = aPod({ namespace: 'payments', labels: { app: 'invoice-job' }, workloads: [{ name: 'invoice-job', kind: 'CronJob' }] });
    const ledger = aPod({ namespace: 'payments', labels: { app: 'ledger' }, workloads: [{ name: 'ledger', kind: 'StatefulSet' }] });
    const sample = sampleFlowJson(aFlow({ source: job, destination: ledger, l4: tcp(5432) }));
    const allowed = sampleFlowJson(aFlow({ source: aPod({ namespace: 'payments', labels: { app: 'payments-api' } }), destination: ledger, l4: tcp(5432) }));
    const edges = [
      anEdge({ fromNamespace: 'payments', fromWorkload: 'invoice-job', toNamespace: 'payments', toWorkload: 'ledger', port: 5432, count: 6, sampleFlowJson: sample }),
      anEdge({ fromNamespace: 'payments', fromWorkload: 'payments-api', toNamespace: 'payments', toWorkload: 'ledger', port: 5432, count: 2, sampleFlowJson: allowed }),
      anEdge({ fromNamespace: 'payments', fromWorkload: 'notifier', toNamespace: 'payments', toWorkload: 'ledger', port: 5432, count: 1, sampleFlowJson: '' }),
    ];
    store.ingest(aSummary({ windowEndMs: T0, contracts: [aContractWindow({ contract: 'payments-lockdown', deny: 9, wouldDenyEdges: edges })] }), T0);
    const fix = contractFixJson(v, store);
    expect(fix.edges).toEqual([expect.objectContaining({ from: 'payments/invoice-job', to: 'payments/ledger', side: 'ingress', policy: 'payments/fix-ledger-ingress' })]);
    expect(fix.yaml).toContain('app: invoice-job');
    expect(fix.unfixable).toEqual([
      { edge: 'payments/notifier → payments/ledger:5432/TCP', reason: 'the edge carries no readable sample flow' },
      { edge: 'payments/payments-api → payments/ledger:5432/TCP', reason: expect.stringContaining('not denied') as unknown },
    ]);
    expect(fix.message).toContain('add 1 NetworkPolicy');
  });

  it('fixes the would-deny edges that history holds against the revision, with no live evidence yet', () => {
    const store = new EvidenceStore();
    const v = view(store);
    const job = aPod({ namespace: 'payments', labels: { app: 'invoice-job' }, workloads: [{ name: 'invoice-job', kind: 'CronJob' }] });
    const ledger = aPod({ namespace: 'payments', labels: { app: 'ledger' }, workloads: [{ name: 'ledger', kind: 'StatefulSet' }] });
    const flow = aFlow({ source: job, destination: ledger, l4: tcp(5432) });
    const top = [{ from: 'payments/invoice-job', to: 'payments/ledger', port: 5432, protocol: 'TCP', count: 36, lastSeenMs: T0 - 86_400_000, reason: 'denied', flow }];
    const history = { fromMs: T0 - 7 * 86_400_000, toMs: T0, edges: 1, connections: 36, wouldDeny: 36, wouldDenyEdges: 1, indeterminateEdges: 0, top };
    const fix = contractFixJson({ ...v, sufficiency: { history, silentWorkloads: [], waitingFor: [] } } as unknown as ContractView, store);
    expect(fix.edges).toEqual([expect.objectContaining({ from: 'payments/invoice-job', to: 'payments/ledger', policy: 'payments/fix-ledger-ingress' })]);
    expect(fix.yaml).toContain('app: invoice-job');
    // Without the history, the same contract has nothing to fix.
    expect(contractFixJson(v, store).policies).toEqual([]);
  });

  it('says there is nothing to fix when nothing would be denied', () => {
    const store = new EvidenceStore();
    const fix = contractFixJson(view(store), store);
    expect(fix.policies).toEqual([]);
    expect(fix.message).toContain('nothing to fix');
  });
});
