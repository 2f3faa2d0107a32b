import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TopEdges, type EdgeKey } from '../../../../core/summary/index.js';

const key = (i: number, side: 'egress' | 'ingress' = 'egress'): EdgeKey => ({
  fromNamespace: 'a',
  fromWorkload: `w${i}`,
  toNamespace: 'b',
  toWorkload: 'db',
  port: 5432,
  protocol: 'TCP',
  side,
});
const sum = (t: TopEdges): number => t.edges().reduce((n, e) => n + e.count, 0) + t.overflow;

describe('TopEdges (Space-Saving with exact accounting)', () => {
  it('keeps exact counts while under capacity, largest first', () => {
    const t = new TopEdges(10);
    for (let i = 0; i < 5; i++) for (let n = 0; n <= i; n++) t.add(key(i), 1, 1000 + n, 1000 + n, `s${i}`);
    const edges = t.edges();
    expect(edges.map((e) => [e.fromWorkload, e.count])).toEqual([['w4', 5], ['w3', 4], ['w2', 3], ['w1', 2], ['w0', 1]]);
    expect(edges[0]).toMatchObject({ firstSeenMs: 1000, lastSeenMs: 1004, sampleFlowJson: 's4' });
    expect(t.overflow).toBe(0);
  });

  it('tells egress and ingress edges apart', () => {
    const t = new TopEdges(10);
    t.add(key(1, 'egress'), 1, 0, 0, '');
    t.add(key(1, 'ingress'), 1, 0, 0, '');
    expect(t.size).toBe(2);
  });

  it('bounds memory under a flood of distinct edges and moves evicted counts to overflow', () => {
    const t = new TopEdges(100);
    for (let i = 0; i < 200_000; i++) {
      t.add(key(i), 1, i, i, 'x');
      if (i % 10 === 0) t.add(key(-1), 1, i, i, 'heavy'); // one heavy hitter, 10% of traffic
    }
    expect(t.size).toBe(100);
    expect(sum(t)).toBe(200_000 + 20_000);
    expect(t.overflow).toBeGreaterThan(190_000);
    // Space-Saving guarantee: an edge above total/capacity is never evicted.
    expect(t.edges()[0]!.fromWorkload).toBe('w-1');
  });

  it('property: kept counts plus overflow always equal what was added', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 8 }), fc.array(fc.tuple(fc.integer({ min: 0, max: 30 }), fc.integer({ min: 1, max: 5 })), { maxLength: 300 }), (cap, adds) => {
        const t = new TopEdges(cap);
        let total = 0;
        for (const [k, n] of adds) {
          t.add(key(k), n, 0, 0, '');
          total += n;
        }
        return t.size <= cap && sum(t) === total && t.edges().every((e) => e.count > 0);
      }),
    );
  });

  it('refuses a capacity below one', () => {
    expect(() => new TopEdges(0)).toThrow(RangeError);
  });
});
