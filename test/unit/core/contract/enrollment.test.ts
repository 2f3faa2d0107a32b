import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEnrolled, stageEnforces, type EnforcementRule } from '../../../../core/contract/index.js';

const pod = (namespace: string, name: string, labels?: Record<string, string>) => ({ namespace, name, ...(labels ? { labels } : {}) });

describe('stageEnforces: the one enforcement rule', () => {
  it('monitor enforces nowhere; namespace stages on their namespaces only', () => {
    expect(stageEnforces('c', { mode: 'monitor' }, pod('shop', 'web-1'))).toBe(false);
    const ns: EnforcementRule = { mode: 'namespaces', namespaces: ['dev', 'shop'] };
    expect(stageEnforces('c', ns, pod('shop', 'web-1'))).toBe(true);
    expect(stageEnforces('c', ns, pod('payments', 'db-0'))).toBe(false);
  });

  it('percent stages: the enrollment hash, 0 % none and 100 % all', () => {
    expect(stageEnforces('c', { mode: 'percent', percent: 0 }, pod('shop', 'web-1'))).toBe(false);
    expect(stageEnforces('c', { mode: 'percent', percent: 100 }, pod('shop', 'web-1'))).toBe(true);
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 8 }), fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 0, max: 100 }), (ns, name, percent) => {
        expect(stageEnforces('c', { mode: 'percent', percent }, pod(ns, name))).toBe(isEnrolled('c', ns, name, percent));
      }),
      { seed: 8, numRuns: 500 },
    );
  });

  it('percent stages grow monotonically: a pod enforced at P stays enforced above P (fast-check)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 8 }), fc.string({ maxLength: 8 }), fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), (ns, name, a, b) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        if (stageEnforces('c', { mode: 'percent', percent: lo }, pod(ns, name))) expect(stageEnforces('c', { mode: 'percent', percent: hi }, pod(ns, name))).toBe(true);
      }),
      { seed: 9, numRuns: 1000 },
    );
  });

  it('an enroll label (Kubernetes mode) decides instead of the hash', () => {
    const rule: EnforcementRule = { mode: 'percent', percent: 100, enrollLabel: 'rampart.dev/enrolled-c' };
    expect(stageEnforces('c', rule, pod('shop', 'web-1', { 'rampart.dev/enrolled-c': 'true' }))).toBe(true);
    expect(stageEnforces('c', rule, pod('shop', 'web-1', { 'rampart.dev/enrolled-c': 'false' }))).toBe(false);
    // Labels unknown: not enforced, even at 100 % (the label is the truth in that mode).
    expect(stageEnforces('c', rule, pod('shop', 'web-1'))).toBe(false);
    expect(stageEnforces('c', { mode: 'percent', percent: 100, enrollLabel: '' }, pod('shop', 'web-1'))).toBe(true);
  });
});
