/** The coverage answer is reused within a pass, and never across a change of any node's liveness. */
import { describe, expect, it } from 'vitest';
import { EvidenceStore } from '../../../controlplane/ingest/evidence-store.js';
import { aSummary } from '../../support/window-builders.js';

describe('EvidenceStore coverage memo', () => {
  const o = (nowMs: number, maxReportAgeMs = 30_000) => ({ nowMs, maxReportAgeMs, configuredNodes: [] as string[], expectedNodeTtlMs: 600_000 });

  it('answers the same question once, and again after a report, a connect or a seeded node', () => {
    const store = new EvidenceStore();
    store.beginStage('shop-lockdown', 1, 0, 0);
    const t = Date.UTC(2026, 0, 1);
    store.ingest(aSummary({ node: 'a', windowEndMs: t }), t);
    const first = store.coverage(o(t));
    expect(first.reporting).toEqual(['a']);
    expect(store.coverage(o(t))).toBe(first);
    // Another report at the same instant changes the answer: not served from the memo.
    store.ingest(aSummary({ node: 'b', windowEndMs: t }), t);
    expect(store.coverage(o(t)).reporting).toEqual(['a', 'b']);
    store.nodeConnected('c', t);
    expect(store.coverage(o(t)).expected).toEqual(['a', 'b', 'c']);
    store.seedNode('d', t);
    expect(store.coverage(o(t)).silent.map((s) => s.node)).toEqual(['c', 'd']);
    // A different report age or clock is a different question.
    expect(store.coverage(o(t + 40_000)).reporting).toEqual([]);
    expect(store.coverage(o(t + 40_000, 60_000)).reporting).toEqual(['a', 'b']);
  });
});
