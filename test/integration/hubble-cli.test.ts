/**
 * Proof against the real client: the upstream `hubble` CLI (built from Cilium v1.19.4 by
 * test/support/hubble-cli/build.sh) reads `rampart replay` as it reads Cilium.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowFromRecord } from '../../core/flow/from-record.js';
import { hubbleCli } from '../support/hubble-cli/hubble-cli.js';
import { RAMPART_BIN, startReplay, type ReplayProcess } from '../support/replay-process.js';

const FLOWS_DIR = fileURLToPath(new URL('../../../shared/flows/', import.meta.url));
const CAPTURES = readdirSync(FLOWS_DIR).filter((f) => f.endsWith('.jsonl')).sort();
type Json = Record<string, unknown>;

function readCapture(file: string): Json[] {
  return readFileSync(join(FLOWS_DIR, file), 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as Json);
}

function run(bin: string, args: readonly string[], timeoutMs = 60_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, [...args], { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (e, stdout, stderr) => {
      const code = e ? (typeof e.code === 'number' ? e.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const jsonLines = (text: string): Json[] => text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as Json);

/** Runs a following command until it has printed `count` lines, then stops it. */
function readFollowing(bin: string, args: readonly string[], count: number, timeoutMs = 30_000): Promise<Json[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Json[] = [];
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`only ${out.length}/${count} lines before the timeout; stderr: ${stderr}`));
    }, timeoutMs);
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.trim() === '' || out.length >= count) return;
      out.push(JSON.parse(line) as Json);
      if (out.length === count) {
        clearTimeout(timer);
        child.kill('SIGTERM');
        resolve(out);
      }
    });
    child.once('exit', () => {
      if (out.length < count) {
        clearTimeout(timer);
        reject(new Error(`exited after ${out.length}/${count} lines; stderr: ${stderr}`));
      }
    });
  });
}

/** Everything but the timestamps, which live playback shifts to now. */
function withoutTimes(line: Json): Json {
  const { time: _t, ...rest } = line;
  const flow = rest['flow'] as Json | undefined;
  if (!flow) return rest;
  const { time: _ft, ...flowRest } = flow;
  return { ...rest, flow: flowRest };
}

let hubble = '';
const tmp = mkdtempSync(join(tmpdir(), 'rampart-hubble-cli-'));

beforeAll(async () => {
  hubble = await hubbleCli();
}, 20 * 60_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('hubble observe against rampart replay (history)', () => {
  it.each(CAPTURES)('--last N returns every flow of %s equal field by field to the input', async (file) => {
    const input = readCapture(file);
    const replay = await startReplay(['--flows', join(FLOWS_DIR, file), '--listen', '127.0.0.1:0']);
    try {
      const r = await run(hubble, ['observe', '--server', replay.address, '-o', 'json', '--last', String(input.length)]);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(jsonLines(r.stdout)).toEqual(input);
    } finally {
      await replay.stop();
    }
  });

  it('--last N returns the newest N; --first N the oldest N; hubble status reads ServerStatus', async () => {
    const file = join(FLOWS_DIR, 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl');
    const input = readCapture('cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl');
    const replay = await startReplay(['--flows', file, '--listen', '127.0.0.1:0']);
    try {
      const last = await run(hubble, ['observe', '--server', replay.address, '-o', 'json', '--last', '25']);
      expect(jsonLines(last.stdout)).toEqual(input.slice(-25));
      const first = await run(hubble, ['observe', '--server', replay.address, '-o', 'json', '--first', '7']);
      expect(jsonLines(first.stdout)).toEqual(input.slice(0, 7));
      const status = await run(hubble, ['status', '--server', replay.address]);
      expect(status.code).toBe(0);
      expect(status.stdout).toMatch(/Current\/Max Flows:\s+400\/4,?095/);
    } finally {
      await replay.stop();
    }
  });

  it('--since/--until select the capture\'s time range; the CLI also reads a unix socket', async () => {
    const name = 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl';
    const input = readCapture(name);
    const times = input.map((l) => String(l['time']));
    const since = times[100]!;
    const until = times[199]!;
    const want = input.filter((l) => String(l['time']) >= since && String(l['time']) <= until);
    expect(want.length).toBeGreaterThanOrEqual(100);
    const sock = `unix://${join(tmp, 'hubble.sock')}`;
    const replay = await startReplay(['--flows', join(FLOWS_DIR, name), '--listen', sock]);
    try {
      const r = await run(hubble, ['observe', '--server', sock, '-o', 'json', '--since', since, '--until', until]);
      expect(r.stderr).toBe('');
      expect(jsonLines(r.stdout)).toEqual(want);
    } finally {
      await replay.stop();
    }
  });

  it('--follow returns every flow of the capture, then keeps the stream open', async () => {
    const file = 'cilium-hubble-otel_testdata_basic-sample-400-udp-flows.jsonl';
    const input = readCapture(file);
    const replay = await startReplay(['--flows', join(FLOWS_DIR, file), '--listen', '127.0.0.1:0']);
    try {
      const got = await readFollowing(hubble, ['observe', '--server', replay.address, '-o', 'json', '--follow', '--all'], input.length);
      expect(got).toEqual(input);
    } finally {
      await replay.stop();
    }
  });
});

describe('hubble observe --follow against live playback (--rate)', () => {
  it('receives each flow as it is played, timestamps shifted to now, every other field as captured', async () => {
    const file = 'cilium-hubble-otel_testdata_basic-sample-10-flows.jsonl';
    const input = readCapture(file);
    const replay = await startReplay(['--flows', join(FLOWS_DIR, file), '--listen', '127.0.0.1:0', '--rate', '20', '--loop']);
    try {
      const startedMs = Date.now();
      // --follow alone asks for new flows only; the loop guarantees more arrive.
      const got = await readFollowing(hubble, ['observe', '--server', replay.address, '-o', 'json', '--follow'], 15);
      const firstIndex = input.findIndex((l) => JSON.stringify(withoutTimes(l)) === JSON.stringify(withoutTimes(got[0]!)));
      expect(firstIndex).toBeGreaterThanOrEqual(0);
      got.forEach((line, i) => {
        expect(withoutTimes(line)).toEqual(withoutTimes(input[(firstIndex + i) % input.length]!));
        const t = Date.parse(String(line['time']));
        expect(t).toBeGreaterThanOrEqual(startedMs - 5_000);
        expect(line['time']).toBe((line['flow'] as Json)['time']);
      });
      const times = got.map((l) => String(l['time']));
      expect([...times].sort()).toEqual(times);
    } finally {
      await replay.stop();
    }
  });
});

describe('filters: the real CLI and rampart observe select the same flows as the capture says', () => {
  const file = 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl';
  const udpFile = 'cilium-hubble-otel_testdata_basic-sample-400-udp-flows.jsonl';
  let replay: ReplayProcess;
  let input: Json[];
  beforeAll(async () => {
    // One capture with TCP, UDP, L7 and several namespaces.
    input = [...readCapture(file), ...readCapture(udpFile)];
    const combined = join(tmp, 'tcp-udp.jsonl');
    writeFileSync(combined, `${input.map((l) => JSON.stringify(l)).join('\n')}\n`);
    replay = await startReplay(['--flows', combined, '--listen', '127.0.0.1:0']);
  });
  afterAll(async () => {
    await replay.stop();
  });

  const flowOf = (l: Json): Json => l['flow'] as Json;
  const ep = (l: Json, side: string): Json => (flowOf(l)[side] as Json | undefined) ?? {};
  const l4body = (l: Json): Json => {
    const l4 = (flowOf(l)['l4'] as Json | undefined) ?? {};
    return (l4['TCP'] ?? l4['UDP'] ?? l4['SCTP'] ?? {}) as Json;
  };

  const cases: [string, string[], (l: Json) => boolean][] = [
    ['--from-pod bookinfo/productpage', ['--from-pod', 'bookinfo/productpage'], (l) => ep(l, 'source')['namespace'] === 'bookinfo' && String(ep(l, 'source')['pod_name'] ?? '').startsWith('productpage')],
    ['--to-namespace kube-system', ['--to-namespace', 'kube-system'], (l) => ep(l, 'destination')['namespace'] === 'kube-system' && ep(l, 'destination')['pod_name'] !== undefined],
    ['--verdict REDIRECTED', ['--verdict', 'REDIRECTED'], (l) => flowOf(l)['verdict'] === 'REDIRECTED'],
    ['--protocol udp', ['--protocol', 'udp'], (l) => (flowOf(l)['l4'] as Json | undefined)?.['UDP'] !== undefined],
    ['--port 9080', ['--port', '9080'], (l) => l4body(l)['source_port'] === 9080 || l4body(l)['destination_port'] === 9080],
    ['--protocol tcp --to-namespace bookinfo --verdict FORWARDED', ['--protocol', 'tcp', '--to-namespace', 'bookinfo', '--verdict', 'FORWARDED'],
      (l) => (flowOf(l)['l4'] as Json | undefined)?.['TCP'] !== undefined && ep(l, 'destination')['namespace'] === 'bookinfo' && ep(l, 'destination')['pod_name'] !== undefined && flowOf(l)['verdict'] === 'FORWARDED'],
  ];

  it.each(cases)('%s', async (_name, flags, expected) => {
    const want = input.filter(expected);
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(input.length);
    const theirs = await run(hubble, ['observe', '--server', replay.address, '-o', 'json', '--all', ...flags]);
    expect(theirs.stderr).toBe('');
    expect(jsonLines(theirs.stdout)).toEqual(want);
    const ours = await run(process.execPath, [RAMPART_BIN, 'observe', '--server', replay.address, '-o', 'json', '--all', ...flags]);
    expect(ours.code).toBe(0);
    expect(jsonLines(ours.stdout)).toEqual(want);
  });
});

const POLICIES = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: reviews-from-productpage, namespace: bookinfo }
spec:
  podSelector: { matchLabels: { app: reviews } }
  policyTypes: [Ingress]
  ingress:
    - from: [{ podSelector: { matchLabels: { app: productpage } } }]
      ports: [{ port: 9080 }]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: ratings-egress-dns-only, namespace: bookinfo }
spec:
  podSelector: { matchLabels: { app: ratings } }
  policyTypes: [Egress]
  egress:
    - to: [{ namespaceSelector: { matchLabels: { kubernetes.io/metadata.name: kube-system } } }]
      ports: [{ port: 53, protocol: UDP }]
`;

describe("the real CLI's JSON output fed to rampart evaluate gives the capture's verdicts", () => {
  it.each(['cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl', 'cilium-hubble-otel_testdata_basic-sample-400-l7-redirected-flows.jsonl'])(
    '%s',
    async (file) => {
      const policies = join(tmp, 'policies.yaml');
      writeFileSync(policies, POLICIES);
      const input = readCapture(file);
      const replay = await startReplay(['--flows', join(FLOWS_DIR, file), '--listen', '127.0.0.1:0']);
      try {
        const observed = await run(hubble, ['observe', '--server', replay.address, '-o', 'json', '--all']);
        expect(jsonLines(observed.stdout)).toHaveLength(input.length);
        const viaHubble = join(tmp, `via-hubble-${file}`);
        writeFileSync(viaHubble, observed.stdout);
        const original = await run(process.execPath, [RAMPART_BIN, 'evaluate', '--policies', policies, '--flows', join(FLOWS_DIR, file), '--format', 'jsonl']);
        const replayed = await run(process.execPath, [RAMPART_BIN, 'evaluate', '--policies', policies, '--flows', viaHubble, '--format', 'jsonl']);
        expect(original.stderr).toBe('');
        expect(replayed.stderr).toBe('');
        const verdicts = jsonLines(original.stdout).map((l) => l['verdict']);
        // a meaningful comparison: the policies both admit and deny something in this capture
        expect(verdicts).toContain('allow');
        expect(verdicts).toContain('deny');
        expect(original.code).toBe(1);
        expect(replayed.code).toBe(original.code);
        expect(jsonLines(replayed.stdout)).toEqual(jsonLines(original.stdout));
      } finally {
        await replay.stop();
      }
    },
  );

  it('and parses to the same domain Flows as the original capture', async () => {
    const file = 'cilium-hubble-otel_testdata_basic-sample-400-udp-flows.jsonl';
    const input = readCapture(file);
    const replay = await startReplay(['--flows', join(FLOWS_DIR, file), '--listen', '127.0.0.1:0']);
    try {
      const r = await run(hubble, ['observe', '--server', replay.address, '-o', 'json', '--all']);
      const theirs = jsonLines(r.stdout);
      expect(theirs).toHaveLength(input.length);
      theirs.forEach((line, i) => {
        const a = flowFromRecord(line['flow'], line);
        const b = flowFromRecord(input[i]!['flow'], input[i]!);
        expect(a.ok && b.ok).toBe(true);
        expect(a).toEqual(b);
      });
    } finally {
      await replay.stop();
    }
  });
});
