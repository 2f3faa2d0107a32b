/**
 * The project's one JSON-lines logger (style.md 2.7): one object per line with ts, level,
 * msg and fields; errors anywhere in the fields become { name, message, code, stack, cause }.
 * Shared by every process entry point (io/ is for such helpers); core code only sees the
 * Logger interface.
 */
import type { LogFields, Logger } from '../core/common/index.js';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;
export const LOG_LEVELS = Object.keys(LEVELS) as readonly LogLevel[];

/** Deeper than this, a value is logged as '[Truncated]' (a log line is not a heap dump). */
const MAX_DEPTH = 8;

/**
 * A field value as JSON can carry it: an Error anywhere (a field, nested, a cause, an
 * AggregateError's errors) becomes `{ name, message, code, details, stack, cause, errors }`
 * (JSON.stringify would print `{}`); a cycle becomes '[Circular]' and a bigint its decimal
 * text, so logging never throws.
 */
function loggable(value: unknown, ancestors: Set<object>, depth: number): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.has(value)) return '[Circular]';
  if (depth >= MAX_DEPTH) return '[Truncated]';
  ancestors.add(value);
  try {
    if (value instanceof Error) {
      const e = value as Error & { code?: unknown; details?: unknown; errors?: unknown };
      const out: Record<string, unknown> = { name: e.name, message: e.message };
      if (e.code !== undefined) out['code'] = loggable(e.code, ancestors, depth + 1);
      // grpc-js ServiceError: the status details the message repeats after the code.
      if (typeof e.details === 'string') out['details'] = e.details;
      out['stack'] = e.stack;
      if (e.cause !== undefined) out['cause'] = loggable(e.cause, ancestors, depth + 1);
      if (Array.isArray(e.errors)) out['errors'] = loggable(e.errors, ancestors, depth + 1);
      return out;
    }
    if (Array.isArray(value)) return value.map((v) => loggable(v, ancestors, depth + 1));
    if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value; // Date, URL, Buffer
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = loggable(v, ancestors, depth + 1);
    return out;
  } finally {
    ancestors.delete(value);
  }
}

function serialise(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) out[k] = loggable(v, new Set(), 0);
  return out;
}

export function createJsonLogger(level: LogLevel, write: (line: string) => void, base: LogFields = {}): Logger {
  const min = LEVELS[level];
  const emit = (lvl: LogLevel, msg: string, fields?: LogFields): void => {
    if (LEVELS[lvl] < min) return;
    write(`${JSON.stringify({ ts: new Date().toISOString(), level: lvl, msg, ...serialise(base), ...(fields ? serialise(fields) : {}) })}\n`);
  };
  return {
    debug: (msg, fields) => emit('debug', msg, fields),
    info: (msg, fields) => emit('info', msg, fields),
    warn: (msg, fields) => emit('warn', msg, fields),
    error: (msg, fields) => emit('error', msg, fields),
    child: (fields) => createJsonLogger(level, write, { ...base, ...fields }),
  };
}

/** Discards everything (tests that do not read logs). */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => silentLogger,
};
