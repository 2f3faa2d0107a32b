/**
 * Keeps a streaming benchmark round bounded in time: a consumer waiting for N messages from a
 * `follow` stream would otherwise wait forever if the server holds fewer (a capture that the
 * client filters or skips in part, a malformed message). The guard polls a progress counter;
 * after `idleMs` without progress, or `maxMs` in all, it calls `stop` (which cancels the
 * stream, ending the consumer's loop) and the round reports what it did receive.
 *
 * Polling a counter costs the consumer nothing per message, so the figures are unchanged.
 */
export interface StallGuard {
  /** True once the guard stopped the round (idle or out of time). */
  readonly stopped: boolean;
  /** Why it stopped, for the printed figures; null while it has not. */
  readonly reason: string | null;
  dispose(): void;
}

export interface StallGuardOptions {
  /** Stop after this long without progress (default 3 s). */
  readonly idleMs?: number;
  /** Stop after this long in all (default 60 s). */
  readonly maxMs?: number;
}

export function stallGuard(progress: () => number, stop: () => void, options: StallGuardOptions = {}): StallGuard {
  const idleMs = options.idleMs ?? 3_000;
  const maxMs = options.maxMs ?? 60_000;
  const started = Date.now();
  let last = progress();
  let lastChange = started;
  const state = { stopped: false, reason: null as string | null };
  const timer = setInterval(() => {
    const now = Date.now();
    const p = progress();
    if (p !== last) {
      last = p;
      lastChange = now;
    }
    const reason = now - lastChange >= idleMs ? `no message for ${idleMs} ms after ${p}` : now - started >= maxMs ? `out of time (${maxMs} ms) after ${p}` : null;
    if (reason !== null) {
      clearInterval(timer);
      state.stopped = true;
      state.reason = reason;
      stop();
    }
  }, 100);
  timer.unref();
  return {
    get stopped() {
      return state.stopped;
    },
    get reason() {
      return state.reason;
    },
    dispose: () => clearInterval(timer),
  };
}
