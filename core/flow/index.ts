export * from './flow.js';
export * from './endpoint.js';
export * from './from-record.js';
export * from './hubble-line.js';
export * from './connection-start.js';
export * from './connection-tracker.js';
export * from './workload.js';
