import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FastDecoder } from '../../../../agent/hubble/fast-decode.js';
import { decodedFromRecord } from '../../../../agent/hubble/from-pb.js';
import { parseResponseLine } from '../../../../proto/codec/hubble-json.js';
import { decodeRecord, encodeRecord, hubbleType, type PbRecord } from '../../../../proto/codec/hubble-types.js';

const FLOWS_DIR = fileURLToPath(new URL('../../../../../shared/flows/', import.meta.url));
const RESPONSE = hubbleType('observer.GetFlowsResponse');

function captureRecords(): PbRecord[] {
  const out: PbRecord[] = [];
  for (const file of readdirSync(FLOWS_DIR).filter((f) => f.endsWith('.jsonl')).sort()) {
    readFileSync(FLOWS_DIR + file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (line.trim() === '') return;
        const r = parseResponseLine(line, `${file}:${i + 1}`);
        if (!r.ok) throw new Error(JSON.stringify(r.error));
        out.push(r.value);
      });
  }
  return out;
}

/** One decoder for the file, as one stream has: its caches carry from message to message. */
const decoder = new FastDecoder();
const fastDecodeResponse = (bytes: Buffer) => decoder.decode(bytes);
const reference = (bytes: Buffer) => decodedFromRecord(decodeRecord(RESPONSE, bytes));

describe('fast wire decoder', () => {
  it('gives the same domain Flow as proto-loader + flowFromRecord for every captured flow', () => {
    const records = captureRecords();
    let flows = 0;
    for (const record of records) {
      const bytes = encodeRecord(RESPONSE, record);
      const fast = fastDecodeResponse(bytes);
      expect(fast).toEqual(reference(bytes));
      if (fast.kind === 'flow') flows++;
    }
    expect(flows).toBe(records.length);
  });

  it.each<[string, PbRecord]>([
    ['a drop with reason, uuid, trace reason, ICMPv6 and is_reply false', {
      flow: {
        time: { seconds: 1700000000, nanos: 5 },
        uuid: 'd54c1e24-8985-4710-b275-b19b15aed350',
        verdict: 'DROPPED',
        drop_reason: 133,
        drop_reason_desc: 'POLICY_DENIED',
        IP: { source: 'fd00::1', destination: 'fd00::2', ipVersion: 'IPv6' },
        l4: { ICMPv6: { type: 128 }, protocol: 'ICMPv6' },
        source: { ID: 12, identity: 3000, namespace: 'shop', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop'], pod_name: 'web-1', workloads: [{ name: 'web', kind: 'Deployment' }] },
        destination: { identity: 2, labels: ['reserved:world'] },
        Type: 'L3_L4',
        node_name: 'kind/worker',
        event_type: { type: 1, sub_type: 133 },
        traffic_direction: 'EGRESS',
        trace_reason: 'NEW',
        is_reply: {},
      },
      response_types: 'flow',
      node_name: 'kind/worker',
    }],
    ['a lost event', { lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: 7 }, response_types: 'lost_events', node_name: 'n1' }],
    ['a node status', { node_status: { state_change: 'NODE_GONE', node_names: ['a', 'b'], message: 'bye' }, response_types: 'node_status' }],
    ['an unknown enum number and a huge uint64', { lost_events: { source: 9 as unknown as string, num_events_lost: 2 ** 40 }, response_types: 'lost_events' }],
  ])('matches the reference decoder on %s', (_name, record) => {
    const bytes = encodeRecord(RESPONSE, record);
    expect(fastDecodeResponse(bytes)).toEqual(reference(bytes));
  });

  it.each([
    ['a truncated varint', Buffer.from([0x0a, 0x85])],
    ['a length past the end', Buffer.from([0x0a, 0x10, 0x01])],
    ['field number 0', Buffer.from([0x00, 0x01])],
    ['wire type 7', Buffer.from([0x0f])],
  ])('throws a RangeError on %s (the client counts it as malformed)', (_name, bytes) => {
    expect(() => fastDecodeResponse(bytes)).toThrow(RangeError);
  });

  it('reports a response with no event as malformed rather than inventing one', () => {
    expect(fastDecodeResponse(encodeRecord(RESPONSE, { node_name: 'n1' })).kind).toBe('malformed');
  });
});
