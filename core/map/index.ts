/** core/map: judging the traffic map's edges against a baseline and proposed policies. */
export * from './judge.js';
