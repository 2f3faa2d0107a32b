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
});
