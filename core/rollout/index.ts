export * from './assess-stage.js';
export * from './evidence.js';
export * from './ramp.js';
