export * from './contract.js';
export * from './enrollment.js';
export * from './defaults.js';
export * from './resource.js';
export * from './parse.js';
export * from './to-json.js';
export * from './limits.js';
export * from './status.js';
