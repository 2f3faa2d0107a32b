export * from './summary.js';
export * from './top-edges.js';
export * from './workload.js';
export * from './aggregator.js';
export * from './merge.js';
export * from './observed-edges.js';
