/**
 * The one command-line flag parser: every `rampart` command and both process configs go
 * through `parseFlags`, a thin layer over `node:util` `parseArgs` that collects every
 * problem (unknown flag, missing value, unexpected argument) instead of throwing on the
 * first, names the flag in each, and reads `--flag=true|false` for booleans. The `read*`
 * helpers turn a flag's text into a typed value or a problem naming the flag, so "bad
 * value" errors look the same in every command. A command prints the problems and exits 2.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { err, formatProblems, ok, parseDurationMs, problem, type Problem, type Result } from '../core/common/index.js';

/** One flag, as `parseArgs` describes it. */
export interface FlagSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  readonly default?: string | boolean | readonly string[] | readonly boolean[];
}

export type FlagSpecs = Readonly<Record<string, FlagSpec>>;

type FlagValue<S extends FlagSpec> = S['type'] extends 'boolean'
  ? S['multiple'] extends true
    ? boolean[]
    : boolean
  : S['multiple'] extends true
    ? string[]
    : string;

/** Values by flag name: flags with a default are always present. */
export type FlagValues<O extends FlagSpecs> = {
  -readonly [K in keyof O]: O[K] extends { readonly default: unknown } ? FlagValue<O[K]> : FlagValue<O[K]> | undefined;
};

export interface ParsedFlags<O extends FlagSpecs> {
  /** What did parse; a flag with a problem is absent (or has its default). */
  readonly values: FlagValues<O>;
  readonly positionals: readonly string[];
  /** Empty when the arguments are fine. */
  readonly problems: readonly Problem[];
}

export interface ParseFlagsOptions {
  /** Arguments that are not flags are allowed (default false: each is a problem). */
  readonly positionals?: boolean;
}

const BOOLEAN_TEXT: Readonly<Record<string, boolean>> = { true: true, '1': true, false: false, '0': false };

/** A value that looks like a flag (`--node` after `--hubble`) is a missing value, not a value. */
const looksLikeFlag = (arg: string): boolean => arg.startsWith('-') && arg !== '-' && !/^-\d/.test(arg);

const flagName = (name: string): string => (name.length === 1 ? `-${name}` : `--${name}`);

/**
 * Parses `args` against `specs`. Every problem is collected, each with the flag as its
 * path: `--bogus: unknown flag`, `--window: expects a value`, `x: unexpected argument`;
 * the values that did parse are returned too, so a config loader can go on checking them.
 */
export function parseFlags<const O extends FlagSpecs>(args: readonly string[], specs: O, options: ParseFlagsOptions = {}): ParsedFlags<O> {
  const problems: Problem[] = [];
  // parseArgs (non-strict) takes the next argument as a string flag's value even when it is
  // another flag; drop such a flag here, with a problem, so the next one still parses.
  const byShort = new Map(Object.entries(specs).flatMap(([name, s]) => (s.short ? [[s.short, name] as const] : [])));
  const kept: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      kept.push(...args.slice(i));
      break;
    }
    const name = arg.startsWith('--') ? arg.slice(2) : /^-[^-]$/.test(arg) ? byShort.get(arg.slice(1)) : undefined;
    if (name !== undefined && !name.includes('=') && specs[name]?.type === 'string') {
      const next = args[i + 1];
      if (next === undefined || looksLikeFlag(next)) {
        problems.push(problem(arg, 'expects a value'));
        continue;
      }
      kept.push(arg, next);
      i++;
      continue;
    }
    kept.push(arg);
  }

  const parsed = parseArgs({
    args: kept,
    options: specs as NonNullable<ParseArgsConfig['options']>,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const tokens = parsed.tokens;
  for (let t = 0; t < tokens.length; t++) {
    const token = tokens[t]!;
    if (token.kind === 'option-terminator') continue;
    if (token.kind === 'positional') {
      if (options.positionals === true) positionals.push(token.value);
      else problems.push(problem(token.value, 'unexpected argument'));
      continue;
    }
    const spec = specs[token.name];
    if (spec === undefined) {
      problems.push(problem(token.rawName, 'unknown flag'));
      // `--bogus value`: the value belongs to the unknown flag, not a stray argument.
      const next = tokens[t + 1];
      if (!token.inlineValue && next?.kind === 'positional' && next.index === token.index + 1) t++;
      continue;
    }
    let value: string | boolean;
    if (spec.type === 'boolean') {
      if (token.value === undefined) value = true;
      else {
        const b = BOOLEAN_TEXT[token.value];
        if (b === undefined) {
          problems.push(problem(flagName(token.name), `expected true or false, got ${JSON.stringify(token.value)}`));
          continue;
        }
        value = b;
      }
    } else {
      if (token.value === undefined) {
        problems.push(problem(flagName(token.name), 'expects a value'));
        continue;
      }
      value = token.value;
    }
    if (spec.multiple === true) {
      const list = (values[token.name] as unknown[] | undefined) ?? [];
      list.push(value);
      values[token.name] = list;
    } else {
      values[token.name] = value;
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (values[name] === undefined && spec.default !== undefined) {
      values[name] = Array.isArray(spec.default) ? [...(spec.default as unknown[])] : spec.default;
    }
  }
  return { values: values as FlagValues<O>, positionals, problems };
}

/** `rampart <command>: --flag: problem` lines, then the usage text: what a command prints before exit 2. */
export function formatFlagProblems(command: string, problems: readonly Problem[], usage: string): string {
  return `${problems.map((p) => `${command}: ${formatProblems([p])}\n`).join('')}\n${usage}`;
}

/** A required flag: `--flag: is required`. */
export function readRequired(value: string | undefined, flag: string, what?: string): Result<string, Problem> {
  if (value === undefined || value.trim() === '') return err(problem(flag, what === undefined ? 'is required' : `is required (${what})`));
  return ok(value);
}

export interface IntegerBounds {
  readonly min?: number;
  readonly max?: number;
}

/** An integer within bounds; the message names the flag and what it got. */
export function readInteger(text: string, flag: string, bounds: IntegerBounds = {}): Result<number, Problem> {
  const n = /^-?\d+$/.test(text.trim()) ? Number(text) : Number.NaN;
  const { min, max } = bounds;
  if (!Number.isSafeInteger(n) || (min !== undefined && n < min) || (max !== undefined && n > max)) {
    const range =
      min !== undefined && max !== undefined
        ? ` between ${min} and ${max}`
        : min === 1
          ? ' (positive)'
          : min === 0
            ? ' (0 or more)'
            : min !== undefined
              ? ` of at least ${min}`
              : max !== undefined
                ? ` of at most ${max}`
                : '';
    return err(problem(flag, `expected an integer${range}, got ${JSON.stringify(text)}`));
  }
  return ok(n);
}

/** A finite number greater than zero. */
export function readPositiveNumber(text: string, flag: string): Result<number, Problem> {
  const n = text.trim() === '' ? Number.NaN : Number(text);
  if (!Number.isFinite(n) || n <= 0) return err(problem(flag, `expected a positive number, got ${JSON.stringify(text)}`));
  return ok(n);
}

/** One of a fixed vocabulary. */
export function readOneOf<const T extends string>(text: string, flag: string, choices: readonly T[]): Result<T, Problem> {
  const found = choices.find((c) => c === text);
  if (found === undefined) {
    const list = choices.length <= 2 ? choices.join(' or ') : `one of ${choices.join(', ')}`;
    return err(problem(flag, `expected ${list}, got ${JSON.stringify(text)}`));
  }
  return ok(found);
}

/** A Go-style duration (`500ms`, `10s`), at least `minMs`. */
export function readDuration(text: string, flag: string, minMs = 0): Result<number, Problem> {
  const d = parseDurationMs(text.trim());
  if (!d.ok) return err(problem(flag, d.error));
  if (d.value < minMs) return err(problem(flag, `must be at least ${minMs}ms, got ${text}`));
  return ok(d.value);
}
