import { parseArgs } from 'node:util';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatFlagProblems, parseFlags, readDuration, readInteger, readOneOf, readPositiveNumber } from '../../../io/flags.js';

const SPECS = {
  name: { type: 'string' },
  out: { type: 'string', short: 'o', default: 'table' },
  tag: { type: 'string', multiple: true },
  loop: { type: 'boolean', default: false },
  open: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

describe('parseFlags', () => {
  const cases: { name: string; args: string[]; values?: Record<string, unknown>; positionals?: string[]; problems?: string[]; allowPositionals?: boolean }[] = [
    { name: 'defaults', args: [], values: { out: 'table', loop: false } },
    { name: 'space and = forms', args: ['--name', 'a', '--out=json'], values: { name: 'a', out: 'json' } },
    { name: 'short flag', args: ['-o', 'json'], values: { out: 'json' } },
    { name: 'repeated flag', args: ['--tag', 'a', '--tag=b'], values: { tag: ['a', 'b'] } },
    { name: 'boolean =false and =1', args: ['--loop=1', '--open=false'], values: { loop: true, open: false } },
    { name: 'a value starting with a digit after a dash', args: ['--name', '-1'], values: { name: '-1' } },
    { name: 'a lone dash is a value (stdin)', args: ['--name', '-'], values: { name: '-' } },
    { name: 'empty inline value', args: ['--name='], values: { name: '' } },
    { name: 'unknown flag swallows its value', args: ['--bogus', 'x', '--name', 'n'], values: { name: 'n' }, problems: ['--bogus: unknown flag'] },
    { name: 'unknown short flag', args: ['-z'], problems: ['-z: unknown flag'] },
    { name: 'missing value at the end', args: ['--name'], problems: ['--name: expects a value'] },
    { name: 'a flag is not a value', args: ['--name', '--loop'], values: { loop: true }, problems: ['--name: expects a value'] },
    { name: 'missing value of a short flag', args: ['-o', '--name', 'n'], values: { name: 'n', out: 'table' }, problems: ['-o: expects a value'] },
    { name: 'bad boolean', args: ['--loop=yes'], problems: ['--loop: expected true or false, got "yes"'] },
    { name: 'positional refused', args: ['stray'], problems: ['stray: unexpected argument'] },
    { name: 'positional allowed', args: ['one', '--name', 'n', 'two'], allowPositionals: true, values: { name: 'n' }, positionals: ['one', 'two'] },
    { name: 'after -- everything is positional', args: ['--', '--name'], allowPositionals: true, positionals: ['--name'] },
    { name: 'every problem at once', args: ['--bogus', '--loop=maybe', 'x', '--name'], problems: ['--name: expects a value', '--bogus: unknown flag', '--loop: expected true or false, got "maybe"', 'x: unexpected argument'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = parseFlags(c.args, SPECS, { positionals: c.allowPositionals ?? false });
      expect(r.problems.map((p) => `${p.path}: ${p.message}`)).toEqual(c.problems ?? []);
      if (c.values) expect(r.values).toMatchObject(c.values);
      expect(r.positionals).toEqual(c.positionals ?? []);
    });
  }

  it('types follow the specs', () => {
    const { values } = parseFlags(['--tag', 'a'], SPECS);
    const out: string = values.out; // has a default: always a string
    const name: string | undefined = values.name;
    const tags: string[] | undefined = values.tag;
    expect([out, name, tags]).toEqual(['table', undefined, ['a']]);
  });
});

describe('parseFlags agrees with node:util parseArgs (strict)', () => {
  const STRICT = { name: { type: 'string' }, out: { type: 'string', short: 'o' }, tag: { type: 'string', multiple: true }, loop: { type: 'boolean' } } as const;
  const value = fc.oneof(fc.constantFrom('x', '', '-', '-1', 'a=b', '--', ' '), fc.string({ maxLength: 6 }));
  const arg = fc.oneof(
    value.map((v) => ['--name', v]),
    value.map((v) => [`--name=${v}`]),
    value.map((v) => ['-o', v]),
    value.map((v) => ['--tag', v]),
    fc.constant(['--loop']),
    fc.constantFrom(['--bogus'], ['-z'], ['stray'], ['--loop=yes'], ['--name']),
  );
  it('same values, or both refuse (fast-check)', () => {
    fc.assert(
      fc.property(fc.array(arg, { maxLength: 6 }), (parts) => {
        const args = parts.flat();
        let strict: Record<string, unknown> | null;
        try {
          strict = { ...parseArgs({ args, options: STRICT, strict: true, allowPositionals: false }).values };
        } catch {
          strict = null;
        }
        const ours = parseFlags(args, STRICT);
        // The one deliberate difference: a value that reads as a negative number (`--min -1`) is a
        // value to parseFlags; strict parseArgs calls it ambiguous.
        if (strict === null) expect(ours.problems.length > 0 || args.some((a) => /^-\d/.test(a))).toBe(true);
        else {
          expect(ours.problems).toEqual([]);
          expect({ ...ours.values }).toEqual(strict);
        }
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});

describe('readers name the flag', () => {
  it('readInteger', () => {
    expect(readInteger('12', '--n', { min: 1 })).toEqual({ ok: true, value: 12 });
    expect(readInteger('0', '--n', { min: 1 })).toEqual({ ok: false, error: { path: '--n', message: 'expected an integer (positive), got "0"' } });
    expect(readInteger('1.5', '--n').ok).toBe(false);
    expect(readInteger('1e3', '--n').ok).toBe(false);
    expect(readInteger('', '--n').ok).toBe(false);
    expect(readInteger('70000', '--port', { min: 1, max: 65535 })).toEqual({ ok: false, error: { path: '--port', message: 'expected an integer between 1 and 65535, got "70000"' } });
  });
  it('readPositiveNumber', () => {
    expect(readPositiveNumber('2.5', '--rate')).toEqual({ ok: true, value: 2.5 });
    for (const bad of ['0', '-1', 'fast', '', 'Infinity']) expect(readPositiveNumber(bad, '--rate').ok).toBe(false);
  });
  it('readOneOf', () => {
    expect(readOneOf('json', '-o', ['table', 'json'])).toEqual({ ok: true, value: 'json' });
    expect(readOneOf('xml', '-o', ['table', 'json'])).toEqual({ ok: false, error: { path: '-o', message: 'expected table or json, got "xml"' } });
    expect(readOneOf('x', '--l', ['a', 'b', 'c'])).toEqual({ ok: false, error: { path: '--l', message: 'expected one of a, b, c, got "x"' } });
  });
  it('readDuration', () => {
    expect(readDuration('1m30s', '--window')).toEqual({ ok: true, value: 90_000 });
    expect(readDuration('soon', '--window').ok).toBe(false);
    expect(readDuration('50ms', '--window', 100)).toEqual({ ok: false, error: { path: '--window', message: 'must be at least 100ms, got 50ms' } });
  });
  it('formatFlagProblems: one line per problem, then the usage', () => {
    expect(formatFlagProblems('rampart x', [{ path: '--a', message: 'unknown flag' }, { path: '', message: 'needs --b' }], 'usage: rampart x\n')).toBe(
      'rampart x: --a: unknown flag\nrampart x: needs --b\n\nusage: rampart x\n',
    );
  });
});
