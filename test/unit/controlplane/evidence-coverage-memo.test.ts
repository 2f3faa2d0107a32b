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

  it('keeps the expected list while its members stay, and changes it when one joins, swaps or leaves', () => {
    const store = new EvidenceStore();
    store.beginStage('shop-lockdown', 1, 0, 0);
    const t = Date.UTC(2026, 0, 1);
    for (const node of ['n2', 'n1', 'n3']) store.ingest(aSummary({ node, windowEndMs: t }), t);
    const first = store.coverage(o(t)).expected;
    expect(first).toEqual(['n1', 'n2', 'n3']);
    // Reports change the answer (reporting) but not who is expected.
    store.ingest(aSummary({ node: 'n1', seq: 2, windowEndMs: t + 1000 }), t + 1000);
    expect(store.coverage(o(t + 1000)).expected).toBe(first);
    store.nodeConnected('n0', t + 2000);
    expect(store.coverage(o(t + 2000)).expected).toEqual(['n0', 'n1', 'n2', 'n3']);
    // Past the TTL only the connected n0 and the node that reported since stay expected.
    const later = t + 603_000;
    store.ingest(aSummary({ node: 'n3', seq: 2, windowEndMs: later }), later);
    expect(store.coverage(o(later)).expected).toEqual(['n0', 'n3']);
    // Same size, other members: n0 leaves, n4 arrives.
    store.nodeDisconnected('n0', t + 2000);
    store.nodeConnected('n4', later);
    expect(store.coverage(o(later)).expected).toEqual(['n3', 'n4']);
  });
});

