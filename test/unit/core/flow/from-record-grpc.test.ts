/**
 * flowFromRecord over what proto-loader really decodes: each capture line is converted to a
 * record, encoded to protobuf bytes with proto/hubble's GetFlowsResponse and decoded back as
 * grpc-js would, then mapped. The Flow must equal the one from the protojson line.
 */
import { describe, expect, it } from 'vitest';
import { flowFromRecord, lostEventFromRecord, type Flow } from '../../../../core/flow/index.js';
import { parseResponseLine } from '../../../../proto/codec/hubble-json.js';
import { decodeRecord, encodeRecord, hubbleType } from '../../../../proto/codec/hubble-types.js';
import { aFlowRecord, toProtoLoaderShape } from '../../../support/builders.js';
import { readCaptures } from './captures.js';

const responseType = hubbleType('observer.GetFlowsResponse');

function decoded(line: string): Record<string, unknown> {
  const r = parseResponseLine(line);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return decodeRecord(responseType, encodeRecord(responseType, r.value));
}

function flowOk(record: unknown, envelope?: Record<string, unknown>): Flow {
  const r = flowFromRecord(record, envelope);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

describe('flowFromRecord over real proto-loader decodes', () => {
  it('every capture line gives the same Flow as its protojson form', () => {
    let n = 0;
    for (const capture of readCaptures()) {
      for (const { text, record } of capture.lines) {
        const response = decoded(text);
        const fromGrpc = flowOk(response['flow'], response);
        const fromJson = flowOk(record['flow'], record);
        expect({ ...fromGrpc, time: '' }).toEqual({ ...fromJson, time: '' });
        expect(Date.parse(fromGrpc.time)).toBe(Date.parse(fromJson.time));
        n++;
      }
    }
    expect(n).toBe(1906);
  });

  it('the toProtoLoaderShape builder matches the real decode for the fields Flow reads', () => {
    const record = aFlowRecord({ is_reply: false, trace_reason: 'NEW', l4: { UDP: { source_port: 5353, destination_port: 53 } } });
    const real = decoded(JSON.stringify({ flow: record, node_name: 'node-1', time: record['time'] }))['flow'];
    expect(flowOk(toProtoLoaderShape(record))).toEqual(flowOk(real));
  });

  it('a decoded lost event maps to the same record as its JSON line', () => {
    const line = '{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"12"},"node_name":"n1","time":"2025-09-28T08:25:44.749505064Z"}';
    const response = decoded(line);
    const r = lostEventFromRecord(response['lost_events'], response);
    expect(r).toEqual({ ok: true, value: { kind: 'lost', source: 'HUBBLE_RING_BUFFER', count: 12, timeMs: Date.parse('2025-09-28T08:25:44.749Z'), node: 'n1' } });
  });
});
