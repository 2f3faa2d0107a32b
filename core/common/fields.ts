/**
 * The project's validation toolkit: small "unknown in, typed out or a problem" readers for
 * hand-validating documents (contracts, cluster specs, API responses). Each reader pushes
 * what is wrong at `path` onto a shared problem list and returns `undefined`, so a validator
 * can keep going and report every problem, not just the first. (Command-line flags have their
 * own text readers in io/flags.ts.)
 */
import { childPath, problem, type Problem, type ProblemCode } from './problem.js';

export type RawObject = Readonly<Record<string, unknown>>;

/** Collects problems while a document is walked. */
export class ProblemSink {
  readonly problems: Problem[] = [];

  add(path: string, message: string, code?: ProblemCode): void {
    this.problems.push(problem(path, message, code));
  }

  addAll(problems: readonly Problem[]): void {
    this.problems.push(...problems);
  }
}

/** A short, safe rendering of a bad value for a message: `"x"`, `150`, `an object`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
    case 'number':
    case 'boolean':
      return String(value);
    case 'object':
      return 'an object';
    default:
      return typeof value;
  }
}

/** The project's one object test: a plain object or class instance, not null, not an array. */
export function isObject(value: unknown): value is RawObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

const EMPTY_OBJECT: RawObject = Object.freeze({});

/** The value when it is an object, else an empty one: for reading optional parts of a response. */
export function asObject(value: unknown): RawObject {
  return isObject(value) ? value : EMPTY_OBJECT;
}

/**
 * NOTE: every reader takes `null` as "not set", as the API server does for a custom resource:
 * it drops null values of fields that are not `nullable` before defaulting and validation.
 * The few fields where null means something ("no limit") check for it before reading.
 */

/** An object at `path`, or a problem. A missing value reports "required" when `required`. */
export function readObject(sink: ProblemSink, value: unknown, path: string, required: boolean): RawObject | undefined {
  if (value === undefined || value === null) {
    if (required) sink.add(path, 'required');
    return undefined;
  }
  if (!isObject(value)) {
    sink.add(path, `expected an object, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

/** Reports every key of `obj` that is not in `known`, the way strict field validation does. */
export function rejectUnknownKeys(sink: ProblemSink, obj: RawObject, path: string, known: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) sink.add(childPath(path, key), `unknown field (expected one of: ${known.join(', ')})`);
  }
}

export function readString(sink: ProblemSink, value: unknown, path: string): string | undefined {
  if (value === undefined || value === null) {
    sink.add(path, 'required');
    return undefined;
  }
  if (typeof value !== 'string') {
    sink.add(path, `expected a string, got ${describeValue(value)}`);
    return undefined;
  }
  return value;
}

export function readOneOf<T extends string>(
  sink: ProblemSink,
  value: unknown,
  path: string,
  allowed: readonly T[],
): T | undefined {
  const text = readString(sink, value, path);
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) {
    sink.add(path, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${describeValue(text)}`);
    return undefined;
  }
  return text as T;
}

export interface NumberRule {
  readonly min: number;
  readonly max?: number;
  readonly integer: boolean;
}

export function readNumber(sink: ProblemSink, value: unknown, path: string, rule: NumberRule): number | undefined {
  if (value === undefined || value === null) {
    sink.add(path, 'required');
    return undefined;
  }
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    sink.add(path, `expected ${rule.integer ? 'an integer' : 'a number'}, got ${describeValue(value)}`);
    return undefined;
  }
  if (rule.integer && !Number.isInteger(value)) {
    sink.add(path, `expected an integer, got ${value}`);
    return undefined;
  }
  if (rule.max !== undefined && (value < rule.min || value > rule.max)) {
    sink.add(path, `must be between ${rule.min} and ${rule.max}, got ${value}`);
    return undefined;
  }
  if (value < rule.min) {
    sink.add(path, `must be at least ${rule.min}, got ${value}`);
    return undefined;
  }
  return value;
}

/**
 * DNS-1123 subdomain (Kubernetes object names): lowercase alphanumerics, '-' and '.',
 * starting and ending with an alphanumeric, at most 253 characters.
 */
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** DNS-1123 label (namespace names): the same without dots, at most 63 characters. */
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export function dns1123SubdomainError(text: string): string | undefined {
  if (text.length > 253) return `must be no more than 253 characters, got ${text.length}`;
  if (!DNS1123_SUBDOMAIN.test(text)) {
    return `must be a lowercase DNS-1123 subdomain (a-z, 0-9, '-' and '.', starting and ending with a-z or 0-9), got ${describeValue(text)}`;
  }
  return undefined;
}

export function dns1123LabelError(text: string): string | undefined {
  if (text.length > 63) return `must be no more than 63 characters, got ${text.length}`;
  if (!DNS1123_LABEL.test(text)) {
    return `must be a lowercase DNS-1123 label (a-z, 0-9 and '-', starting and ending with a-z or 0-9), got ${describeValue(text)}`;
  }
  return undefined;
}
