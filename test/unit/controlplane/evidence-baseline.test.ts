/**
 * Brownfield evidence at the control plane: already-denied sides count as evaluated but never
 * as would-deny, newly-allowed ones are allowed and counted apart (and capped by
 * gates.maxNewlyAllowed), and a new baseline revision is recorded beside the evidence
 * without resetting it.
 */
import { describe, expect, it } from 'vitest';
import { EvidenceStore } from '../../../controlplane/ingest/evidence-store.js';
import type { CoverageOptions } from '../../../controlplane/ingest/node-liveness.js';
import { assessStage } from '../../../core/rollout/assess-stage.js';
import type { ContractWindow } from '../../../core/summary/index.js';
import { parseContract } from '../../../core/contract/index.js';
import { aContractWindow, aSummary, anEdge, contractDoc } from '../../support/window-builders.js';

const T0 = Date.UTC(2026, 0, 1);
const cov = (nowMs: number): CoverageOptions => ({ nowMs, maxReportAgeMs: 30_000, configuredNodes: [], expectedNodeTtlMs: 600_000 });

const judged = (revision: string, o: { allow?: number; deny?: number; alreadyDenied?: number; newlyAllowed?: number } = {}): ContractWindow => ({
  ...aContractWindow({ allow: o.allow ?? 0, deny: o.deny ?? 0 }),
  baseline: {
    revision,
    egress: { alreadyDenied: o.alreadyDenied ?? 0, newlyAllowed: 0 },
    ingress: { alreadyDenied: 0, newlyAllowed: o.newlyAllowed ?? 0 },
    newlyAllowedEdges: (o.newlyAllowed ?? 0) > 0 ? [anEdge({ side: 'ingress', count: o.newlyAllowed! })] : [],
    newlyAllowedEdgesOverflow: 0,
  },
});

describe('EvidenceStore with a baseline', () => {
  it('counts already-denied as evaluated but not denied, newly-allowed as allowed and apart', () => {
    const s = new EvidenceStore();
    s.beginStage('shop-lockdown', 1, 0, T0 - 60_000);
    s.ingest(aSummary({ node: 'node-a', windowEndMs: T0, contracts: [judged('r1', { allow: 10, deny: 2, alreadyDenied: 7, newlyAllowed: 3 })] }), T0);
    s.ingest(aSummary({ node: 'node-b', windowEndMs: T0, contracts: [judged('r1', { allow: 5, alreadyDenied: 1 })] }), T0);
    const e = s.evidence('shop-lockdown', 1, 0, cov(T0));
    expect(e).toMatchObject({ flows: 25, allow: 15, deny: 2, alreadyDenied: 8, newlyAllowed: 3, baselineRevision: 'r1', baselineRevisions: 1 });
    expect(e.topNewlyAllowedEdges).toHaveLength(1);
    expect(e.topNewlyAllowedEdges[0]).toMatchObject({ side: 'ingress', count: 3 });
    // The would-deny edges are not mixed with the newly allowed ones.
    expect(s.edges('shop-lockdown')).toEqual([]);
  });

  it('records a new baseline revision without resetting the evidence', () => {
    const s = new EvidenceStore();
    s.beginStage('shop-lockdown', 1, 0, T0 - 60_000);
    s.ingest(aSummary({ seq: 1, windowEndMs: T0, contracts: [judged('r1', { allow: 10, deny: 1 })] }), T0);
    s.ingest(aSummary({ seq: 2, windowEndMs: T0 + 1000, contracts: [judged('r2', { allow: 4 })] }), T0 + 1000);
    const e = s.evidence('shop-lockdown', 1, 0, cov(T0 + 1000));
    expect(e).toMatchObject({ flows: 15, allow: 14, deny: 1, baselineRevision: 'r2', baselineRevisions: 2 });
  });

  it('windows without a baseline leave the brownfield evidence empty', () => {
    const s = new EvidenceStore();
    s.beginStage('shop-lockdown', 1, 0, T0 - 60_000);
    s.ingest(aSummary({ windowEndMs: T0, contracts: [aContractWindow({ allow: 3, deny: 1 })] }), T0);
    expect(s.evidence('shop-lockdown', 1, 0, cov(T0))).toMatchObject({ flows: 4, alreadyDenied: 0, newlyAllowed: 0, baselineRevision: null, baselineRevisions: 0 });
  });
});

describe('gates with a baseline', () => {
  const contractWith = (gates: Record<string, unknown>) => {
    const doc = contractDoc({ minDuration: '1s', maxWouldDeny: 0 });
    const spec = doc['spec'] as Record<string, unknown>;
    const r = parseContract({ ...doc, spec: { ...spec, gates: { ...(spec['gates'] as object), ...gates } } });
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    return r.value;
  };
  const evidenceOf = (o: { deny: number; alreadyDenied: number; newlyAllowed: number }) => {
    const s = new EvidenceStore();
    s.beginStage('shop-lockdown', 1, 0, T0 - 60_000);
    s.nodeConnected('node-1', T0);
    s.ingest(aSummary({ node: 'node-1', windowEndMs: T0, contracts: [judged('r1', { allow: 100, ...o })] }), T0);
    return s.evidence('shop-lockdown', 1, 0, cov(T0));
  };
  const assess = (gates: Record<string, unknown>, o: { deny: number; alreadyDenied: number; newlyAllowed: number }) =>
    assessStage({ contract: contractWith(gates), stageIndex: 0, stageEnteredAtMs: T0 - 60_000, nowMs: T0, evidence: evidenceOf(o) });

  it('already-denied sides never hold a contract; newly denied ones do', () => {
    expect(assess({}, { deny: 0, alreadyDenied: 50, newlyAllowed: 0 }).decision).toBe('advance');
    const held = assess({}, { deny: 1, alreadyDenied: 50, newlyAllowed: 0 });
    expect(held.decision).toBe('hold');
    expect(held.reasons.join('\n')).toContain('would-deny 1 > 0');
  });

  it('gates.maxNewlyAllowed caps what the contract opens; without it, opening is reported, not held', () => {
    expect(assess({}, { deny: 0, alreadyDenied: 0, newlyAllowed: 9 }).decision).toBe('advance');
    expect(assess({ maxNewlyAllowed: 9 }, { deny: 0, alreadyDenied: 0, newlyAllowed: 9 }).decision).toBe('advance');
    const capped = assess({ maxNewlyAllowed: 2 }, { deny: 0, alreadyDenied: 0, newlyAllowed: 9 });
    expect(capped.decision).toBe('hold');
    expect(capped.gates.find((g) => g.gate === 'maxNewlyAllowed')).toMatchObject({ phase: 'failed', message: expect.stringContaining('newly allowed 9 > 2') as unknown });
  });
});
