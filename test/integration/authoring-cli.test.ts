/**
 * The authoring commands as people run them: `rampart suggest` on real captures, a simulated
 * capture, stdin, manifests and a control plane's traffic map (a real loopback HTTP server),
 * each followed by the real `rampart evaluate` (exit 0); `rampart fix` on the demo's Blocked
 * contract; `rampart audit` with its exit codes and JSON.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, SHARED_FLOWS } from '../support/agent-harness.js';
import { runCli } from '../support/run-cli.js';

let dir: string;
let sim: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-authoring-'));
  sim = join(dir, 'sim.jsonl');
  const r = await runCli(['simulate', '--capture', '4m', '--seed', '5'], undefined, sim);
  expect(r.code).toBe(0);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function suggestThenEvaluate(flows: string, extra: readonly string[] = []): Promise<{ suggest: Awaited<ReturnType<typeof runCli>>; evaluate: Awaited<ReturnType<typeof runCli>> | null; file: string }> {
  const file = join(dir, `suggested-${Math.random().toString(36).slice(2)}.yaml`);
  const suggest = await runCli(['suggest', '--flows', flows, '-o', file, ...extra]);
  if (suggest.code !== 0) return { suggest, evaluate: null, file };
  const evaluate = await runCli(['evaluate', '--policies', file, '--flows', flows]);
  return { suggest, evaluate, file };
}

describe('rampart suggest → rampart evaluate', () => {
  for (const capture of readdirSync(SHARED_FLOWS).filter((f) => f.endsWith('.jsonl')).sort()) {
    it(`round-trips ${capture} (or says there is nothing to learn from)`, async () => {
      const path = join(SHARED_FLOWS, capture);
      const { suggest, evaluate } = await suggestThenEvaluate(path, ['--namespaces', 'bookinfo']);
      if (suggest.code === 2) {
        // No connection start of a bookinfo pod in this capture (only replies, DNS or other
        // namespaces): a lone default-deny would cut bookinfo off, so it is refused.
        expect(suggest.code).toBe(2);
        expect(suggest.stderr).toMatch(/nothing to suggest|namespace bookinfo: no workload of it was seen/);
        return;
      }
      expect(suggest.code, suggest.stderr).toBe(0);
      expect(evaluate!.code, evaluate!.stdout.slice(0, 2000)).toBe(0);
      const lines = evaluate!.stdout.trim().split('\n').map((l) => JSON.parse(l) as { verdict: string });
      expect(lines.filter((l) => l.verdict === 'deny')).toEqual([]);
    });
  }

  it('says so, with exit 2, when a capture has no connection start outside kube-*', async () => {
    const r = await runCli(['suggest', '--flows', join(SHARED_FLOWS, 'cilium-hubble-otel_testdata_basic-sample-330-dns-flows.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nothing to suggest');
  });

  it('round-trips a simulated capture, read from stdin, and writes the contract to stdout', async () => {
    const r = await runCli(['suggest', '--flows', '-', '--name', 'from-stdin'], readFileSync(sim, 'utf8'));
    expect(r.code, r.stderr).toBe(0);
    const doc = parse(r.stdout) as { kind: string; metadata: { name: string }; spec: { rollout: { stages: { name: string; percent?: number }[] }; advance: string } };
    expect(doc.kind).toBe('RampContract');
    expect(doc.metadata.name).toBe('from-stdin');
    expect(doc.spec.rollout.stages.map((s) => s.percent ?? s.name)).toEqual(['monitor', 10, 50, 100]);
    const file = join(dir, 'stdin.yaml');
    writeFileSync(file, r.stdout);
    const e = await runCli(['evaluate', '--policies', file, '--flows', sim, '--format', 'table']);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/deny\s+0/);
    expect(r.stderr).toContain('0 denied');
  });

  it('--pods: selectors fit every pod of a workload, and a port no pod declares is pointed out', async () => {
    // Pods as kubectl prints them, for the pods the capture shows: with their per-pod labels.
    const pods = new Map<string, { namespace: string; name: string; labels: Record<string, string> }>();
    for (const line of readFileSync(sim, 'utf8').split('\n')) {
      if (line === '') continue;
      const f = (JSON.parse(line) as { flow: { source: { namespace?: string; pod_name?: string; labels?: string[] } } }).flow.source;
      if (f.namespace !== 'payments' || !f.pod_name) continue;
      const labels = Object.fromEntries((f.labels ?? []).filter((l) => l.startsWith('k8s:') && !l.includes('io.cilium') && !l.includes('io.kubernetes')).map((l) => l.slice(4).split('=') as [string, string]));
      pods.set(f.pod_name, { namespace: 'payments', name: f.pod_name, labels: { ...labels, 'pod-template-hash': f.pod_name.slice(-5), 'statefulset.kubernetes.io/pod-name': f.pod_name } });
    }
    expect(pods.size).toBeGreaterThan(3);
    const items = [...pods.values()].map((p) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
      // fraud-check declares 9001 while it serves 9000: the note must name it.
      spec: { containers: [{ name: 'main', ports: [{ containerPort: p.labels['app'] === 'fraud-check' ? 9001 : p.labels['app'] === 'ledger' ? 5432 : 8443 }] }] },
    }));
    const podsFile = join(dir, 'pods.json');
    writeFileSync(podsFile, JSON.stringify({ apiVersion: 'v1', kind: 'List', items }));
    const { suggest, evaluate, file } = await suggestThenEvaluate(sim, ['--pods', podsFile, '--namespaces', 'payments']);
    expect(suggest.code, suggest.stderr).toBe(0);
    expect(evaluate!.code).toBe(0);
    expect(suggest.stderr).toContain('payments/fraud-check: connections arrive on TCP/9000, which none of its pods declares');
    expect(suggest.stderr).not.toContain('payments/ledger: connections arrive');
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain('pod-template-hash');
    expect(text).not.toContain('statefulset.kubernetes.io/pod-name');
  });

  it('refuses a capture with a malformed line, naming file and line', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, `${readFileSync(sim, 'utf8').split('\n').slice(0, 3).join('\n')}\n{"flow": nope\n`);
    const r = await runCli(['suggest', '--flows', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:4`);
  });

  it('infers from manifests when there is no traffic', async () => {
    const file = join(dir, 'manifests.yaml');
    const r = await runCli(['suggest', '--manifests', join(REPO_ROOT, 'test', 'fixtures', 'manifests', 'shop'), '-o', file]);
    expect(r.code, r.stderr).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('kind: RampContract');
    expect(text).toContain('port: 9000');
    expect(text).not.toMatch(/port: 80$/m);
  });

  it('reads the live traffic map from a control plane (GET /api/v1/map), with labels from --manifests', async () => {
    let auth: string | undefined;
    const server = http.createServer((req, res) => {
      auth = req.headers.authorization;
      if (!req.url?.startsWith('/api/v1/map')) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          nodes: [
            { id: 'shop/web', namespace: 'shop', workload: 'web', kind: 'pod' },
            { id: 'shop/api', namespace: 'shop', workload: 'api', kind: 'pod' },
            { id: 'data/db', namespace: 'data', workload: 'db', kind: 'pod' },
            { id: 'world', namespace: '', workload: 'world', kind: 'external' },
            { id: 'reserved:host', namespace: '', workload: 'reserved:host', kind: 'reserved' },
          ],
          edges: [
            { from: 'shop/web', to: 'shop/api', port: 9000, protocol: 'TCP', count: 40, lastSeen: '2026-06-01T12:00:00Z', verdict: 'allow' },
            { from: 'shop/api', to: 'data/db', port: 5432, protocol: 'TCP', count: 12, lastSeen: '2026-06-01T12:00:00Z', verdict: 'allow' },
            { from: 'reserved:host', to: 'shop/web', port: 8080, protocol: 'TCP', count: 9, lastSeen: '2026-06-01T12:00:00Z', verdict: 'allow' },
            { from: 'shop/api', to: 'world', port: 443, protocol: 'TCP', count: 3, lastSeen: '2026-06-01T12:00:00Z', verdict: 'allow' },
          ],
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'secret\n');
    try {
      const port = (server.address() as AddressInfo).port;
      const file = join(dir, 'map.yaml');
      const r = await runCli(['suggest', '--controlplane', `http://127.0.0.1:${port}`, '--token-file', tokenFile, '--manifests', join(REPO_ROOT, 'test', 'fixtures', 'manifests', 'shop'), '-o', file]);
      expect(r.code, r.stderr).toBe(0);
      expect(auth).toBe('Bearer secret');
      const text = readFileSync(file, 'utf8');
      expect(text).toContain('tier: backend'); // api's controller selector, from the manifests
      expect(text).toContain('port: 5432');
      expect(r.stderr).toContain('shop/api → world:443/TCP'); // an external end without an address cannot be a /32
    } finally {
      server.close();
    }
  });
});

describe('rampart fix and rampart audit', () => {
  it('fixes the demo\'s Blocked contract; the fixed contract evaluates clean', async () => {
    const contract = join(REPO_ROOT, 'demo', 'contracts', 'payments-lockdown.yaml');
    const before = await runCli(['evaluate', '--policies', contract, '--flows', sim]);
    expect(before.code).toBe(1);
    const fixed = join(dir, 'fixed.yaml');
    const r = await runCli(['fix', '--policies', contract, '--flows', sim, '--contract-out', fixed]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('ingress payments/invoice-job → payments/ledger:5432/TCP');
    const after = await runCli(['evaluate', '--policies', fixed, '--flows', sim]);
    expect(after.code).toBe(0);
    const json = await runCli(['fix', '--policies', contract, '--flows', sim, '--format', 'json']);
    expect((JSON.parse(json.stdout) as { items: unknown[] }).items).toHaveLength(1);
  });

  it('audits: exit 1 at --fail-on, 0 below it, 2 on a bad flag; a suggestion has no over-broad or unused rule', async () => {
    const { file } = await suggestThenEvaluate(sim);
    const r = await runCli(['audit', '--policies', file, '--flows', sim, '--format', 'json']);
    const report = JSON.parse(r.stdout) as { findings: { kind: string; severity: string; namespace: string }[] };
    expect(report.findings.filter((f) => f.kind === 'over-broad-rule' || f.kind === 'unused-rule' || f.kind === 'selects-no-pod')).toEqual([]);
    // kube-system is left out of a suggestion by default, and of an audit unless named.
    expect(report.findings.filter((f) => f.kind === 'open-namespace').map((f) => f.namespace)).toEqual([]);
    expect(r.code).toBe(0);
    const named = await runCli(['audit', '--policies', file, '--flows', sim, '--namespaces', 'kube-system', '--format', 'json']);
    expect((JSON.parse(named.stdout) as { findings: { kind: string; namespace: string }[] }).findings.filter((f) => f.kind === 'open-namespace').map((f) => f.namespace)).toEqual(['kube-system']);
    expect(named.code).toBe(1);
    const demo = await runCli(['audit', '--policies', join(REPO_ROOT, 'demo', 'contracts', 'payments-lockdown.yaml'), '--flows', sim, '--fail-on', 'high']);
    expect(demo.stdout).toContain('open-namespace');
    expect(demo.code).toBe(1);
    const bad = await runCli(['audit', '--policies', file, '--fail-on', 'severe']);
    expect(bad.code).toBe(2);
  });
});
