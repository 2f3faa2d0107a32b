/**
 * core/sufficiency: whether a stage's evidence is enough (product.md "Enough evidence"):
 * history first, CronJob schedules, workload coverage, and the inconclusive budget.
 */
export * from './gate.js';
export * from './inventory.js';
export * from './selection.js';
export * from './schedules.js';
export * from './coverage.js';
export * from './history.js';
export * from './view.js';
