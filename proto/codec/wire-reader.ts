/**
 * Reads one untrusted wire object (what grpc-js hands over with proto/loader.ts options)
 * field by field, collecting every problem under its field path instead of throwing, so a
 * decoder can report all of them at once and never half-use a message.
 */
import { childPath, problem, type Problem } from '../../core/common/index.js';

/** Reads fields of one wire object, collecting problems under a path. */
export class Reader {
  readonly problems: Problem[];
  readonly path: string;
  private readonly obj: Readonly<Record<string, unknown>>;

  constructor(value: unknown, path: string, problems: Problem[]) {
    this.problems = problems;
    this.path = path;
    if (value === undefined || value === null) {
      this.obj = {};
    } else if (typeof value !== 'object' || Array.isArray(value)) {
      problems.push(problem(path || '(root)', `expected a message object, got ${describe(value)}`));
      this.obj = {};
    } else {
      this.obj = value as Record<string, unknown>;
    }
  }

  private fail(key: string, message: string): void {
    this.problems.push(problem(childPath(this.path, key), message));
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  string(key: string, { required = false }: { required?: boolean } = {}): string {
    const v = this.obj[key];
    if (v === undefined || v === null) {
      if (required) this.fail(key, 'is required');
      return '';
    }
    if (typeof v !== 'string') {
      this.fail(key, `expected a string, got ${describe(v)}`);
      return '';
    }
    if (required && v === '') this.fail(key, 'must not be empty');
    return v;
  }

  /** A non-negative safe integer; numeric strings (protobuf JSON for 64-bit) are accepted. */
  count(key: string, { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {}): number {
    const v = this.obj[key];
    const n = v === undefined || v === null ? 0 : typeof v === 'string' && /^-?\d+$/.test(v) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) {
      this.fail(key, `expected an integer, got ${describe(v)}`);
      return 0;
    }
    if (n < min || n > max) {
      this.fail(key, `must be between ${min} and ${max}, got ${n}`);
      return 0;
    }
    return n;
  }

  number(key: string, { min, max }: { min: number; max: number }): number {
    const v = this.obj[key] ?? 0;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.fail(key, `expected a number, got ${describe(v)}`);
      return 0;
    }
    if (v < min || v > max) {
      this.fail(key, `must be between ${min} and ${max}, got ${v}`);
      return 0;
    }
    return v;
  }

  bool(key: string): boolean {
    const v = this.obj[key] ?? false;
    if (typeof v !== 'boolean') {
      this.fail(key, `expected a boolean, got ${describe(v)}`);
      return false;
    }
    return v;
  }

  list(key: string): readonly unknown[] {
    const v = this.obj[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) {
      this.fail(key, `expected a list, got ${describe(v)}`);
      return [];
    }
    return v;
  }

  /** A proto `map<string, string>`: an object of strings. */
  stringMap(key: string): Record<string, string> {
    const v = this.obj[key];
    if (v === undefined || v === null) return {};
    if (typeof v !== 'object' || Array.isArray(v)) {
      this.fail(key, `expected a map of strings, got ${describe(v)}`);
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (typeof x !== 'string') this.fail(`${key}.${k}`, `expected a string, got ${describe(x)}`);
      else out[k] = x;
    }
    return out;
  }

  child(key: string): Reader {
    return new Reader(this.obj[key], childPath(this.path, key), this.problems);
  }
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}
