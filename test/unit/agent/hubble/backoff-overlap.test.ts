import { describe, expect, it } from 'vitest';
import { Backoff } from '../../../../agent/hubble/backoff.js';
import { isRetryable } from '../../../../agent/hubble/errors.js';
import { flowIdentity, OverlapFilter } from '../../../../agent/hubble/overlap.js';
import { flowFromRecord } from '../../../../core/flow/from-record.js';
import type { Flow } from '../../../../core/flow/flow.js';
import { status } from '@grpc/grpc-js';

describe('Backoff', () => {
  it('grows 1 s ×1.6 up to the 30 s cap', () => {
    const b = new Backoff({ random: () => 0.5 });
    const seq = Array.from({ length: 10 }, () => b.next());
    expect(seq).toEqual([1000, 1600, 2560, 4096, 6554, 10486, 16777, 26844, 30000, 30000]);
  });

  it('spreads each delay by at most ±20 %', () => {
    const low = new Backoff({ random: () => 0 });
    const high = new Backoff({ random: () => 0.999999 });
    expect([low.next(), low.next()]).toEqual([800, 1280]);
    expect([high.next(), high.next()]).toEqual([1200, 1920]);
  });

  it('starts over after reset (the first message of a healthy stream)', () => {
    const b = new Backoff({ random: () => 0.5 });
    b.next();
    b.next();
    b.reset();
    expect(b.next()).toBe(1000);
  });

  it.each([
    [status.UNAVAILABLE, true],
    [status.DEADLINE_EXCEEDED, true],
    [status.CANCELLED, true],
    [status.INTERNAL, true],
    [undefined, true],
    [status.PERMISSION_DENIED, false],
    [status.INVALID_ARGUMENT, false],
    [status.UNAUTHENTICATED, false],
    [status.UNIMPLEMENTED, false],
  ])('status %s retryable: %s', (code, want) => {
    expect(isRetryable(code)).toBe(want);
  });
});

function flow(seconds: number, port: number, extra: Record<string, unknown> = {}): Flow {
  const r = flowFromRecord({
    time: { seconds, nanos: 0 },
    verdict: 'FORWARDED',
    IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: port, destination_port: 80, flags: { SYN: true } }, protocol: 'TCP' },
    source: { identity: 2, labels: ['reserved:world'] },
    destination: { identity: 2, labels: ['reserved:world'] },
    Type: 'L3_L4',
    node_name: 'n',
    ...extra,
  });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

describe('OverlapFilter', () => {
  it('resumes at the newest time and drops only the flows already seen at that time', () => {
    const o = new OverlapFilter();
    expect(o.resumeFrom()).toBeNull();
    for (const [t, p] of [[1, 1], [2, 2], [2, 3]] as const) expect(o.seen(flow(t, p), t, 0)).toBe(false);
    expect(o.resumeFrom()).toEqual({ seconds: 2, nanos: 0 });
    o.startResume();
    expect(o.seen(flow(2, 2), 2, 0)).toBe(true); // sent again
    expect(o.seen(flow(2, 4), 2, 0)).toBe(false); // same time, not seen before
    expect(o.seen(flow(2, 3), 2, 0)).toBe(true);
    expect(o.seen(flow(3, 5), 3, 0)).toBe(false);
    expect(o.seen(flow(3, 5), 3, 0)).toBe(false); // past the overlap: never dropped again
  });

  it('uses uuid when present, else the observation fields', () => {
    expect(flowIdentity(flow(1, 1, { uuid: 'abc' }))).toBe('u:abc');
    expect(flowIdentity(flow(1, 1))).not.toBe(flowIdentity(flow(1, 2)));
    expect(flowIdentity(flow(1, 1))).not.toBe(flowIdentity(flow(1, 1, { trace_observation_point: 'TO_STACK' })));
    expect(flowIdentity(flow(1, 1))).toBe(flowIdentity(flow(1, 1)));
  });
});
