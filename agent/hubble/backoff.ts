/**
 * Capped, jittered exponential backoff (grpc-js's shape): 1 s, ×1.6, capped at 30 s, each
 * delay spread by ±20 %, reset after the first message of a healthy stream. The random
 * source and the delay function are injected so tests never sleep.
 */

export interface BackoffOptions {
  /** First delay in ms (default 1000). */
  readonly initialMs?: number;
  /** Growth per failed attempt (default 1.6). */
  readonly multiplier?: number;
  /** Cap before jitter, in ms (default 30 000). */
  readonly maxMs?: number;
  /** Relative spread, 0.2 = ±20 % (default 0.2). */
  readonly jitter?: number;
  /** Uniform [0, 1) source (default Math.random). */
  readonly random?: () => number;
}

export class Backoff {
  private readonly initialMs: number;
  private readonly multiplier: number;
  private readonly maxMs: number;
  private readonly jitter: number;
  private readonly random: () => number;
  private baseMs: number;

  constructor(options: BackoffOptions = {}) {
    this.initialMs = options.initialMs ?? 1000;
    this.multiplier = options.multiplier ?? 1.6;
    this.maxMs = options.maxMs ?? 30_000;
    this.jitter = options.jitter ?? 0.2;
    this.random = options.random ?? Math.random;
    this.baseMs = this.initialMs;
  }

  /** The delay before the next attempt; each call grows the following one. */
  next(): number {
    const base = this.baseMs;
    this.baseMs = Math.min(this.maxMs, base * this.multiplier);
    const spread = base * this.jitter * (this.random() * 2 - 1);
    return Math.max(0, Math.round(base + spread));
  }

  reset(): void {
    this.baseMs = this.initialMs;
  }
}

/** Waits `ms`, or less if the signal aborts (then it resolves; the caller checks the signal). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
