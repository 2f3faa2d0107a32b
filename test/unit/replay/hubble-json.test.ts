import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { formatResponseLine, parseResponseLine } from '../../../proto/codec/hubble-json.js';
import { decodeRecord, encodeRecord, hubbleType } from '../../../proto/codec/hubble-types.js';
import { rfc3339FromTimestamp, timestampFromRfc3339 } from '../../../proto/codec/hubble-time.js';

const FLOWS_DIR = fileURLToPath(new URL('../../../../shared/flows/', import.meta.url));
const RESPONSE = hubbleType('observer.GetFlowsResponse');

function captureLines(): { file: string; line: string }[] {
  const out: { file: string; line: string }[] = [];
  for (const file of readdirSync(FLOWS_DIR).filter((f) => f.endsWith('.jsonl')).sort()) {
    for (const line of readFileSync(FLOWS_DIR + file, 'utf8').split('\n')) {
      if (line.trim() !== '') out.push({ file, line });
    }
  }
  return out;
}

describe('protojson ⇄ record codec', () => {
  it('round-trips every line of every capture through the wire format, key for key', () => {
    const lines = captureLines();
    expect(lines.length).toBeGreaterThan(1900);
    for (const { file, line } of lines) {
      const parsed = parseResponseLine(line, file);
      if (!parsed.ok) throw new Error(`${file}: ${JSON.stringify(parsed.error)}`);
      const decoded = decodeRecord(RESPONSE, encodeRecord(RESPONSE, parsed.value));
      expect(JSON.parse(formatResponseLine(decoded))).toEqual(JSON.parse(line));
    }
  });

  it('keeps the proto-loader shape: enum names, oneof branch names, Timestamp objects, BoolValue', () => {
    const line =
      '{"flow":{"time":"2021-11-10T10:40:56.465597700Z","verdict":"FORWARDED","l4":{"TCP":{"source_port":1,"destination_port":2,"flags":{"SYN":true}}},"is_reply":false,"l7":{"latency_ns":"999958359"}},"node_name":"n1","time":"2021-11-10T10:40:56.465597700Z"}';
    const r = parseResponseLine(line);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const flow = r.value['flow'] as Record<string, unknown>;
    expect(r.value['response_types']).toBe('flow');
    expect(flow['time']).toEqual({ seconds: 1636540856, nanos: 465597700 });
    expect(flow['is_reply']).toEqual({ value: false });
    expect(flow['l4']).toEqual({ TCP: { source_port: 1, destination_port: 2, flags: { SYN: true } }, protocol: 'TCP' });
    expect(flow['l7']).toEqual({ latency_ns: 999958359 });
    // what proto-loader would decode from the same bytes
    expect(decodeRecord(RESPONSE, encodeRecord(RESPONSE, r.value))).toEqual(r.value);
  });

  it('prints uint64 as strings, omits zero values, keeps a false BoolValue', () => {
    const text = formatResponseLine({
      lost_events: { source: 'HUBBLE_RING_BUFFER', num_events_lost: 3 },
      response_types: 'lost_events',
      node_name: 'n1',
    });
    expect(text).toBe('{"lost_events":{"source":"HUBBLE_RING_BUFFER","num_events_lost":"3"},"node_name":"n1"}');
    const flow = formatResponseLine({ flow: { verdict: 'VERDICT_UNKNOWN', reply: false, is_reply: { value: false }, drop_reason: 0 } });
    expect(flow).toBe('{"flow":{"is_reply":false}}');
  });

  it('accepts a bare flow (older CLIs) and lowerCamel names', () => {
    const r = parseResponseLine('{"time":"2021-06-16T16:52:13Z","nodeName":"n2","trafficDirection":"INGRESS"}');
    expect(r.ok && r.value).toMatchObject({ node_name: 'n2', flow: { traffic_direction: 'INGRESS' }, time: { seconds: 1623862333, nanos: 0 } });
  });

  it.each([
    ['not json', 'x', 'a.jsonl:3', 'not JSON'],
    ['unknown field', '{"flow":{"verdikt":"DROPPED"}}', 'a.jsonl:3', 'a.jsonl:3.flow.verdikt'],
    ['bad enum', '{"flow":{"verdict":"MAYBE"}}', 'a.jsonl:3', 'unknown Verdict value'],
    ['bad port', '{"flow":{"l4":{"TCP":{"source_port":-1}}}}', 'a.jsonl:3', 'a.jsonl:3.flow.l4.TCP.source_port'],
    ['bad time', '{"flow":{"time":"yesterday"}}', 'a.jsonl:3', 'RFC 3339'],
  ])('rejects %s with a located problem', (_name, line, where, fragment) => {
    const r = parseResponseLine(line, where);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.map((p) => `${p.path}: ${p.message}`).join('\n')).toContain(fragment);
  });
});

describe('RFC 3339 timestamps', () => {
  it.each([
    ['2021-06-16T16:52:13.136834446Z', '2021-06-16T16:52:13.136834446Z'],
    ['2021-11-10T10:40:56.465597700Z', '2021-11-10T10:40:56.465597700Z'],
    ['2021-11-10T10:40:56.4655Z', '2021-11-10T10:40:56.465500Z'],
    ['2021-11-10T10:40:56.5Z', '2021-11-10T10:40:56.500Z'],
    ['2021-11-10T10:40:56Z', '2021-11-10T10:40:56Z'],
    ['2021-11-10T12:40:56.000000001+02:00', '2021-11-10T10:40:56.000000001Z'],
  ])('%s prints as %s', (input, output) => {
    const ts = timestampFromRfc3339(input);
    expect(ts).not.toBeNull();
    expect(rfc3339FromTimestamp(ts!)).toBe(output);
  });

  it.each(['2021-02-31T00:00:00Z', '2021-06-16 16:52:13Z', '2021-06-16T16:52:13.1234567890Z', ''])('rejects %j', (t) => {
    expect(timestampFromRfc3339(t)).toBeNull();
  });
});
