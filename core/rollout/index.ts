export * from './applied-stage.js';
export * from './assess-stage.js';
export * from './evidence.js';
export * from './ramp.js';
export * from './contract-view.js';
export * from './blockers.js';
export * from './evidence-snapshot.js';
