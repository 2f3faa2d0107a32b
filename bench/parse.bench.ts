/**
 * Parse cost of Hubble flows (issue 2 item 8, "parse cost reported separately"):
 *  - parseHubbleLine: lines/s over the real 400-TCP capture, repeated (JSON.parse included);
 *  - flowFromRecord: records/s over the same flows decoded by proto-loader's decoder (the
 *    shape the agent's gRPC client hands over: {seconds, nanos}, BoolValue, l4 oneof);
 *    Also with identities never seen before (the label memo cold) and over protojson records;
 *  - ConnectionTracker.classify: flows/s over the parsed flows.
 * Prints figures; asserts nothing about speed. Run: `npm run bench -- parse`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConnectionTracker, flowFromRecord, parseHubbleLine, type Flow } from '../core/flow/index.js';
import { parseResponseLine } from '../proto/codec/hubble-json.js';
import { decodeRecord, encodeRecord, hubbleType } from '../proto/codec/hubble-types.js';

const CAPTURE = 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl';
const ROUNDS = 7;
const TARGET_ROUND_MS = 300;

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found');
    dir = up;
  }
  return dir;
}

/** Runs `body(i)` for `count` items per pass, repeating passes to fill a round; returns items/s per round. */
function measure(count: number, body: (i: number) => unknown): number[] {
  let sink = 0;
  // warm-up: let the JIT settle on the steady-state shapes
  for (let pass = 0; pass < 20; pass++) for (let i = 0; i < count; i++) if (body(i) !== undefined) sink++;
  const rates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    let items = 0;
    const start = performance.now();
    let elapsed = 0;
    while (elapsed < TARGET_ROUND_MS) {
      for (let i = 0; i < count; i++) if (body(i) !== undefined) sink++;
      items += count;
      elapsed = performance.now() - start;
    }
    rates.push((items / elapsed) * 1000);
  }
  if (sink < 0) process.stdout.write('');
  return rates.sort((a, b) => a - b);
}

function report(name: string, unit: string, rates: number[], perItemNote = ''): void {
  const median = rates[Math.floor(rates.length / 2)]!;
  const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
  process.stdout.write(
    `${name.padEnd(44)} ${fmt(median).padStart(12)} ${unit}/s  (min ${fmt(rates[0]!)}, max ${fmt(rates[rates.length - 1]!)}; ${(1e9 / median).toFixed(0)} ns each${perItemNote})\n`,
  );
}

const path = resolve(repoRoot(), '..', 'shared', 'flows', CAPTURE);
const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l !== '');
const bytes = lines.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);

const responseType = hubbleType('observer.GetFlowsResponse');
const grpcRecords = lines.map((line, i) => {
  const r = parseResponseLine(line, `${CAPTURE}:${i + 1}`);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  // encode and decode as grpc-js would: the record is exactly what the agent's client receives
  return decodeRecord(responseType, encodeRecord(responseType, r.value));
});
const flows: Flow[] = lines.map((line) => {
  const r = parseHubbleLine(line);
  if (!r.ok || r.value.kind !== 'flow') throw new Error(`unexpected: ${line.slice(0, 80)}`);
  return r.value.flow;
});

process.stdout.write(`input: ${CAPTURE} (${lines.length} lines, ${(bytes / lines.length).toFixed(0)} bytes/line avg), ${ROUNDS} rounds of ~${TARGET_ROUND_MS} ms, median\n`);

const lineRates = measure(lines.length, (i) => parseHubbleLine(lines[i]!));
report('parseHubbleLine (JSON.parse + map)', 'lines', lineRates, `; ${((lineRates[Math.floor(ROUNDS / 2)]! * bytes) / lines.length / 1e6).toFixed(0)} MB/s`);
report('  of which JSON.parse alone', 'lines', measure(lines.length, (i) => JSON.parse(lines[i]!) as unknown));
report('flowFromRecord (proto-loader records)', 'records', measure(grpcRecords.length, (i) => flowFromRecord(grpcRecords[i]!['flow'], grpcRecords[i])));

// Worst case for the identity memo: every record carries identities never seen before (more
// distinct identities than the memo holds), so each endpoint's labels are split afresh.
const COLD_COPIES = 24;
const coldRecords = Array.from({ length: COLD_COPIES }, (_, copy) =>
  grpcRecords.map((response) => {
    const flow = structuredClone(response['flow']) as Record<string, Record<string, unknown>>;
    for (const side of ['source', 'destination'] as const) {
      const ep = flow[side];
      if (ep !== undefined && typeof ep['identity'] === 'number') ep['identity'] = ep['identity'] + (copy + 1) * 1_000_000;
    }
    return { ...response, flow } as Record<string, unknown>;
  }),
).flat();
report('flowFromRecord (proto-loader, identities cold)', 'records', measure(coldRecords.length, (i) => flowFromRecord(coldRecords[i]!['flow'], coldRecords[i])));
const jsonRecords = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
report('flowFromRecord (protojson records)', 'records', measure(jsonRecords.length, (i) => flowFromRecord(jsonRecords[i]!['flow'], jsonRecords[i])));

let tracker = new ConnectionTracker();
const classifyRates = measure(flows.length, (i) => {
  // a fresh tracker per pass, so every pass classifies the capture as new traffic
  if (i === 0) tracker = new ConnectionTracker();
  return tracker.classify(flows[i]!);
});
report('ConnectionTracker.classify', 'flows', classifyRates);
