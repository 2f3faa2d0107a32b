import { describe, expect, it } from 'vitest';
import { parseHubbleLine, type HubbleRecord } from '../../../../core/flow/index.js';
import { aFlowLine, aFlowRecord, aLostEventLine, anEnvelope } from '../../../support/builders.js';

function parsed(line: string): HubbleRecord {
  const r = parseHubbleLine(line);
  if (!r.ok) throw new Error(`expected ${line} to parse: ${r.error}`);
  return r.value;
}

function flowOf(line: string) {
  const r = parsed(line);
  if (r.kind !== 'flow') throw new Error(`expected a flow, got ${r.kind}`);
  return r.flow;
}

describe('parseHubbleLine: envelopes and bare flows', () => {
  it('reads the {"flow":…} envelope', () => {
    const flow = flowOf(aFlowLine());
    expect(flow.l4?.protocol).toBe('TCP');
    expect(flow.l4?.destinationPort).toBe(8080);
    expect(flow.node).toBe('node-1');
  });

  it('reads a bare flow (older CLIs printed one)', () => {
    const flow = flowOf(JSON.stringify(aFlowRecord({ verdict: 'DROPPED', drop_reason_desc: 'POLICY_DENIED' })));
    expect(flow.observed).toBe('DROPPED');
    expect(flow.dropReason).toBe('POLICY_DENIED');
  });

  it('keeps the raw object for faithful re-printing', () => {
    const r = parsed(aFlowLine({ uuid: 'abc' }));
    expect(r.kind === 'flow' && (r.raw as { flow: { uuid: string } }).flow.uuid).toBe('abc');
  });

  it('falls back to the envelope time and node when the flow lacks them', () => {
    const flow = flowOf(JSON.stringify({ flow: aFlowRecord({ time: undefined, node_name: undefined }), node_name: 'n9', time: '2025-01-02T03:04:05.5Z' }));
    expect(flow.node).toBe('n9');
    expect(flow.timeMs).toBe(Date.parse('2025-01-02T03:04:05.500Z'));
  });
});

describe('parseHubbleLine: old and new fields', () => {
  const cases: readonly { name: string; patch: Record<string, unknown>; check: (f: ReturnType<typeof flowOf>) => void }[] = [
    { name: 'is_reply true', patch: { is_reply: true }, check: (f) => expect(f.isReply).toBe(true) },
    { name: 'is_reply false', patch: { is_reply: false }, check: (f) => expect(f.isReply).toBe(false) },
    { name: 'is_reply absent: unknown', patch: { is_reply: undefined }, check: (f) => expect(f.isReply).toBeNull() },
    { name: 'old `reply: true` without is_reply', patch: { is_reply: undefined, reply: true }, check: (f) => expect(f.isReply).toBe(true) },
    { name: 'is_reply wins over old reply', patch: { is_reply: false, reply: true }, check: (f) => expect(f.isReply).toBe(false) },
    { name: 'trace_reason NEW', patch: { trace_reason: 'NEW' }, check: (f) => expect(f.traceReason).toBe('NEW') },
    { name: 'trace_reason absent (pre-1.16)', patch: {}, check: (f) => expect(f.traceReason).toBeNull() },
    { name: 'uuid present', patch: { uuid: 'd54c1e24-8985-4710-b275-b19b15aed350' }, check: (f) => expect(f.uuid).toBe('d54c1e24-8985-4710-b275-b19b15aed350') },
    { name: 'uuid absent (2021 captures)', patch: { uuid: undefined }, check: (f) => expect(f.uuid).toBeNull() },
    {
      name: 'missing ID: remote endpoint',
      patch: { destination: { identity: 48342, namespace: 'kube-system', labels: ['k8s:k8s-app=kube-dns', 'k8s:io.kubernetes.pod.namespace=kube-system'], pod_name: 'coredns-558bd4d5db-w2m67' } },
      check: (f) => expect(f.destination.id).toBeNull(),
    },
    { name: 'ID set: local endpoint', patch: {}, check: (f) => expect(f.source.id).toBe(101) },
    { name: 'numeric drop_reason (older) maps to its name', patch: { verdict: 'DROPPED', drop_reason: 133 }, check: (f) => expect(f.dropReason).toBe('POLICY_DENIED') },
    { name: 'uint32 ports sent as strings', patch: { l4: { UDP: { source_port: '5353', destination_port: '53' } } }, check: (f) => expect([f.l4?.protocol, f.l4?.sourcePort, f.l4?.destinationPort]).toEqual(['UDP', 5353, 53]) },
    { name: 'time with 0 fractional digits', patch: { time: '2021-11-10T10:40:56Z' }, check: (f) => expect(f.timeMs).toBe(Date.parse('2021-11-10T10:40:56Z')) },
    { name: 'time with 9 fractional digits', patch: { time: '2021-11-10T10:40:56.465597700Z' }, check: (f) => expect(f.timeMs).toBe(1636540856465) },
    { name: 'new 1.19 fields (emitter, node_labels, interface) are ignored', patch: { emitter: { name: 'Hubble', version: '1.19.1' }, node_labels: ['a=b'], interface: { index: 2, name: 'eth0' } }, check: (f) => expect(f.type).toBe('L3_L4') },
    { name: 'ICMPv4 echo with zero code omitted', patch: { l4: { ICMPv4: { type: 8 } } }, check: (f) => expect([f.l4?.protocol, f.l4?.icmpType, f.l4?.icmpCode]).toEqual(['ICMPv4', 8, 0]) },
    { name: 'IPv6 addresses', patch: { IP: { source: 'fd00::1', destination: 'fd00::2', ipVersion: 'IPv6' } }, check: (f) => expect(f.ip?.version).toBe(6) },
    { name: 'trace observation point', patch: { trace_observation_point: 'TO_OVERLAY' }, check: (f) => expect(f.observationPoint).toBe('TO_OVERLAY') },
    { name: 'traffic direction', patch: { traffic_direction: 'INGRESS' }, check: (f) => expect(f.direction).toBe('ingress') },
  ];
  it.each(cases)('$name', ({ patch, check }) => {
    check(flowOf(aFlowLine(patch)));
  });
});

describe('parseHubbleLine: lost events and other responses', () => {
  it('reads lost_events with a uint64 string count', () => {
    const r = parsed(aLostEventLine(42, 'HUBBLE_RING_BUFFER', 'kubernetes/worker1', '2025-09-28T08:25:44.749505064Z'));
    expect(r).toEqual({ kind: 'lost', source: 'HUBBLE_RING_BUFFER', count: 42, timeMs: Date.parse('2025-09-28T08:25:44.749Z'), node: 'kubernetes/worker1' });
  });

  it('reads the real lost-event line from hubble.md 3', () => {
    const r = parsed('{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"1"},"node_name":"kubernetes/worker1","time":"2025-09-28T08:25:44.749505064Z"}');
    expect(r.kind === 'lost' && r.count).toBe(1);
  });

  it('takes a lost event\'s own `last` time when the response has none', () => {
    const r = parsed('{"lost_events":{"source":"PERF_EVENT_RING_BUFFER","num_events_lost":"3","cpu":{"value":1},"first":"2025-01-01T00:00:00Z","last":"2025-01-01T00:00:01Z"}}');
    expect(r).toEqual({ kind: 'lost', source: 'PERF_EVENT_RING_BUFFER', count: 3, timeMs: Date.parse('2025-01-01T00:00:01Z'), node: '' });
  });

  it('treats node_status as other', () => {
    expect(parsed('{"node_status":{"state_change":"NODE_CONNECTED","node_names":["n1"]},"node_name":"relay","time":"2025-01-01T00:00:00Z"}')).toEqual({ kind: 'other', what: 'node_status' });
  });

  it('ignores a byte-order mark at the start of a line', () => {
    expect(parsed(`\ufeff${aFlowLine()}`).kind).toBe('flow');
  });

  it('treats a blank line as other, not an error', () => {
    expect(parsed('   ')).toEqual({ kind: 'other', what: 'blank line' });
  });
});

describe('parseHubbleLine: malformed lines say what was expected', () => {
  const cases: readonly { name: string; line: string; expected: RegExp }[] = [
    { name: 'not JSON', line: '{"flow": {', expected: /expected one JSON object per line/ },
    { name: 'a JSON array', line: '[1,2]', expected: /expected a JSON object, got an array/ },
    { name: 'a JSON string', line: '"hello"', expected: /expected a JSON object/ },
    { name: 'an unrelated object', line: '{"hello":"world"}', expected: /expected a Hubble GetFlowsResponse/ },
    { name: 'flow is not an object', line: '{"flow":"x"}', expected: /^flow: expected a flow object/ },
    { name: 'bad time', line: JSON.stringify(anEnvelope(aFlowRecord({ time: 'yesterday' }))), expected: /flow\.time: expected an RFC 3339 timestamp/ },
    { name: 'unknown verdict', line: aFlowLine({ verdict: 'MAYBE' }), expected: /flow\.verdict: expected one of .*, got "MAYBE"$/ },
    { name: 'negative port', line: aFlowLine({ l4: { TCP: { source_port: -1, destination_port: 80 } } }), expected: /flow\.l4\.TCP\.source_port: expected a non-negative integer, got -1$/ },
    { name: 'labels not a list', line: aFlowLine({ source: { labels: 'k8s:app=x' } }), expected: /flow\.source\.labels: expected a list/ },
    { name: 'a label that is not a string', line: aFlowLine({ source: { labels: ['k8s:app=x', 7] } }), expected: /flow\.source\.labels\[1\]: expected a "source:key=value" string/ },
    { name: 'lost event count not a number', line: '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"many"}}', expected: /lost_events\.num_events_lost: expected a non-negative integer/ },
    { name: 'is_reply of the wrong type', line: aFlowLine({ is_reply: 'yes' }), expected: /flow\.is_reply: expected a boolean/ },
  ];
  it.each(cases)('$name', ({ line, expected }) => {
    const r = parseHubbleLine(line);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toMatch(expected);
  });

  it('collects every problem of a flow, not just the first', () => {
    const r = parseHubbleLine(aFlowLine({ verdict: 'MAYBE', time: 'never' }));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error).toContain('flow.time');
      expect(r.error).toContain('flow.verdict');
    }
  });
});
