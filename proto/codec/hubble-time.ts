/**
 * RFC 3339 text ⇄ `google.protobuf.Timestamp` as proto-loader gives it (`{ seconds, nanos }`
 * with `longs: Number`). Formatting follows protojson: UTC, `Z`, and 0, 3, 6 or 9 fractional
 * digits, the fewest that keep the value exact (`…13.136834446Z`, `…56.465597700Z`).
 */

/** A Timestamp as proto-loader decodes it; both fields may be absent when zero. */
export interface TimestampRecord {
  readonly seconds?: number;
  readonly nanos?: number;
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** Parses RFC 3339 text; returns null when it is not a valid timestamp. */
export function timestampFromRfc3339(text: string): TimestampRecord | null {
  const m = RFC3339.exec(text);
  if (!m) return null;
  const [, y, mo, d, h, mi, s, frac, , sign, oh, om] = m;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const back = new Date(ms);
  // Date.UTC rolls 31 February over into March; reject instead of shifting the date.
  if (back.getUTCDate() !== day || back.getUTCMonth() !== month - 1) return null;
  let seconds = Math.floor(ms / 1000);
  if (sign !== undefined) {
    const offset = (Number(oh) * 60 + Number(om)) * 60;
    seconds += sign === '+' ? -offset : offset;
  }
  const nanos = frac === undefined ? 0 : Number(frac.padEnd(9, '0'));
  return { seconds, nanos };
}

/** Formats a Timestamp the way protojson does. */
export function rfc3339FromTimestamp(ts: TimestampRecord): string {
  const seconds = ts.seconds ?? 0;
  const nanos = ts.nanos ?? 0;
  const base = new Date(seconds * 1000).toISOString().slice(0, 19);
  if (nanos === 0) return `${base}Z`;
  const digits = String(nanos).padStart(9, '0');
  if (nanos % 1_000_000 === 0) return `${base}.${digits.slice(0, 3)}Z`;
  if (nanos % 1_000 === 0) return `${base}.${digits.slice(0, 6)}Z`;
  return `${base}.${digits}Z`;
}

/** Milliseconds since the epoch (the sub-millisecond part is dropped). */
export function msFromTimestamp(ts: TimestampRecord): number {
  return (ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1_000_000);
}

/** Nanoseconds since the epoch as a bigint, for exact ordering and comparison. */
export function nsFromTimestamp(ts: TimestampRecord): bigint {
  return BigInt(ts.seconds ?? 0) * 1_000_000_000n + BigInt(ts.nanos ?? 0);
}

export function timestampFromNs(ns: bigint): TimestampRecord {
  const seconds = ns / 1_000_000_000n;
  const nanos = ns % 1_000_000_000n;
  return nanos < 0n
    ? { seconds: Number(seconds - 1n), nanos: Number(nanos + 1_000_000_000n) }
    : { seconds: Number(seconds), nanos: Number(nanos) };
}

export function timestampFromMs(ms: number): TimestampRecord {
  return timestampFromNs(BigInt(Math.round(ms * 1e6)));
}
