/**
 * Three-valued answers for questions the flow may not carry enough evidence to settle
 * (an unknown identity, an unresolved named port, missing namespace labels). Stored as small
 * integers so that AND is `min` and OR is `max` (Kleene logic) without allocation.
 */
export const NO = 0;
export const MAYBE = 1;
export const YES = 2;
export type Trit = typeof NO | typeof MAYBE | typeof YES;

export const tritAnd = (a: Trit, b: Trit): Trit => (a < b ? a : b);
export const tritOr = (a: Trit, b: Trit): Trit => (a > b ? a : b);
