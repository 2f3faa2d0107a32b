/**
 * A JSON-lines logger for the processes (style.md 2.7): one object per line with ts, level,
 * msg and fields; errors in fields become { code, message, stack }. Shared by the process
 * entry points (io/ is for such helpers); core code only sees the Logger interface.
 */
import type { LogFields, Logger } from '../core/common/index.js';

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;
export type LogLevel = keyof typeof LEVELS;
export const LOG_LEVELS = Object.keys(LEVELS) as readonly LogLevel[];

function serialise(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(fields)) {
    out[k] = v instanceof Error ? { code: (v as Error & { code?: unknown }).code, message: v.message, stack: v.stack } : v;
  }
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
