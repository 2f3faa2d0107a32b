import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEDUP_WINDOW, ReportDedup } from '../../../controlplane/ingest/report-dedup.js';

describe('ReportDedup', () => {
  it('is keyed by node, boot id and seq', () => {
    const d = new ReportDedup();
    d.add('a', 'b1', 1);
    expect(d.has('a', 'b1', 1)).toBe(true);
    expect(d.has('a', 'b1', 2)).toBe(false);
    expect(d.has('a', 'b2', 1)).toBe(false);
    expect(d.has('z', 'b1', 1)).toBe(false);
  });

  it('accepts out-of-order seqs within the window and treats far older ones as seen', () => {
    const d = new ReportDedup();
    d.add('a', 'b', 10);
    d.add('a', 'b', 8);
    expect(d.has('a', 'b', 9)).toBe(false);
    expect(d.has('a', 'b', 8)).toBe(true);
    for (let s = 11; s < 11 + DEDUP_WINDOW * 3; s++) d.add('a', 'b', s);
    expect(d.has('a', 'b', 9)).toBe(true);
    expect(d.has('a', 'b', 11 + DEDUP_WINDOW * 3)).toBe(false);
  });

  it('agrees with a set of every seq seen, whatever order seqs arrive in (in order, gaps, resends, far jumps)', () => {
    // Steps from the last seq: mostly the next one (the agent's order), sometimes a resend,
    // a gap, an older seq, or a jump past the window.
    const step = fc.oneof(
      { weight: 6, arbitrary: fc.constant(1) },
      { weight: 2, arbitrary: fc.integer({ min: -40, max: 40 }) },
      { weight: 1, arbitrary: fc.integer({ min: -DEDUP_WINDOW - 50, max: DEDUP_WINDOW + 50 }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.array(step, { minLength: 1, maxLength: 300 }), (first, steps) => {
        const d = new ReportDedup();
        const seen = new Set<number>();
        let highest = -Infinity;
        let seq = first;
        for (const st of steps) {
          seq = Math.max(1, seq + st);
          // The model: a seq is seen if it was added, or if it is a window or more below the highest.
          const model = (s: number): boolean => seen.has(s) || s <= highest - DEDUP_WINDOW;
          for (const probe of [seq - 1, seq, seq + 1, highest - DEDUP_WINDOW, highest - DEDUP_WINDOW + 1]) {
            if (probe >= 1 && Number.isFinite(probe)) expect(d.has('n', 'b', probe)).toBe(model(probe));
          }
          if (!model(seq)) seen.add(seq);
          d.add('n', 'b', seq);
          highest = Math.max(highest, seq);
          expect(d.has('n', 'b', seq)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('keeps every seq of a long in-order run seen when an older seq arrives after it', () => {
    const d = new ReportDedup();
    const last = 100 + DEDUP_WINDOW + 10;
    for (let s = 100; s <= last; s++) d.add('n', 'b', s);
    // A resend from before the window (seen by rule) and a never-sent seq inside it (a gap made later).
    d.add('n', 'b', 99);
    d.add('n', 'b', last + 2);
    const unseen: number[] = [];
    for (let s = last - DEDUP_WINDOW - 5; s <= last + 3; s++) if (!d.has('n', 'b', s)) unseen.push(s);
    expect(unseen).toEqual([last + 1, last + 3]);
  });
});

