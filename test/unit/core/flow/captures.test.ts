/**
 * Every line of every real capture in ../shared/flows/ parses, and the tracker's counts of
 * connection starts match numbers computed here independently from the raw JSON fields.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionTracker, parseHubbleLine } from '../../../../core/flow/index.js';
import { readCaptures, type Capture } from './captures.js';

const captures = readCaptures();

type Raw = Record<string, unknown>;
const get = (o: unknown, ...path: string[]): unknown => path.reduce<unknown>((v, k) => (v !== null && typeof v === 'object' ? (v as Raw)[k] : undefined), o);

/**
 * Independent count of TCP connection starts per the jq-like rule: L3_L4, SYN && !ACK, not a
 * reply (`is_reply` nor old `reply`), with a local endpoint, distinct by node + 5-tuple.
 */
function expectedTcpStarts(capture: Capture): number {
  const keys = new Set<string>();
  for (const { record } of capture.lines) {
    const f = record['flow'];
    if (get(f, 'Type') !== 'L3_L4') continue;
    const tcp = get(f, 'l4', 'TCP');
    if (tcp === undefined) continue;
    if (get(tcp, 'flags', 'SYN') !== true || get(tcp, 'flags', 'ACK') === true) continue;
    if (get(f, 'is_reply') === true || get(f, 'reply') === true) continue;
    if (get(f, 'source', 'ID') === undefined && get(f, 'destination', 'ID') === undefined) continue;
    keys.add(JSON.stringify([get(f, 'node_name'), get(f, 'IP', 'source'), get(tcp, 'source_port'), get(f, 'IP', 'destination'), get(tcp, 'destination_port')]));
  }
  return keys.size;
}

/** Distinct non-reply UDP 5-tuples per node with a local endpoint (all within one minute in these captures). */
function expectedUdpStarts(capture: Capture): number {
  const keys = new Set<string>();
  for (const { record } of capture.lines) {
    const f = record['flow'];
    if (get(f, 'Type') !== 'L3_L4') continue;
    const udp = get(f, 'l4', 'UDP');
    if (udp === undefined) continue;
    if (get(f, 'is_reply') === true || get(f, 'reply') === true) continue;
    if (get(f, 'source', 'ID') === undefined && get(f, 'destination', 'ID') === undefined) continue;
    keys.add(JSON.stringify([get(f, 'node_name'), get(f, 'IP', 'source'), get(udp, 'source_port'), get(f, 'IP', 'destination'), get(udp, 'destination_port')]));
  }
  return keys.size;
}

function classifyCapture(capture: Capture) {
  const tracker = new ConnectionTracker();
  const counts = { tcp: 0, udp: 0, other: 0, egress: 0, ingress: 0 };
  for (const { text } of capture.lines) {
    const r = parseHubbleLine(text);
    if (!r.ok || r.value.kind !== 'flow') continue;
    const c = tracker.classify(r.value.flow);
    if (c.kind !== 'connection') continue;
    const proto = r.value.flow.l4?.protocol;
    if (proto === 'TCP') counts.tcp++;
    else if (proto === 'UDP') counts.udp++;
    else counts.other++;
    if (c.egress) counts.egress++;
    if (c.ingress) counts.ingress++;
  }
  return counts;
}

describe('real captures', () => {
  it('there are seven capture files with 1,906 lines', () => {
    expect(captures).toHaveLength(7);
    expect(captures.reduce((n, c) => n + c.lines.length, 0)).toBe(1906);
  });

  describe.each(captures.map((c) => ({ name: c.file, capture: c })))('$name', ({ capture }) => {
    it('every line parses to a flow', () => {
      const failures = capture.lines
        .map(({ lineNumber, text }) => ({ lineNumber, r: parseHubbleLine(text) }))
        .filter(({ r }) => !r.ok || r.value.kind !== 'flow')
        .map(({ lineNumber, r }) => `${capture.file}:${lineNumber}: ${r.ok ? r.value.kind : r.error}`);
      expect(failures).toEqual([]);
    });

    it('TCP and UDP connection starts match the independent count', () => {
      const counts = classifyCapture(capture);
      expect(counts.tcp).toBe(expectedTcpStarts(capture));
      expect(counts.udp).toBe(expectedUdpStarts(capture));
    });
  });

  it('the 400-TCP capture: 39 TCP starts out of 400 lines, replies and duplicates skipped', () => {
    const tcp = captures.find((c) => c.file.includes('400-tcp'))!;
    const counts = classifyCapture(tcp);
    // 43 distinct SYN 5-tuples per node, of which 4 are host→remote TO_OVERLAY flows with no local endpoint
    expect(expectedTcpStarts(tcp)).toBe(39);
    expect(counts.tcp).toBe(39);
    // every counted connection is evaluated on at least one side, some on both
    expect(counts.egress + counts.ingress).toBeGreaterThan(counts.tcp);
  });

  it('L7-only captures (DNS, HTTP) count nothing', () => {
    for (const c of captures.filter((x) => /dns-flows|http-flows/.test(x.file))) {
      expect(classifyCapture(c)).toEqual({ tcp: 0, udp: 0, other: 0, egress: 0, ingress: 0 });
    }
  });
});
