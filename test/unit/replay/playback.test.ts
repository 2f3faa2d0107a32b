import { afterEach, describe, expect, it, vi } from 'vitest';
import type { PbRecord } from '../../../proto/codec/hubble-types.js';
import { retime, startPlayback } from '../../../replay/playback.js';

const capture: PbRecord[] = Array.from({ length: 10 }, (_, i) => ({
  flow: { time: { seconds: 1_600_000_000 + i, nanos: 0 }, verdict: 'FORWARDED', node_name: 'n' },
  response_types: 'flow',
  node_name: 'n',
  time: { seconds: 1_600_000_000 + i, nanos: 0 },
}));

afterEach(() => {
  vi.useRealTimers();
});

describe('retime', () => {
  it('moves the flow and envelope times, and nothing else', () => {
    const out = retime(capture[3]!, 1_700_000_000_123_456_789n);
    expect(out).toEqual({
      ...capture[3],
      time: { seconds: 1_700_000_000, nanos: 123_456_789 },
      flow: { ...(capture[3]!['flow'] as PbRecord), time: { seconds: 1_700_000_000, nanos: 123_456_789 } },
    });
    expect((capture[3]!['flow'] as PbRecord)['time']).toEqual({ seconds: 1_600_000_003, nanos: 0 }); // input untouched
  });
});

describe('startPlayback', () => {
  it('publishes at the given rate with strictly increasing times, once through without --loop', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const published: PbRecord[] = [];
    const now = 1_700_000_000_000_000_000n;
    const onDone = vi.fn();
    const ac = new AbortController();
    startPlayback(capture, { publish: (r) => published.push(r) }, { ratePerSecond: 4, loop: false, signal: ac.signal, nowNs: () => now, onDone });
    vi.advanceTimersByTime(1000);
    expect(published.length).toBeGreaterThanOrEqual(3);
    expect(published.length).toBeLessThanOrEqual(4);
    vi.advanceTimersByTime(2000);
    expect(published.length).toBe(10);
    expect(onDone).toHaveBeenCalledOnce();
    vi.advanceTimersByTime(5000);
    expect(published.length).toBe(10);
    const times = published.map((r) => (r['time'] as { nanos: number }).nanos);
    times.forEach((t, i) => i > 0 && expect(t).toBeGreaterThan(times[i - 1]!)); // same clock reading → +1 ns
    ac.abort();
  });

  it('starts over with --loop and stops when aborted', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    const published: PbRecord[] = [];
    const ac = new AbortController();
    startPlayback(capture, { publish: (r) => published.push(r) }, { ratePerSecond: 100, loop: true, signal: ac.signal });
    vi.advanceTimersByTime(250);
    expect(published.length).toBeGreaterThan(10);
    expect((published[10]!['flow'] as PbRecord)['verdict']).toBe('FORWARDED');
    ac.abort();
    const count = published.length;
    vi.advanceTimersByTime(1000);
    expect(published.length).toBe(count);
  });
});
