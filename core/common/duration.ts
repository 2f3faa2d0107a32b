import { err, ok, type Result } from './result.js';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/y;

/**
 * Parses a Go-style duration string (`500ms`, `90s`, `1h30m`, `1.5h`) into milliseconds.
 * Only non-negative durations with the units ms, s, m and h are accepted.
 */
export function parseDurationMs(text: string): Result<number, string> {
  if (text === '0') return ok(0);
  if (text.length === 0) return err('expected a duration such as 500ms, 90s, 30m or 1h, got an empty string');
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const m = PART.exec(text);
    if (!m || m.index !== at) {
      return err(`expected a duration such as 500ms, 90s, 30m or 1h, got ${JSON.stringify(text)}`);
    }
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  return ok(Math.round(total));
}

export function formatDurationMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
