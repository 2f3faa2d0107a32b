import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enrollmentBucket, isEnrolled, stageEnforces, type EnforcementRule } from '../../../../core/contract/index.js';

const pod = (namespace: string, name: string, labels?: Record<string, string>) => ({ namespace, name, ...(labels ? { labels } : {}) });

/**
 * Known answers, computed outside this code base: a Python script ran FNV-1a 32 (offset
 * basis 0x811c9dc5, prime 0x01000193) over the key `contract NUL namespace "/" pod` and took
 * (hash % 10000) / 100, once, and its output is pasted here:
 *
 *   for c, ns, p in cases:
 *       h = 0x811c9dc5
 *       for ch in f"{c}\0{ns}/{p}".encode():  # all ASCII
 *           h ^= ch; h = (h * 0x01000193) & 0xffffffff
 *       print(c, ns, p, hex(h), (h % 10000) / 100)
 *
 * The agent, the actuator and the simulator must all agree with these, so a change of key
 * (dropping the contract name, another separator) or of hash fails here.
 */
const KNOWN_BUCKETS: readonly [contract: string, namespace: string, pod: string, bucket: number][] = [
  ['shop-lockdown', 'shop', 'web-1', 13.34], // 0xf73c41b6
  ['shop-lockdown', 'shop', 'web-2', 37.15], // 0xf63c4023
  ['payments-ramp', 'shop', 'web-1', 7.64], // 0x8dc531ac
  ['payments-ramp', 'payments', 'db-0', 59.9], // 0xafb0e5e6
  ['c', 'default', 'a', 13.83], // 0x85f6c287
  ['c', 'kube-system', 'coredns-5d78c9869d-abcde', 63.62], // 0x4f29e7ba
];

describe('enrollment hash: known answers', () => {
  it.each(KNOWN_BUCKETS)('%s %s/%s is in bucket %s', (contract, namespace, podName, bucket) => {
    expect(enrollmentBucket(contract, namespace, podName)).toBe(bucket);
  });

  it('enrolls exactly the pods whose known bucket is below the percent', () => {
    expect(isEnrolled('payments-ramp', 'shop', 'web-1', 8)).toBe(true); // 7.64
    expect(isEnrolled('payments-ramp', 'shop', 'web-1', 7)).toBe(false);
    expect(isEnrolled('shop-lockdown', 'shop', 'web-1', 14)).toBe(true); // 13.34: the same pod, another contract
    expect(isEnrolled('shop-lockdown', 'shop', 'web-1', 10)).toBe(false);
  });
});

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
