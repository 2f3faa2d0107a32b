/** Time as a dependency, so tests can drive it (a FakeClock in test/support). */
export interface Clock {
  nowMs(): number;
}

export const systemClock: Clock = { nowMs: () => Date.now() };
