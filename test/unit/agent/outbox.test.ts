import { describe, expect, it } from 'vitest';
import { Outbox } from '../../../agent/report/outbox.js';
import type { WindowSummary } from '../../../core/summary/index.js';

function windowAt(i: number, deny = 1): WindowSummary {
  return {
    node: 'n',
    bootId: 'b',
    seq: 0,
    windowStartMs: i * 10,
    windowEndMs: (i + 1) * 10,
    mergedWindows: 1,
    hubble: { flowsSeen: 1, connections: 1, lost: {}, reconnects: 0, connected: true },
    contractsGeneration: 1,
    contracts: [
      {
        contract: 'c',
        revision: 1,
        stageIndex: 0,
        stageName: 'monitor',
        egress: { allow: 0, deny, indeterminate: 0 },
        ingress: { allow: 0, deny: 0, indeterminate: 0 },
        actualDenies: 0,
        wouldDenyEdges: [],
        wouldDenyEdgesOverflow: 0,
        actualDenyEdges: [],
        actualDenyEdgesOverflow: 0,
      },
    ],
  };
}

/** A receiver that, like the control plane, is idempotent on seq. */
function receiver() {
  const seen = new Map<number, WindowSummary>();
  return {
    take(s: WindowSummary) {
      if (!seen.has(s.seq)) seen.set(s.seq, s);
    },
    deny: () => [...seen.values()].reduce((n, s) => n + s.contracts[0]!.egress.deny, 0),
    windows: () => [...seen.values()].reduce((n, s) => n + s.mergedWindows, 0),
  };
}

describe('Outbox', () => {
  it('numbers windows at first send, keeps the number on resend, forgets on ack', () => {
    const o = new Outbox({ capacity: 10, topK: 10 });
    o.push(windowAt(0));
    o.push(windowAt(1));
    const a = o.takeNext()!;
    const b = o.takeNext()!;
    expect([a.seq, b.seq, a.summary.seq]).toEqual([1, 2, 1]);
    expect(o.takeNext()).toBe(null);
    o.streamLost();
    expect(o.takeNext()!.seq).toBe(1);
    expect(o.stats.resends).toBe(1);
    expect(o.ack(1)).toBe(true);
    expect(o.ack(1)).toBe(false);
    expect(o.size).toBe(1);
  });

  it('stays bounded while the receiver is away, merging only unsent windows, and loses nothing', () => {
    const o = new Outbox({ capacity: 6, topK: 10 });
    const r = receiver();
    // Two windows go out, their acks are lost with the connection.
    o.push(windowAt(0, 1));
    o.push(windowAt(1, 2));
    r.take(o.takeNext()!.summary);
    r.take(o.takeNext()!.summary);
    o.streamLost();
    let pushed = 3;
    let total = 3;
    for (let i = 2; i < 1000; i++) {
      o.push(windowAt(i, i));
      pushed++;
      total += i;
      expect(o.size).toBeLessThanOrEqual(6);
    }
    expect(o.stats.merges).toBeGreaterThan(900);
    // Reconnect: resend everything unacked; the receiver drops duplicates by seq.
    for (let guard = 0; guard < 100 && o.size > 0; guard++) {
      const e = o.takeNext();
      if (e === null) break;
      r.take(e.summary);
      o.ack(e.seq!);
    }
    expect(o.size).toBe(0);
    expect(r.deny()).toBe(total);
    expect(r.windows()).toBe(pushed - 1);
  });

  it('limits sent-but-unacked windows to half its capacity', () => {
    const o = new Outbox({ capacity: 8, topK: 10 });
    for (let i = 0; i < 8; i++) o.push(windowAt(i));
    let sent = 0;
    while (o.takeNext() !== null) sent++;
    expect(sent).toBe(4);
    expect(o.maxInFlight).toBe(4);
  });

  it('drops a rejected window for good and says so', () => {
    const o = new Outbox({ capacity: 4, topK: 10 });
    o.push(windowAt(0));
    const e = o.takeNext()!;
    expect(o.reject(e.seq!)?.windowStartMs).toBe(0);
    expect(o.stats.rejected).toBe(1);
    expect(o.size).toBe(0);
  });
});
