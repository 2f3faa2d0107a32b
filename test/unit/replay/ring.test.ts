import { describe, expect, it } from 'vitest';
import { Ring, type RingEntry } from '../../../replay/ring.js';

const entry = (t: number): RingEntry => ({ kind: 'flow', timeNs: BigInt(t), record: { t }, bytes: Buffer.from([t & 0xff]) });

describe('Ring', () => {
  it('keeps the newest `capacity` entries and tells a reader how many it missed', () => {
    const ring = new Ring(4);
    for (let t = 0; t < 10; t++) ring.write(entry(t));
    expect(ring.size).toBe(4);
    expect(ring.oldest).toBe(6);
    expect(ring.head).toBe(10);
    expect(ring.read(2)).toEqual({ kind: 'lost', count: 4, next: 6 });
    const r = ring.read(6);
    expect(r.kind === 'entry' && r.entry.record).toEqual({ t: 6 });
    expect(ring.read(10)).toEqual({ kind: 'empty' });
    expect([...ring.entries()].map((e) => Number(e.timeNs))).toEqual([6, 7, 8, 9]);
  });

  it('seeks by time and counts overwritten entries at or after a time', () => {
    const ring = new Ring(4);
    for (let t = 0; t < 10; t++) ring.write(entry(t * 10));
    expect(ring.seekTime(75n)).toBe(8);
    expect(ring.seekTime(0n)).toBe(6);
    expect(ring.seekTime(1000n)).toBe(10);
    expect(ring.evictedSince(30n)).toBe(3); // 30, 40, 50 were overwritten
    expect(ring.evictedSince(60n)).toBe(0);
  });

  it('wakes waiters on the next write and on abort', async () => {
    const ring = new Ring(2);
    const waited = ring.waitFor(0);
    ring.write(entry(1));
    await waited;
    const ac = new AbortController();
    const aborted = ring.waitFor(1, ac.signal);
    ac.abort();
    await aborted;
    expect(ring.head).toBe(1);
  });

  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new Ring(0)).toThrow(RangeError);
  });
});
