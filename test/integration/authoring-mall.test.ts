/**
 * `rampart suggest --manifests` on our own app with every common manifest shape
 * (test/fixtures/apps/mall: multi-container pods, named target ports, headless Services,
 * StatefulSets, DaemonSets, CronJobs, Jobs, envFrom ConfigMaps, host:port in args and
 * command, `$(X_SERVICE_HOST)` variables, Services in other namespaces): the suggestion,
 * judged by `rampart evaluate` over connections synthesised from the app's expected list,
 * allows every needed connection and DNS, and denies every other connection between the
 * app's workloads; `rampart audit` of it, with the same manifests and traffic, is clean.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { connectionLine, KUBE_DNS, type EndpointSpec } from '../support/app-flows.js';
import { REPO_ROOT } from '../support/controlplane-process.js';
import { runCli } from '../support/run-cli.js';

const APP = join(REPO_ROOT, 'test', 'fixtures', 'apps', 'mall');
const MANIFESTS = join(APP, 'manifests');

interface Expected {
  readonly workloads: Record<string, Record<string, string>>;
  readonly ports: Record<string, number[]>;
  readonly connections: readonly { from: string; to: string; port: number }[];
}
const expected = JSON.parse(readFileSync(join(APP, 'expected.json'), 'utf8')) as Expected;

const endpoint = (key: string): EndpointSpec => {
  if (key === 'world') return { world: '203.0.113.7' };
  const [namespace, name] = key.split('/') as [string, string];
  return { namespace, name, labels: expected.workloads[key]! };
};

let dir: string;
let suggestion: string;
let allowedFlows: string;
let deniedFlows: string;
let deniedCount = 0;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-mall-'));
  suggestion = join(dir, 'suggested.yaml');
  const allowed: string[] = [];
  for (const c of expected.connections) allowed.push(connectionLine(endpoint(c.from), endpoint(c.to), c.port));
  // Every workload resolves names (DNS over UDP and TCP).
  for (const w of Object.keys(expected.workloads)) for (const p of ['UDP', 'TCP'] as const) allowed.push(connectionLine(endpoint(w), KUBE_DNS, 53, p));
  const denied: string[] = [];
  const needed = new Set(expected.connections.map((c) => `${c.from}|${c.to}|${c.port}`));
  for (const from of ['world', ...Object.keys(expected.workloads)]) {
    for (const [to, ports] of Object.entries(expected.ports)) {
      if (from === to) continue;
      for (const port of ports) if (!needed.has(`${from}|${to}|${port}`)) denied.push(connectionLine(endpoint(from), endpoint(to), port));
    }
  }
  deniedCount = denied.length;
  allowedFlows = join(dir, 'allowed.jsonl');
  deniedFlows = join(dir, 'denied.jsonl');
  writeFileSync(allowedFlows, `${allowed.join('\n')}\n`);
  writeFileSync(deniedFlows, `${denied.join('\n')}\n`);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('suggest --manifests on an app with every common shape', () => {
  it('infers every connection the app needs and writes a valid contract', async () => {
    const r = await runCli(['suggest', '--manifests', MANIFESTS, '-o', suggestion]);
    expect(r.code, r.stderr).toBe(0);
    const doc = parse(readFileSync(suggestion, 'utf8')) as { kind: string; spec: { policies: { metadata: { namespace: string; name: string } }[] } };
    expect(doc.kind).toBe('RampContract');
    expect(new Set(doc.spec.policies.map((p) => p.metadata.namespace))).toEqual(new Set(['mall', 'store', 'obs']));
    for (const c of expected.connections) expect(r.stderr).not.toContain(`${c.from} → ${c.to}`); // no "could not" notes about them
    expect(r.stderr).not.toContain('kube-system'); // the assumed kube-dns is no news
    expect(r.stderr).not.toContain('skipped');
  });

  it('allows every needed connection and DNS (rampart evaluate exits 0)', async () => {
    const e = await runCli(['evaluate', '--policies', suggestion, '--flows', allowedFlows]);
    const lines = e.stdout.trim().split('\n').map((l) => JSON.parse(l) as { index: number; verdict: string; reason: string });
    expect(lines.filter((l) => l.verdict !== 'allow')).toEqual([]);
    expect(lines).toHaveLength(expected.connections.length + 2 * Object.keys(expected.workloads).length);
    expect(e.code).toBe(0);
  });

  it('denies every other connection between the workloads, and from the world', async () => {
    expect(deniedCount).toBeGreaterThan(50);
    const e = await runCli(['evaluate', '--policies', suggestion, '--flows', deniedFlows]);
    const lines = e.stdout.trim().split('\n').map((l) => JSON.parse(l) as { verdict: string; reason: string });
    expect(lines).toHaveLength(deniedCount);
    expect(lines.filter((l) => l.verdict !== 'deny')).toEqual([]);
    expect(e.code).toBe(1);
  });

  it('is clean under rampart audit with the same manifests and traffic', async () => {
    const a = await runCli(['audit', '--policies', suggestion, '--manifests', MANIFESTS, '--flows', allowedFlows, '--fail-on', 'low', '--format', 'json']);
    const report = JSON.parse(a.stdout) as { findings: { kind: string; severity: string; policy: string | null; message: string }[] };
    expect(report.findings.filter((f) => f.severity !== 'info')).toEqual([]);
    // The public entry point is named, with why its world ingress stays.
    expect(report.findings.find((f) => f.policy === 'mall/frontend')?.message).toContain('Service mall/frontend is LoadBalancer');
    expect(a.code).toBe(0);
    // From the traffic alone too: the world's connections show the entry point is public.
    const t = await runCli(['audit', '--policies', suggestion, '--flows', allowedFlows, '--fail-on', 'low']);
    expect(t.code, t.stdout).toBe(0);
  });
});
