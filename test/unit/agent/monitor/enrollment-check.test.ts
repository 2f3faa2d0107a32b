import { describe, expect, it } from 'vitest';
import { EnrollmentCheck } from '../../../../agent/monitor/enrollment-check.js';
import { enrollmentBucket } from '../../../../core/contract/index.js';
import type { Endpoint } from '../../../../core/flow/index.js';

const LABEL = 'enroll.rampart.dev/c1';
const pod = (name: string, labels: Record<string, string>, namespace = 'shop'): Endpoint =>
  ({ kind: 'pod', id: 1, identity: 300, labels: [], namespace, podName: name, podLabels: labels, workloads: [], namespaceLabels: {} }) as unknown as Endpoint;
const policies = [{ metadata: { name: 'p', namespace: 'shop' }, spec: { podSelector: { matchLabels: { app: 'api' } } } }];

describe('enrollment label check', () => {
  const names = Array.from({ length: 60 }, (_, i) => `api-${i}`);
  const enrolled = names.filter((n) => enrollmentBucket('c1', 'shop', n) < 50);
  const notEnrolled = names.filter((n) => !enrolled.includes(n));

  it('sees the label whenever an identity carries it', () => {
    const c = new EnrollmentCheck({ contract: 'c1', label: LABEL, policies, settleMs: 1000 });
    c.percent = 50;
    expect(c.check(pod(enrolled[0]!, { app: 'api', [LABEL]: 'true' }), 0)).toBe('seen');
  });

  it('counts an enrolled, selected pod without the label as missing only after the settle time', () => {
    const c = new EnrollmentCheck({ contract: 'c1', label: LABEL, policies, settleMs: 1000 });
    c.percent = 50;
    const p = pod(enrolled[0]!, { app: 'api' });
    expect(c.check(p, 10_000)).toBeNull();
    expect(c.check(p, 10_999)).toBeNull();
    expect(c.check(p, 11_000)).toBe('missing');
    // The settle time carries over to a later stage.
    c.percent = 100;
    expect(c.check(p, 11_001)).toBe('missing');
  });

  it('ignores pods the stage does not enroll or no contract policy selects', () => {
    const c = new EnrollmentCheck({ contract: 'c1', label: LABEL, policies, settleMs: 0 });
    c.percent = 50;
    expect(enrolled.length).toBeGreaterThan(0);
    expect(notEnrolled.length).toBeGreaterThan(0);
    for (const n of notEnrolled) expect(c.check(pod(n, { app: 'api' }), 5)).toBeNull();
    expect(c.check(pod(enrolled[0]!, { app: 'web' }), 5)).toBeNull();
    expect(c.check(pod(enrolled[0]!, { app: 'api' }, 'other'), 5)).toBeNull();
    expect(c.check({ kind: 'world', id: null, identity: 2, labels: [] } as unknown as Endpoint, 5)).toBeNull();
  });
});
