/** Properties of the tracker over random flow sequences (fast-check). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConnectionTracker, type Flow } from '../../../../core/flow/index.js';
import { aFlow, tcp, udp } from '../../../support/builders.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const TTL_MS = 60_000;

/** Sources and destinations from disjoint address sets, so no flow is the reverse of another. */
const arbFlow = fc.record({
  node: fc.constantFrom('n1', 'n2'),
  src: fc.constantFrom('10.0.0.1', '10.0.0.2', '10.0.0.3'),
  dst: fc.constantFrom('10.1.0.1', '10.1.0.2'),
  sport: fc.integer({ min: 40_000, max: 40_004 }),
  dport: fc.constantFrom(53, 80),
  udp: fc.boolean(),
  atMs: fc.integer({ min: 0, max: TTL_MS - 1 }),
});
type Spec = typeof arbFlow extends fc.Arbitrary<infer T> ? T : never;

const toFlow = (s: Spec): Flow =>
  aFlow({
    node: s.node,
    timeMs: T0 + s.atMs,
    ip: { source: s.src, destination: s.dst, version: 4 },
    l4: s.udp ? udp(s.dport, s.sport) : tcp(s.dport, { sourcePort: s.sport }),
  });
const keyOf = (s: Spec): string => `${s.node}|${s.udp}|${s.src}|${s.sport}|${s.dst}|${s.dport}`;
const countConnections = (flows: readonly Flow[], tracker = new ConnectionTracker({ ttlMs: TTL_MS })): number =>
  flows.filter((f) => tracker.classify(f).kind === 'connection').length;

describe('ConnectionTracker properties', () => {
  it('within one TTL, connections = distinct node + 5-tuples', () => {
    fc.assert(
      fc.property(fc.array(arbFlow, { maxLength: 200 }), (specs) => {
        expect(countConnections(specs.map(toFlow))).toBe(new Set(specs.map(keyOf)).size);
      }),
    );
  });

  it('seeing every packet again at a second observation point changes nothing', () => {
    fc.assert(
      fc.property(fc.array(arbFlow, { maxLength: 100 }), (specs) => {
        const flows = specs.map(toFlow);
        const doubled = flows.flatMap((f) => [f, { ...f, observationPoint: 'TO_PROXY', timeMs: f.timeMs + 1 }]);
        expect(countConnections(doubled)).toBe(countConnections(flows));
      }),
    );
  });

  it('never remembers more than maxEntries keys, and counts what it evicts', () => {
    fc.assert(
      fc.property(fc.array(arbFlow, { maxLength: 200 }), fc.integer({ min: 1, max: 10 }), (specs, maxEntries) => {
        const tracker = new ConnectionTracker({ ttlMs: TTL_MS, maxEntries });
        const connections = countConnections(specs.map(toFlow), tracker);
        expect(tracker.size).toBeLessThanOrEqual(maxEntries);
        expect(tracker.size + tracker.evicted).toBe(connections);
      }),
    );
  });
});
