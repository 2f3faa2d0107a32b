/**
 * `npm run fuzz`: feeds generated and mutated inputs to every parser that takes bytes or text
 * from outside the process, and checks two things of each answer: it did not crash (throw
 * where the parser promises a value, or throw something other than its documented error),
 * and a rejection is a clear error: a non-empty message that says where (a field path or a
 * file:line) wherever the input has fields. Raw protobuf bytes that do not decode have no
 * field to name: those rejections must say what is wrong, and the table counts how many
 * also give a byte offset (protobufjs does for some errors, the fast decoder does not yet).
 *
 * Targets: Hubble JSON lines (core/flow parseHubbleLine), Hubble protobuf GetFlowsResponse
 * messages (the agent's fast decoder and the protobufjs path), contract files (YAML/JSON via
 * io/yaml-documents and core/contract, as the control plane reads its folder), and agent
 * report messages (the Collector's own deserializer, then report-codec validation, then the
 * evidence store's ingest, as the control plane receives them).
 *
 * Reproducible: FUZZ_SEED (default 15) fixes every input; FUZZ_RUNS (default 100000) is the
 * number of inputs per target; FUZZ_TARGETS (comma-separated) picks targets. Exit 1 when any
 * target crashed or gave an unclear rejection; the first few of each are printed.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as grpc from '@grpc/grpc-js';
import { stringify as yamlStringify } from 'yaml';
import { FastDecoder } from '../../agent/hubble/fast-decode.js';
import { decodedFromRecord } from '../../agent/hubble/from-pb.js';
import { EvidenceStore } from '../../controlplane/ingest/evidence-store.js';
import { entriesFromFile } from '../../controlplane/contracts/file-contract-source.js';
import { parseHubbleLine } from '../../core/flow/index.js';
import { parseResponseLine } from '../../proto/codec/hubble-json.js';
import { decodeRecord, encodeRecord, hubbleType } from '../../proto/codec/hubble-types.js';
import { windowSummaryFromPb, windowSummaryToPb } from '../../proto/codec/report-codec.js';
import { loadProto } from '../../proto/loader.js';
import { aContractWindow, anEdge, aSummary, contractDoc } from '../support/window-builders.js';
import { mutateBytes, mutateJson, mutateText, randomJson, randomString, Rng } from './random.js';

/** The checkout: the folder above this file's `test/` (or `dist/test/` once compiled). */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..').replace(/[\\/]dist$/, '');
const SHARED_FLOWS = path.resolve(ROOT, '..', 'shared', 'flows');

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 100_000);
const SEED = Number(process.env['FUZZ_SEED'] ?? 15);
const ONLY = (process.env['FUZZ_TARGETS'] ?? '').split(',').filter((t) => t !== '');
const SHOW = 5;

/** What one input did. */
type Outcome = { kind: 'accepted' } | { kind: 'rejected'; messages: readonly string[] } | { kind: 'crash'; error: string };

interface Target {
  readonly name: string;
  /** Makes input number `i` (deterministic from the rng). */
  readonly input: (rng: Rng, i: number) => unknown;
  readonly run: (input: unknown) => Outcome;
  /** Whether a rejection message says where (path, file:line); `wire: …` messages need only say what. */
  readonly clear: (message: string) => boolean;
  readonly show: (input: unknown) => string;
}

const crashText = (e: unknown): string => (e instanceof Error ? `${e.name}: ${e.message}\n${e.stack?.split('\n').slice(1, 4).join('\n') ?? ''}` : `non-Error thrown: ${String(e)}`);
const showText = (v: unknown): string => JSON.stringify(String(v).slice(0, 300));
const showBytes = (v: unknown): string => Buffer.from(v as Uint8Array).subarray(0, 120).toString('hex');

// ---------------------------------------------------------------------------------------
// Seeds: real data wherever there is some.

function captureLines(): string[] {
  const lines: string[] = [];
  for (const f of readdirSync(SHARED_FLOWS).filter((n) => n.endsWith('.jsonl')).sort()) {
    for (const l of readFileSync(path.join(SHARED_FLOWS, f), 'utf8').split('\n')) if (l.trim() !== '') lines.push(l);
  }
  for (const l of readFileSync(path.join(ROOT, 'test', 'fixtures', 'flows', 'hubble-doc-examples.jsonl'), 'utf8').split('\n')) if (l.trim() !== '') lines.push(l);
  return lines;
}

function contractFiles(): string[] {
  const out: string[] = [];
  const dirs = [path.join(ROOT, 'test', 'fixtures', 'contracts', 'valid'), path.join(ROOT, 'test', 'fixtures', 'contracts', 'invalid'), path.join(ROOT, 'demo', 'contracts')];
  for (const d of dirs) for (const f of readdirSync(d).sort()) if (/\.(ya?ml|json)$/.test(f)) out.push(readFileSync(path.join(d, f), 'utf8'));
  out.push(readFileSync(path.join(ROOT, 'test', 'fixtures', 'flows', 'shop', 'contract.yaml'), 'utf8'));
  out.push(JSON.stringify(contractDoc(), null, 2));
  return out;
}

// ---------------------------------------------------------------------------------------
// Clarity: where the problem is.

/** `a.b[2].c: …`, `file.yaml:12`, `position 17`, `offset 3`, `at byte 9`, `line 4`. */
const WHERE = /^\(root\): |(^|[\s(;])[A-Za-z_][\w-]*(\.[\w-]+|\[\d+\])*: |\.ya?ml:\d+|\bposition \d+|\boffset \d+|\bbyte \d+|\bline \d+|\bcolumn \d+|index out of range: \d+/;
/** Binary decoding errors are prefixed `wire: `: no field path exists for bytes that do not decode. */
const wireClear = (m: string): boolean => m.startsWith('wire: ') && m.slice(6).trim().length >= 5;
const OFFSET = /\b(offset|position|byte) \d+|index out of range: \d+/;

// ---------------------------------------------------------------------------------------
// Targets.

function flowJsonTarget(): Target {
  const seeds = captureLines();
  const parsed = seeds.map((l) => JSON.parse(l) as unknown);
  return {
    name: 'flow JSON lines (parseHubbleLine)',
    input(rng) {
      switch (rng.int(6)) {
        case 0:
        case 1:
          return mutateText(rng, rng.pick(seeds));
        case 2:
        case 3:
          return JSON.stringify(mutateJson(rng, rng.pick(parsed)));
        case 4:
          return JSON.stringify(rng.chance(0.5) ? { flow: randomJson(rng) } : randomJson(rng));
        default:
          return randomString(rng);
      }
    },
    run(input) {
      try {
        const r = parseHubbleLine(input as string);
        return r.ok ? { kind: 'accepted' } : { kind: 'rejected', messages: [r.error] };
      } catch (e) {
        return { kind: 'crash', error: crashText(e) };
      }
    },
    // A line-level answer ("expected a JSON object, got 5") is about the whole line: its
    // caller prefixes file:line. Field answers name the field.
    clear: (m) => m.trim() !== '' && (WHERE.test(m) || /^expected (a JSON object|one JSON object per line|a Hubble GetFlowsResponse)/.test(m)),
    show: showText,
  };
}

function protobufFlowTarget(): Target {
  const type = hubbleType('observer.GetFlowsResponse');
  const records = captureLines()
    .map((l) => parseResponseLine(l))
    .filter((r) => r.ok)
    .map((r) => r.value);
  const seeds = records.map((r) => encodeRecord(type, r));
  const decoder = new FastDecoder();
  let disagreements = 0;
  const target: Target & { disagreements: () => number } = {
    name: 'protobuf flows (fast decoder + protobufjs)',
    disagreements: () => disagreements,
    input(rng) {
      if (rng.chance(0.7)) return mutateBytes(rng, rng.pick(seeds), rng.pick(seeds));
      // Structure-aware: a mutated record re-encoded (protobufjs coerces what it can).
      try {
        return mutateBytes(rng, encodeRecord(type, mutateJson(rng, rng.pick(records)) as Record<string, unknown>));
      } catch {
        return Buffer.from(Array.from({ length: rng.int(64) }, () => rng.int(256)));
      }
    },
    run(input) {
      const bytes = input as Buffer;
      const messages: string[] = [];
      let fastOk = false;
      let slowOk = false;
      // Both decoders promise a value or a RangeError/Error with a message; anything else is a crash.
      try {
        const d = decoder.decode(bytes);
        if (d.kind === 'malformed') messages.push(`fast: ${d.reason}`);
        else fastOk = true;
      } catch (e) {
        if (!(e instanceof RangeError)) return { kind: 'crash', error: `fast decoder: ${crashText(e)}` };
        messages.push(`wire: fast: ${e.message}`);
      }
      try {
        const d = decodedFromRecord(decodeRecord(type, bytes));
        if (d.kind === 'malformed') messages.push(`protobufjs: ${d.reason}`);
        else slowOk = true;
      } catch (e) {
        if (!(e instanceof Error) || e instanceof TypeError || e instanceof ReferenceError) return { kind: 'crash', error: `protobufjs path: ${crashText(e)}` };
        messages.push(`wire: protobufjs: ${e.message}`);
      }
      if (fastOk !== slowOk) disagreements++;
      return messages.length === 0 ? { kind: 'accepted' } : { kind: 'rejected', messages };
    },
    // A decoded flow that core rejects names the field (`fast: flow.l4…`); bytes that do not decode say what broke.
    clear: (m) => wireClear(m) || WHERE.test(m),
    show: showBytes,
  };
  return target;
}

function contractTarget(): Target {
  const seeds = contractFiles();
  const docs = seeds.map((s) => {
    try {
      return JSON.parse(s) as unknown;
    } catch {
      return null;
    }
  });
  const parsedSeeds = [contractDoc(), ...docs.filter((d) => d !== null)];
  return {
    name: 'contracts YAML/JSON (io/yaml-documents + core/contract)',
    input(rng) {
      switch (rng.int(5)) {
        case 0:
        case 1:
          return mutateText(rng, rng.pick(seeds));
        case 2:
          return yamlStringify(mutateJson(rng, rng.pick(parsedSeeds)));
        case 3:
          return JSON.stringify(mutateJson(rng, rng.pick(parsedSeeds)));
        default:
          return rng.chance(0.5) ? yamlStringify(randomJson(rng)) : randomString(rng);
      }
    },
    run(input) {
      try {
        const entries = entriesFromFile('fuzz.yaml', input as string);
        const messages = entries.flatMap((e) => e.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)));
        return messages.length === 0 ? { kind: 'accepted' } : { kind: 'rejected', messages };
      } catch (e) {
        return { kind: 'crash', error: crashText(e) };
      }
    },
    // Every contract problem names the file and line, whatever its field path.
    clear: (m) => m.trim() !== '' && /fuzz\.yaml:\d+/.test(m),
    show: showText,
  };
}

interface CollectorDefinition {
  Connect: { requestDeserialize: (b: Buffer) => unknown; requestSerialize: (v: unknown) => Buffer };
}

function reportTarget(): Target {
  const pkg = loadProto('rampart/v1/collector.proto') as unknown as { rampart: { v1: { Collector: grpc.ServiceClientConstructor } } };
  const service = pkg.rampart.v1.Collector.service as unknown as CollectorDefinition;
  const summaries = [
    aSummary(),
    aSummary({ lost: { HUBBLE_RING_BUFFER: 3 }, contracts: [aContractWindow({ deny: 4, wouldDenyEdges: [anEdge(), anEdge({ side: 'egress', port: 53, protocol: 'UDP' })] }), aContractWindow({ contract: 'other', revision: 2, stageIndex: 1, stageName: 'canary', actualDenies: 2, actualDenyEdges: [anEdge()] })] }),
    aSummary({ contracts: [] }),
  ];
  const pbs = summaries.map((s) => windowSummaryToPb(s));
  const seeds = pbs.map((pb) => service.Connect.requestSerialize({ report: pb }));
  seeds.push(service.Connect.requestSerialize({ hello: { node: 'node-a', boot_id: 'b', version: '1' } }));
  const store = new EvidenceStore();
  store.beginStage('shop-lockdown', 1, 0, 0);
  return {
    name: 'report messages (collector deserializer + report-codec + ingest)',
    input(rng) {
      const r = rng.int(4);
      if (r <= 1) return mutateBytes(rng, rng.pick(seeds), rng.pick(seeds));
      // Straight to validation, as a JS value: wrong types the wire could never carry too.
      return { direct: r === 2 ? mutateJson(rng, rng.pick(pbs)) : randomJson(rng) };
    },
    run(input) {
      let report: unknown;
      if (Buffer.isBuffer(input)) {
        let msg: { body?: string; report?: unknown };
        try {
          msg = service.Connect.requestDeserialize(input) as { body?: string; report?: unknown };
        } catch (e) {
          // grpc-js turns a throw here into an INTERNAL status for the stream: a rejection.
          if (!(e instanceof Error) || e instanceof TypeError || e instanceof ReferenceError) return { kind: 'crash', error: `deserialize: ${crashText(e)}` };
          return { kind: 'rejected', messages: [`wire: ${e.message}`] };
        }
        if (msg.body !== 'report' || msg.report === undefined) return { kind: 'accepted' };
        report = msg.report;
      } else {
        report = (input as { direct: unknown }).direct;
      }
      try {
        const decoded = windowSummaryFromPb(report);
        if (!decoded.ok) return { kind: 'rejected', messages: decoded.error.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)) };
        store.ingest(decoded.value, decoded.value.windowEndMs);
        return { kind: 'accepted' };
      } catch (e) {
        return { kind: 'crash', error: `validate/ingest: ${crashText(e)}` };
      }
    },
    clear: (m) => wireClear(m) || (m.trim() !== '' && (WHERE.test(m) || /^expected an object/.test(m))),
    show: (v) => (Buffer.isBuffer(v) ? showBytes(v) : JSON.stringify((v as { direct: unknown }).direct)?.slice(0, 300) ?? 'undefined'),
  };
}

// ---------------------------------------------------------------------------------------

interface Tally {
  inputs: number;
  accepted: number;
  rejected: number;
  crashes: number;
  unclear: number;
  /** Rejections of raw bytes, and how many of those gave a byte offset. */
  wire: number;
  wireWithOffset: number;
  ms: number;
}

function fuzz(target: Target, index: number): Tally {
  // Each target has its own stream, so adding a target never changes another's inputs.
  const rng = new Rng(SEED * 1000 + index);
  const t: Tally = { inputs: 0, accepted: 0, rejected: 0, crashes: 0, unclear: 0, wire: 0, wireWithOffset: 0, ms: 0 };
  const started = performance.now();
  for (let i = 0; i < RUNS; i++) {
    const input = target.input(rng, i);
    t.inputs++;
    const out = target.run(input);
    if (out.kind === 'accepted') t.accepted++;
    else if (out.kind === 'crash') {
      if (t.crashes++ < SHOW) process.stdout.write(`  CRASH #${i} input ${target.show(input)}\n    ${out.error.replaceAll('\n', '\n    ')}\n`);
    } else {
      t.rejected++;
      const wire = out.messages.filter((m) => m.startsWith('wire: '));
      if (wire.length > 0) {
        t.wire++;
        if (wire.every((m) => OFFSET.test(m))) t.wireWithOffset++;
      }
      const bad = out.messages.length === 0 ? ['(no message)'] : out.messages.filter((m) => !target.clear(m));
      if (bad.length > 0 && t.unclear++ < SHOW) process.stdout.write(`  UNCLEAR #${i} input ${target.show(input)}\n    ${JSON.stringify(bad[0])}\n`);
    }
  }
  t.ms = performance.now() - started;
  return t;
}

const targets: (() => Target)[] = [flowJsonTarget, protobufFlowTarget, contractTarget, reportTarget];
process.stdout.write(`fuzz: seed ${SEED}, ${RUNS} inputs per target\n`);
const rows: string[] = [];
let failed = false;
targets.forEach((make, i) => {
  const target = make();
  if (ONLY.length > 0 && !ONLY.some((o) => target.name.includes(o))) return;
  process.stdout.write(`${target.name}\n`);
  const t = fuzz(target, i);
  const wire = t.wire > 0 ? ` wire rejections ${t.wire}, with a byte offset ${t.wireWithOffset}` : '';
  const extra = wire + ('disagreements' in target ? `; fast≠protobufjs accept/reject ${(target as { disagreements: () => number }).disagreements()}` : '');
  rows.push(`${target.name.padEnd(66)} ${String(t.inputs).padStart(8)} ${String(t.accepted).padStart(9)} ${String(t.rejected).padStart(9)} ${String(t.crashes).padStart(8)} ${String(t.unclear).padStart(8)} ${(t.ms / 1000).toFixed(1).padStart(7)}s${extra}`);
  if (t.crashes > 0 || t.unclear > 0) failed = true;
});
process.stdout.write(`\n${'target'.padEnd(66)} ${'inputs'.padStart(8)} ${'accepted'.padStart(9)} ${'rejected'.padStart(9)} ${'crashes'.padStart(8)} ${'unclear'.padStart(8)} ${'time'.padStart(8)}\n${rows.join('\n')}\n`);
process.exit(failed ? 1 : 0);
