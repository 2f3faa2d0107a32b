/**
 * The edge order of the evidence store (top would-deny / actual-deny edges, the edges
 * endpoint) is a total order: the same edges give the same list whatever order the reports
 * and the edges in them arrived in, and nothing with equal counts is left to chance.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareEdgeViews, EvidenceStore } from '../../../controlplane/ingest/evidence-store.js';
import type { CoverageOptions } from '../../../controlplane/ingest/node-liveness.js';
import type { Edge } from '../../../core/summary/index.js';
import { aContractWindow, aSummary, anEdge } from '../../support/window-builders.js';

const T0 = Date.UTC(2026, 0, 1);
const cov: CoverageOptions = { nowMs: T0, maxReportAgeMs: 30_000, configuredNodes: [], expectedNodeTtlMs: 600_000 };

// Small vocabularies, so ties on count and on every other field are common; names chosen so
// that `from + to` concatenations collide ("a" + "bc" = "ab" + "c").
const arbEdge: fc.Arbitrary<Edge> = fc
  .record({
    fromNamespace: fc.constantFrom('', 'a', 'ab'),
    fromWorkload: fc.constantFrom('b', 'c', 'bc'),
    toNamespace: fc.constantFrom('a', 'ab'),
    toWorkload: fc.constantFrom('c', 'bc'),
    port: fc.constantFrom(53, 80, 443),
    protocol: fc.constantFrom('TCP', 'UDP'),
    side: fc.constantFrom('egress' as const, 'ingress' as const),
    count: fc.integer({ min: 1, max: 3 }),
  })
  .map((e) => anEdge(e));

/** The store's views of one set of edges, reported as `batches` (each its own window). */
function viewsOf(batches: readonly (readonly Edge[])[]): { top: unknown[]; edges: unknown[] } {
  const s = new EvidenceStore();
  s.beginStage('shop-lockdown', 1, 0, T0 - 60_000);
  batches.forEach((edges, i) => {
    s.ingest(aSummary({ seq: i + 1, windowEndMs: T0, contracts: [aContractWindow({ wouldDenyEdges: edges, actualDenyEdges: edges })] }), T0);
  });
  const e = s.evidence('shop-lockdown', 1, 0, cov);
  return { top: [...e.topWouldDenyEdges, ...e.topActualDenyEdges], edges: s.edges('shop-lockdown') };
}

describe('evidence edge order', () => {
  it('does not depend on the order edges arrive in (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(arbEdge, { minLength: 2, maxLength: 30 }), fc.infiniteStream(fc.nat()), (edges, randoms) => {
        const shuffled = [...edges];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = randoms.next().value % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        // Same multiset of edges, different arrival order and batching: same lists.
        const half = Math.floor(shuffled.length / 2);
        expect(viewsOf([shuffled.slice(0, half), shuffled.slice(half)])).toEqual(viewsOf([edges]));
      }),
      { seed: 4, numRuns: 150 },
    );
  });

  it('largest first; ties by source, destination, port, protocol, side', () => {
    const e = (from: string, to: string, port: number, count: number, side: 'egress' | 'ingress' = 'ingress'): Edge =>
      anEdge({ fromNamespace: 'n', fromWorkload: from, toNamespace: 'n', toWorkload: to, port, count, side });
    const { top } = viewsOf([[e('b', 'a', 80, 1), e('a', 'b', 443, 1), e('a', 'b', 80, 1, 'egress'), e('a', 'b', 80, 1), e('z', 'z', 1, 5)]]);
    expect((top as { from: string; to: string; port: number; side: string }[]).slice(0, 5).map((v) => `${v.from}>${v.to}:${v.port}/${v.side}`)).toEqual([
      'n/z>n/z:1/ingress',
      'n/a>n/b:80/egress',
      'n/a>n/b:80/ingress',
      'n/a>n/b:443/ingress',
      'n/b>n/a:80/ingress',
    ]);
  });
});

describe('compareEdgeViews is a total order', () => {
  const arbView = arbEdge.map((e) => ({
    from: e.fromNamespace === '' ? e.fromWorkload : `${e.fromNamespace}/${e.fromWorkload}`,
    to: `${e.toNamespace}/${e.toWorkload}`,
    port: e.port,
    protocol: e.protocol,
    side: e.side,
    count: e.count,
  }));
  const sign = (n: number): number => Math.sign(n) || 0;

  it('reflexive, antisymmetric, transitive; 0 only for the same edge (fast-check)', () => {
    fc.assert(
      fc.property(arbView, arbView, arbView, (a, b, c) => {
        expect(compareEdgeViews(a, a)).toBe(0);
        expect(sign(compareEdgeViews(a, b))).toBe(-sign(compareEdgeViews(b, a)));
        if (compareEdgeViews(a, b) <= 0 && compareEdgeViews(b, c) <= 0) expect(compareEdgeViews(a, c)).toBeLessThanOrEqual(0);
        expect(compareEdgeViews(a, b) === 0).toBe(JSON.stringify(a) === JSON.stringify(b));
      }),
      { seed: 5, numRuns: 2000 },
    );
  });

  it('sorting is independent of the input order (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(arbView, { maxLength: 40 }), (views) => {
        const sorted = [...views].sort(compareEdgeViews);
        expect([...views].reverse().sort(compareEdgeViews)).toEqual(sorted);
        for (let i = 1; i < sorted.length; i++) expect(compareEdgeViews(sorted[i - 1]!, sorted[i]!)).toBeLessThanOrEqual(0);
      }),
      { seed: 6, numRuns: 500 },
    );
  });
});
