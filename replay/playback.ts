/**
 * Live playback of a capture at a fixed rate: each flow enters the server's ring (and
 * reaches followers) at `ratePerSecond`, its timestamps shifted to the moment it is
 * published; with `loop` the capture starts over at the end. A credit-based timer keeps the
 * average rate exact without one timer per flow.
 */
import type { PbRecord } from '../proto/codec/hubble-types.js';
import { timestampFromNs } from '../proto/codec/hubble-time.js';

export interface PlaybackTarget {
  publish(record: PbRecord): void;
}

export interface PlaybackOptions {
  readonly ratePerSecond: number;
  readonly loop: boolean;
  readonly signal: AbortSignal;
  /** Wall clock in ns since the epoch, for the flows' times (the rate is paced by the timers and performance.now, which tests fake). */
  readonly nowNs?: () => bigint;
  /** Called once the capture has been played (never with `loop`). */
  readonly onDone?: () => void;
}

const TICK_MS = 10;

/** The process's clock in ns since the epoch (monotonic: timeOrigin plus performance.now). */
export function defaultNowNs(): bigint {
  return BigInt(Math.round((performance.timeOrigin + performance.now()) * 1_000_000));
}

/** Re-times one capture record (GetFlowsResponse shape) to `timeNs`. */
export function retime(record: PbRecord, timeNs: bigint): PbRecord {
  const time = timestampFromNs(timeNs);
  const out: PbRecord = { ...record, time };
  const flow = record['flow'] as PbRecord | undefined;
  if (flow) out['flow'] = { ...flow, time };
  return out;
}

/** Starts playing; returns at once. Stop it with the signal. */
export function startPlayback(records: readonly PbRecord[], target: PlaybackTarget, options: PlaybackOptions): void {
  if (records.length === 0 || !(options.ratePerSecond > 0)) {
    options.onDone?.();
    return;
  }
  const now = options.nowNs ?? defaultNowNs;
  const startMs = performance.now();
  let published = 0;
  let lastNs = 0n;
  const tick = (): void => {
    if (options.signal.aborted) return;
    const due = Math.floor(((performance.now() - startMs) / 1000) * options.ratePerSecond);
    // Bounded catch-up: after a long pause (a stopped process), do not burst without limit.
    const limit = Math.max(1, Math.ceil(options.ratePerSecond)) + published;
    const target_ = Math.min(due, limit);
    while (published < target_) {
      if (!options.loop && published >= records.length) break;
      let t = now();
      if (t <= lastNs) t = lastNs + 1n; // strictly increasing times keep `since` resumes exact
      lastNs = t;
      target.publish(retime(records[published % records.length]!, t));
      published++;
    }
    if (!options.loop && published >= records.length) {
      options.onDone?.();
      return;
    }
    timer = setTimeout(tick, TICK_MS);
  };
  let timer = setTimeout(tick, 0);
  options.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
}
