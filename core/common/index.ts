export * from './result.js';
export * from './problem.js';
export * from './brand.js';
export * from './assert-never.js';
export * from './logger.js';
export * from './clock.js';
export * from './duration.js';
export * from './hash.js';
