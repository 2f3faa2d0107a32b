/** A Clock that moves only when the test says so (style.md 2.10: no sleeps in unit tests). */
import type { Clock } from '../../core/common/index.js';

export class FakeClock implements Clock {
  private now: number;

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.now = startMs;
  }

  nowMs(): number {
    return this.now;
  }

  advance(ms: number): number {
    this.now += ms;
    return this.now;
  }

  set(ms: number): void {
    this.now = ms;
  }
}
