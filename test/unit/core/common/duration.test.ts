import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from '../../../../core/common/index.js';

describe('parseDurationMs', () => {
  const cases: { name: string; input: string; ms?: number; error?: RegExp }[] = [
    { name: 'milliseconds', input: '500ms', ms: 500 },
    { name: 'seconds', input: '90s', ms: 90_000 },
    { name: 'minutes', input: '30m', ms: 1_800_000 },
    { name: 'hours', input: '1h', ms: 3_600_000 },
    { name: 'compound', input: '1h30m', ms: 5_400_000 },
    { name: 'fraction', input: '1.5s', ms: 1500 },
    { name: 'bare zero', input: '0', ms: 0 },
    { name: 'empty', input: '', error: /empty/ },
    { name: 'no unit', input: '30', error: /expected a duration/ },
    { name: 'unknown unit', input: '3d', error: /expected a duration/ },
    { name: 'negative', input: '-5s', error: /expected a duration/ },
    { name: 'trailing junk', input: '5sx', error: /expected a duration/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseDurationMs(c.input);
      if (c.error) {
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.error).toMatch(c.error);
      } else {
        expect(r).toEqual({ ok: true, value: c.ms });
      }
    });
  }
  it('formats back', () => {
    expect(formatDurationMs(5_400_000)).toBe('90m');
    expect(formatDurationMs(1500)).toBe('1500ms');
    expect(formatDurationMs(2000)).toBe('2s');
  });
});
