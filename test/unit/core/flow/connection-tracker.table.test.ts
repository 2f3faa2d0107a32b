/**
 * The tracker's hash table against a plain model: a Map keyed by the full connection text,
 * ordered by last sighting (what the tracker used to be). Same answers, same size, same
 * evictions, whatever the addresses (IPv4, IPv6, non-canonical text), endpoints, timing and
 * bound; and a real 32-bit hash collision never merges two connections.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { connectionKeyHash, ConnectionTracker, type Endpoint, type Flow } from '../../../../core/flow/index.js';
import { aFlow, anUnknown, aPod, tcp, udp } from '../../../support/builders.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');

/** The keyed part of the tracker (duplicates, replies, TTL, sweep, LRU eviction) over strings. */
class ModelTracker {
  readonly #seen = new Map<string, number>();
  #nowMs = Number.NEGATIVE_INFINITY;
  #lastSweepMs = Number.NEGATIVE_INFINITY;
  readonly ttlMs: number;
  readonly maxEntries: number;
  evicted = 0;
  constructor(ttlMs: number, maxEntries: number) {
    this.ttlMs = ttlMs;
    this.maxEntries = maxEntries;
  }
  get size(): number {
    return this.#seen.size;
  }
  classify(flow: Flow): string {
    const t = flow.timeMs;
    if (t > this.#nowMs) this.#nowMs = t;
    if (this.#nowMs - this.#lastSweepMs >= 1_000) {
      this.#lastSweepMs = this.#nowMs;
      for (const [k, at] of this.#seen) {
        if (at >= this.#nowMs - this.ttlMs) break;
        this.#seen.delete(k);
      }
    }
    const ep = (e: Endpoint): string => (e.identity > 0 ? `#${e.identity}` : e.kind === 'pod' || e.kind === 'unknown' ? `${e.namespace ?? ''}/${e.podName}` : e.kind);
    const l4 = flow.l4!;
    const ip = flow.ip!;
    const key = `${flow.node}|${l4.protocol}|${ip.source}|${l4.sourcePort}|${ep(flow.source)}|${ip.destination}|${l4.destinationPort}|${ep(flow.destination)}`;
    const last = this.#seen.get(key);
    if (last !== undefined && Math.abs(t - last) <= this.ttlMs) {
      this.#seen.delete(key);
      this.#seen.set(key, Math.max(last, t));
      return 'duplicate';
    }
    const rev = `${flow.node}|${l4.protocol}|${ip.destination}|${l4.destinationPort}|${ep(flow.destination)}|${ip.source}|${l4.sourcePort}|${ep(flow.source)}`;
    const revLast = this.#seen.get(rev);
    if (revLast !== undefined && Math.abs(t - revLast) <= this.ttlMs) return 'reply';
    this.#seen.delete(key);
    this.#seen.set(key, t);
    if (this.#seen.size > this.maxEntries) {
      this.#seen.delete(this.#seen.keys().next().value!);
      this.evicted++;
    }
    return 'connection';
  }
}

const ADDRESSES = ['10.0.0.1', '10.0.0.2', '10.0.0.01', '0.0.0.0', '255.255.255.255', 'fd00::1', 'fd00::01', '1.2.3', '10.0.0.1 '];
const ENDPOINTS: readonly Endpoint[] = [
  aPod({ labels: { app: 'a' }, id: 1 }),
  aPod({ labels: { app: 'b' }, id: 2 }),
  aPod({ labels: { app: 'c' }, id: 3, identity: 0, name: 'c-0' }),
  aPod({ labels: { app: 'c' }, id: 4, identity: 0, name: 'c-1' }),
  anUnknown({ id: 5, namespace: 'x', podName: 'c-0' }),
];
const arbStep = fc.record({
  node: fc.constantFrom('n1', 'n2'),
  src: fc.constantFrom(...ADDRESSES),
  dst: fc.constantFrom(...ADDRESSES),
  sport: fc.constantFrom(1, 2, 40_000),
  dport: fc.constantFrom(1, 2, 53),
  udp: fc.boolean(),
  from: fc.integer({ min: 0, max: ENDPOINTS.length - 1 }),
  to: fc.integer({ min: 0, max: ENDPOINTS.length - 1 }),
  dtMs: fc.integer({ min: -2_000, max: 5_000 }),
});

describe('ConnectionTracker table', () => {
  it('answers exactly as the string-keyed model, with the same size and evictions', () => {
    fc.assert(
      fc.property(fc.array(arbStep, { maxLength: 300 }), fc.integer({ min: 1, max: 20 }), fc.constantFrom(3_000, 60_000), (steps, maxEntries, ttlMs) => {
        const tracker = new ConnectionTracker({ ttlMs, maxEntries });
        const model = new ModelTracker(ttlMs, maxEntries);
        let t = T0;
        for (const s of steps) {
          t += s.dtMs;
          const flow = aFlow({
            node: s.node,
            timeMs: t,
            ip: { source: s.src, destination: s.dst, version: s.src.includes(':') ? 6 : 4 },
            l4: s.udp ? udp(s.dport, s.sport) : tcp(s.dport, { sourcePort: s.sport }),
            source: ENDPOINTS[s.from]!,
            destination: ENDPOINTS[s.to]!,
          });
          const c = tracker.classify(flow);
          expect(c.kind === 'connection' ? 'connection' : c.reason).toBe(model.classify(flow));
          expect(tracker.size).toBe(model.size);
          expect(tracker.evicted).toBe(model.evicted);
        }
      }),
    );
  });

  it('keeps apart two different connections whose keys hash alike', () => {
    // Birthday search over source address and port: a 32-bit collision turns up within a few
    // hundred thousand keys.
    const flowOf = (i: number): Flow => aFlow({ ip: { source: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, destination: '10.200.0.1', version: 4 }, l4: tcp(80, { sourcePort: 1024 + (i % 7) }) });
    const byHash = new Map<number, number>();
    let pair: [Flow, Flow] | null = null;
    for (let i = 0; i < 2_000_000 && pair === null; i++) {
      const h = connectionKeyHash(flowOf(i))!;
      const j = byHash.get(h);
      if (j !== undefined) pair = [flowOf(j), flowOf(i)];
      else byHash.set(h, i);
    }
    expect(pair).not.toBeNull();
    const [a, b] = pair!;
    expect(connectionKeyHash(a)).toBe(connectionKeyHash(b));
    expect(a.ip).not.toEqual(b.ip);
    const tracker = new ConnectionTracker();
    expect(tracker.classify(a).kind).toBe('connection');
    expect(tracker.classify(b).kind).toBe('connection');
    expect(tracker.classify(a)).toEqual({ kind: 'skip', reason: 'duplicate' });
    expect(tracker.classify(b)).toEqual({ kind: 'skip', reason: 'duplicate' });
    expect(tracker.size).toBe(2);
  });

  it('reuses freed slots: a long stream stays within the bound', () => {
    const tracker = new ConnectionTracker({ ttlMs: 1_000, maxEntries: 1_000 });
    for (let i = 0; i < 50_000; i++) {
      const flow = aFlow({ timeMs: T0 + i, ip: { source: `10.1.${(i >> 8) & 255}.${i & 255}`, destination: '10.2.0.1', version: 4 }, l4: udp(53, i % 60_000) });
      tracker.classify(flow);
    }
    expect(tracker.size).toBeLessThanOrEqual(1_000);
    expect(tracker.size + tracker.evicted).toBeGreaterThan(0);
  });
});
