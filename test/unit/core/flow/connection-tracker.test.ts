import { describe, expect, it } from 'vitest';
import { ConnectionTracker, isPolicyDrop, type Classification, type Flow } from '../../../../core/flow/index.js';
import { aFlow, aPod, aReserved, anExternal, icmpv4, reversed, sctp, tcp, tcpFlags, udp } from '../../../support/builders.js';

const T0 = Date.parse('2026-01-01T00:00:00Z');
const at = (offsetMs: number): Pick<Flow, 'timeMs'> => ({ timeMs: T0 + offsetMs });

function classifyAll(flows: readonly Flow[], tracker = new ConnectionTracker()): Classification[] {
  return flows.map((f) => tracker.classify(f));
}

const skip = (reason: string): Classification => ({ kind: 'skip', reason }) as Classification;
const both: Classification = { kind: 'connection', egress: true, ingress: true };

describe('ConnectionTracker: single flows (each rule a named case)', () => {
  const cases: readonly { name: string; flow: Flow; expected: Classification }[] = [
    { name: 'TCP SYN, not a reply: a connection start', flow: aFlow(), expected: both },
    { name: 'TCP SYN with is_reply absent (TO_OVERLAY): a start', flow: aFlow({ isReply: null }), expected: both },
    { name: 'TCP SYN+ACK: a reply', flow: aFlow({ isReply: null, l4: tcp(8080, { flags: tcpFlags('SYN', 'ACK') }) }), expected: skip('reply') },
    { name: 'TCP ACK only: a continuation', flow: aFlow({ l4: tcp(8080, { flags: tcpFlags('ACK') }) }), expected: skip('not-connection-start') },
    { name: 'TCP FIN+ACK: a continuation', flow: aFlow({ l4: tcp(8080, { flags: tcpFlags('FIN', 'ACK') }) }), expected: skip('not-connection-start') },
    { name: 'is_reply true: a reply even with SYN', flow: aFlow({ isReply: true }), expected: skip('reply') },
    { name: 'trace_reason NEW without SYN (≥ 1.16): a start', flow: aFlow({ traceReason: 'NEW', l4: tcp(8080, { flags: tcpFlags('ACK') }) }), expected: both },
    { name: 'trace_reason ESTABLISHED: a continuation', flow: aFlow({ traceReason: 'ESTABLISHED' }), expected: skip('not-connection-start') },
    { name: 'trace_reason REPLY: a reply', flow: aFlow({ traceReason: 'REPLY', isReply: null }), expected: skip('reply') },
    { name: 'L7 flow: skipped', flow: aFlow({ type: 'L7', eventType: 129 }), expected: skip('not-l3-l4') },
    { name: 'SOCK flow: skipped', flow: aFlow({ type: 'SOCK', eventType: 7 }), expected: skip('not-l3-l4') },
    { name: 'field-masked drop without Type but with l4: still L3/L4', flow: aFlow({ type: 'UNKNOWN_TYPE', eventType: null, observed: 'DROPPED', dropReason: 'POLICY_DENIED', isReply: null }), expected: both },
    { name: 'no l4: nothing to key on', flow: aFlow({ l4: null }), expected: skip('no-five-tuple') },
    { name: 'no IP: nothing to key on', flow: aFlow({ ip: null }), expected: skip('no-five-tuple') },
    { name: 'UDP first sighting: a start', flow: aFlow({ l4: udp(53) }), expected: both },
    { name: 'SCTP first sighting: a start', flow: aFlow({ l4: sctp() }), expected: both },
    { name: 'ICMP echo request: a start', flow: aFlow({ l4: icmpv4(8) }), expected: both },
    { name: 'ICMP echo reply: a reply', flow: aFlow({ l4: icmpv4(0), isReply: null }), expected: skip('reply') },
    { name: 'ICMP destination unreachable: related, not a start', flow: aFlow({ l4: icmpv4(3, 3), isReply: null }), expected: skip('not-connection-start') },
    { name: 'only source.ID set: egress side only', flow: aFlow({ destination: aPod({ id: null }) }), expected: { kind: 'connection', egress: true, ingress: false } },
    { name: 'only destination.ID set: ingress side only', flow: aFlow({ source: aPod({ id: null }) }), expected: { kind: 'connection', egress: false, ingress: true } },
    { name: 'neither ID set: no local endpoint', flow: aFlow({ source: aPod({ id: null }), destination: aPod({ id: null }) }), expected: skip('no-local-endpoint') },
    { name: 'host → local pod: ingress side only', flow: aFlow({ source: aReserved('host'), destination: aPod({ id: 7 }) }), expected: { kind: 'connection', egress: false, ingress: true } },
    { name: 'local pod → world: egress side only', flow: aFlow({ destination: anExternal() }), expected: { kind: 'connection', egress: true, ingress: false } },
    { name: 'policy drop (POLICY_DENIED) of a SYN: a connection attempt', flow: aFlow({ observed: 'DROPPED', dropReason: 'POLICY_DENIED', isReply: null }), expected: both },
    { name: 'policy drop (POLICY_DENY) of a non-SYN packet: still an attempt', flow: aFlow({ observed: 'DROPPED', dropReason: 'POLICY_DENY', l4: tcp(80, { flags: tcpFlags('ACK') }) }), expected: both },
    { name: 'drop for another reason: not a connection', flow: aFlow({ observed: 'DROPPED', dropReason: 'INVALID_SOURCE_IP' }), expected: skip('dropped-not-policy') },
  ];
  it.each(cases)('$name', ({ flow, expected }) => {
    expect(new ConnectionTracker().classify(flow)).toEqual(expected);
  });
});

describe('ConnectionTracker: sequences', () => {
  it('the same SYN at several observation points counts once', () => {
    const syn = aFlow(at(0));
    const r = classifyAll([
      { ...syn, eventType: 5, observationPoint: null }, // policy verdict
      { ...syn, observationPoint: 'TO_PROXY', ...at(1) },
      { ...syn, observationPoint: 'TO_ENDPOINT', ...at(2) },
    ]);
    expect(r.map((c) => c.kind)).toEqual(['connection', 'skip', 'skip']);
    expect(r[1]).toEqual(skip('duplicate'));
  });

  it('a retransmitted SYN within the TTL counts once', () => {
    const r = classifyAll([aFlow(at(0)), aFlow(at(1_000)), aFlow(at(3_000)), aFlow(at(7_000))]);
    expect(r.filter((c) => c.kind === 'connection')).toHaveLength(1);
  });

  it('retransmitted policy drops count as one attempt per 5-tuple within the TTL', () => {
    const drop = (ms: number, sourcePort: number) => aFlow({ ...at(ms), observed: 'DROPPED', dropReason: 'POLICY_DENIED', isReply: null, l4: tcp(80, { sourcePort }) });
    const flows = [drop(0, 1000), drop(1_000, 1000), drop(3_000, 1000), drop(3_500, 2000), drop(4_000, 2000)];
    const r = classifyAll(flows);
    expect(r.filter((c) => c.kind === 'connection')).toHaveLength(2);
    expect(flows.every(isPolicyDrop)).toBe(true);
  });

  it('the same 5-tuple on another node is another count (each node counts its own side)', () => {
    const r = classifyAll([aFlow({ ...at(0), node: 'a' }), aFlow({ ...at(1), node: 'b' })]);
    expect(r.map((c) => c.kind)).toEqual(['connection', 'connection']);
  });

  it('one 5-tuple reused by different endpoints (hand-written test lines) is not a duplicate', () => {
    const r = classifyAll([aFlow({ ...at(0), destination: aPod({ labels: { app: 'a' } }) }), aFlow({ ...at(0), destination: aPod({ labels: { app: 'b' } }) })]);
    expect(r.map((c) => c.kind)).toEqual(['connection', 'connection']);
  });

  it('a new source port is a new connection', () => {
    const r = classifyAll([aFlow({ ...at(0), l4: tcp(8080, { sourcePort: 1 }) }), aFlow({ ...at(1), l4: tcp(8080, { sourcePort: 2 }) })]);
    expect(r.map((c) => c.kind)).toEqual(['connection', 'connection']);
  });

  it('a UDP reply (reversed 5-tuple within the TTL) is skipped even without is_reply', () => {
    const query = aFlow({ ...at(0), l4: udp(53, 40_001), isReply: null });
    const answer = reversed(query, { ...at(5), isReply: null });
    expect(classifyAll([query, answer])).toEqual([both, skip('reply')]);
  });

  it('UDP: the same 5-tuple after the TTL is a new first sighting', () => {
    const f = (ms: number) => aFlow({ ...at(ms), l4: udp(53) });
    const tracker = new ConnectionTracker({ ttlMs: 60_000 });
    expect(classifyAll([f(0), f(30_000), f(120_000)], tracker).map((c) => c.kind)).toEqual(['connection', 'skip', 'connection']);
  });

  it('a sighting refreshes the TTL, as conntrack refreshes its lifetime', () => {
    const f = (ms: number) => aFlow({ ...at(ms), l4: udp(53) });
    expect(classifyAll([f(0), f(50_000), f(100_000)]).map((c) => c.kind)).toEqual(['connection', 'skip', 'skip']);
  });

  it('uses the flows’ own timestamps: replaying an old capture behaves like live', () => {
    const old = Date.parse('2021-11-10T10:40:56Z');
    const f = (ms: number) => aFlow({ timeMs: old + ms, l4: udp(53) });
    expect(classifyAll([f(0), f(61_000)]).map((c) => c.kind)).toEqual(['connection', 'connection']);
  });

  it('slightly out-of-order timestamps still dedupe', () => {
    expect(classifyAll([aFlow(at(1_000)), aFlow(at(900))]).map((c) => c.kind)).toEqual(['connection', 'skip']);
  });

  it('is bounded: past maxEntries the oldest key is evicted and counted', () => {
    const tracker = new ConnectionTracker({ maxEntries: 3 });
    const flows = [1, 2, 3, 4, 5].map((p) => aFlow({ ...at(p), l4: tcp(80, { sourcePort: p }) }));
    classifyAll(flows, tracker);
    expect(tracker.size).toBe(3);
    expect(tracker.evicted).toBe(2);
    // the evicted first connection's retransmit is counted again: the cost of the bound
    expect(tracker.classify(aFlow({ ...at(6), l4: tcp(80, { sourcePort: 1 }) })).kind).toBe('connection');
  });

  it('expired keys are swept, so the size stays bounded by the live connections', () => {
    const tracker = new ConnectionTracker({ ttlMs: 1_000 });
    for (let i = 0; i < 100; i++) tracker.classify(aFlow({ ...at(i * 2_000), l4: tcp(80, { sourcePort: 1000 + i }) }));
    expect(tracker.size).toBeLessThanOrEqual(2);
    expect(tracker.evicted).toBe(0);
  });

  it('rejects a nonsensical configuration', () => {
    expect(() => new ConnectionTracker({ ttlMs: 0 })).toThrow(RangeError);
    expect(() => new ConnectionTracker({ maxEntries: 0 })).toThrow(RangeError);
  });
});

describe('ConnectionTracker: hand-written records', () => {
  it('a TCP record without flags starts at its first sighting', () => {
    const noFlags = aFlow({ l4: { ...tcp(80), flags: null } });
    expect(classifyAll([noFlags, { ...noFlags, timeMs: noFlags.timeMs + 5 }])).toEqual([both, skip('duplicate')]);
  });
});
