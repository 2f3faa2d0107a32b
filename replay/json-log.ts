/** A minimal JSON-lines Logger (style.md 2.7) for the replay and observe commands. */
import type { LogFields, Logger } from '../core/common/index.js';

type Level = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function jsonLogger(write: (line: string) => void, level: Level = 'info', base: LogFields = {}): Logger {
  const emit = (l: Level, msg: string, fields?: LogFields): void => {
    if (ORDER[l] < ORDER[level]) return;
    write(`${JSON.stringify({ ts: new Date().toISOString(), level: l, msg, ...base, ...fields })}\n`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (f) => jsonLogger(write, level, { ...base, ...f }),
  };
}
