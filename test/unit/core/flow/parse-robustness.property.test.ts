/** Bad input never throws: parsers return errors for anything (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { flowFromRecord, parseHubbleLine, showValue } from '../../../../core/flow/index.js';
import { aFlowRecord } from '../../../support/builders.js';
import { readCaptures } from './captures.js';

const realLines = readCaptures().flatMap((c) => c.lines.map((l) => l.text));

describe('parser robustness', () => {
  it('parseHubbleLine never throws on any JSON value or string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue().map((v) => JSON.stringify(v)), fc.string()), (line) => {
        const r = parseHubbleLine(line);
        expect(typeof r.ok).toBe('boolean');
      }),
    );
  });

  it('flowFromRecord never throws when any field of a real-looking flow is replaced by anything', () => {
    const keys = Object.keys(aFlowRecord());
    fc.assert(
      fc.property(fc.constantFrom(...keys), fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true }), (key, value) => {
        const r = flowFromRecord({ ...aFlowRecord(), [key]: value });
        if (!r.ok) for (const p of r.error) expect(p.message.length).toBeGreaterThan(0);
      }),
    );
  });

  it('a real line cut anywhere is an error or a record, never a throw', () => {
    fc.assert(
      fc.property(fc.constantFrom(...realLines), fc.double({ min: 0, max: 1, noNaN: true }), (line, cut) => {
        const r = parseHubbleLine(line.slice(0, Math.floor(line.length * cut)));
        if (!r.ok) expect(r.error).toMatch(/expected/);
      }),
    );
  });
});

describe('showValue', () => {
  it.each([
    [-1, '-1'],
    ['x', '"x"'],
    [{ a: 1 }, '{"a":1}'],
    [12n, '12n'],
    [undefined, 'undefined'],
    ['y'.repeat(200), `"${'y'.repeat(79)}…`],
  ])('%s', (value, shown) => {
    expect(showValue(value)).toBe(shown);
  });

  it('never throws, even on a cycle', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    expect(showValue(cyclic)).toBe('[object Object]');
  });
});
