/**
 * `rampart audit --contract <name>` writes a RampContract that narrows every over-broad rule
 * it reports and `replaces` the policies it edits; `rampart fix` of such a contract keeps its
 * `replaces` (issue 19, "Authoring ties in"). Driven through the compiled CLI over the real
 * TCP capture, each answer checked by `rampart evaluate --baseline`.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseContract } from '../../core/contract/index.js';
import { runCli } from '../support/run-cli.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const POLICIES = join(ROOT, 'test', 'fixtures', 'policies', 'bookinfo-lockdown.yaml');
const CAPTURE = resolve(ROOT, '..', 'shared', 'flows', 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl');

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rampart-audit-contract-'));
});
afterAll(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

/** The capture without ratings → productpage: the traffic a short recording would have missed. */
function withoutRatingsToProductpage(): string {
  const kept = readFileSync(CAPTURE, 'utf8')
    .split('\n')
    .filter((line) => {
      if (line.trim() === '') return false;
      const f = (JSON.parse(line) as { flow?: { source?: { labels?: string[] }; destination?: { labels?: string[] } } }).flow;
      return !(f?.source?.labels?.includes('k8s:app=ratings') && f.destination?.labels?.includes('k8s:app=productpage'));
    });
  const file = join(tmp, 'partial.jsonl');
  writeFileSync(file, `${kept.join('\n')}\n`);
  return file;
}

describe('rampart audit --contract', () => {
  it('writes a valid contract that replaces the policies whose over-broad rules it narrows, and denies none of the traffic it saw', async () => {
    const out = join(tmp, 'narrow.yaml');
    const r = await runCli(['audit', '--policies', POLICIES, '--flows', CAPTURE, '--contract', 'narrow-bookinfo', '-o', out]);
    expect(r.stderr).toMatch(/over-broad-rule\s+bookinfo\/productpage ingress\[0\]/);
    const doc = parse(readFileSync(out, 'utf8')) as { spec: { replaces: unknown[]; policies: { metadata: { name: string } }[] } };
    const parsed = parseContract(doc);
    expect(parsed.ok, JSON.stringify(parsed.ok ? null : parsed.error)).toBe(true);
    expect(doc.spec.replaces).toEqual([{ namespace: 'bookinfo', name: 'productpage' }]);
    expect(doc.spec.policies.map((p) => p.metadata.name)).toEqual(['productpage']);
    const judged = await runCli(['evaluate', '--policies', out, '--baseline', POLICIES, '--flows', CAPTURE, '--format', 'table']);
    expect(judged.stdout).toMatch(/^bookinfo\/productpage\s+replaced$/m);
    expect(judged.stdout).toMatch(/^newly-denied\s+0$/m);
    expect(judged.code, judged.stdout).toBe(0);
  });

  it('says so, and writes nothing, when there is no flow to narrow from', async () => {
    const out = join(tmp, 'none.yaml');
    const r = await runCli(['audit', '--policies', POLICIES, '--contract', 'x', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --flows');
  });
});

describe('rampart fix of a narrowing contract', () => {
  it('keeps its replaces, and the fixed contract denies nothing newly', async () => {
    const narrow = join(tmp, 'narrow-partial.yaml');
    const a = await runCli(['audit', '--policies', POLICIES, '--flows', withoutRatingsToProductpage(), '--contract', 'narrow-bookinfo', '-o', narrow]);
    expect(a.stderr).toContain('bookinfo/productpage');
    // Narrowed from a recording that missed ratings → productpage: the full capture shows it newly denied.
    const broken = await runCli(['evaluate', '--policies', narrow, '--baseline', POLICIES, '--flows', CAPTURE, '--format', 'table']);
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/^bookinfo\/ratings → bookinfo\/productpage:9080\/TCP\s+\d+$/m);
    const fixed = join(tmp, 'fixed.yaml');
    const f = await runCli(['fix', '--policies', narrow, '--baseline', POLICIES, '--flows', CAPTURE, '--contract-out', fixed]);
    // ratings' egress is denied by the baseline itself (default-deny): not the contract's doing, left alone (exit 1 says so).
    expect(f.stderr).toContain('1 edge opened by 1 new policy');
    expect(f.stderr).toContain('egress side is already denied by the baseline alone');
    expect(f.code).toBe(1);
    const doc = parse(readFileSync(fixed, 'utf8')) as { spec: { replaces: unknown[]; policies: unknown[] } };
    expect(doc.spec.replaces).toEqual([{ namespace: 'bookinfo', name: 'productpage' }]);
    expect(doc.spec.policies.length).toBeGreaterThan(1);
    expect(parseContract(doc).ok).toBe(true);
    const judged = await runCli(['evaluate', '--policies', fixed, '--baseline', POLICIES, '--flows', CAPTURE]);
    expect(judged.code, judged.stderr).toBe(0);
  });
});

/** Bookinfo's productpage as Cilium policies: its ingress open to the `all` entity, and a cluster-wide world egress. */
const CILIUM_POLICIES = `apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: { name: productpage, namespace: bookinfo }
spec:
  endpointSelector: { matchLabels: { app: productpage } }
  ingress:
    - fromEntities: [all]
      toPorts: [{ ports: [{ port: "9080", protocol: TCP }] }]
  egress:
    - toEndpoints: [{ matchLabels: { app: details } }, { matchLabels: { app: reviews } }]
      toPorts: [{ ports: [{ port: "9080", protocol: TCP }] }]
    - toEndpoints: [{ matchLabels: { app: nobody } }]
      toPorts: [{ ports: [{ port: "80", protocol: TCP }] }]
---
apiVersion: cilium.io/v2
kind: CiliumClusterwideNetworkPolicy
metadata: { name: world-egress }
spec:
  endpointSelector: { matchLabels: { app: reviews } }
  egress:
    - toEntities: [world]
`;

describe('rampart audit of Cilium policies', () => {
  it('reports over-broad and unused rules, and --contract narrows them in the policy\'s own kind without denying what it saw', async () => {
    const policies = join(tmp, 'cilium.yaml');
    writeFileSync(policies, CILIUM_POLICIES);
    const report = await runCli(['audit', '--policies', policies, '--flows', CAPTURE]);
    expect(report.stderr).not.toContain('not audited');
    // The CNP isolates productpage: bookinfo is not an open namespace.
    expect(report.stdout).not.toMatch(/open-namespace\s+namespace bookinfo/);
    expect(report.stdout).toMatch(/^HIGH\s+over-broad-rule\s+cnp:bookinfo\/productpage ingress\[0\]: admits the all entity \(every endpoint and every IP\); the \d+ connections? it admitted need only 1 narrower rule/m);
    expect(report.stdout).toMatch(/^\s+- fromEndpoints:$/m);
    expect(report.stdout).toMatch(/^HIGH\s+over-broad-rule\s+ccnp:world-egress egress\[0\]: admits the world entity \(every address outside the cluster\), all ports; .*no narrower rule is written for a cluster-wide policy/m);
    expect(report.stdout).toMatch(/^LOW\s+unused-rule\s+cnp:bookinfo\/productpage egress\[1\]: admits none of the/m);
    expect(report.code).toBe(1);

    const out = join(tmp, 'narrow-cilium.yaml');
    const r = await runCli(['audit', '--policies', policies, '--flows', CAPTURE, '--contract', 'narrow-cilium', '-o', out]);
    expect(r.code).toBe(1);
    const doc = parse(readFileSync(out, 'utf8')) as { spec: { replaces: unknown[]; policies: { kind: string; spec: { ingress: Record<string, unknown>[]; egress: unknown[] } }[] } };
    const parsed = parseContract(doc);
    expect(parsed.ok, JSON.stringify(parsed.ok ? null : parsed.error)).toBe(true);
    expect(doc.spec.replaces).toEqual([{ kind: 'CiliumNetworkPolicy', namespace: 'bookinfo', name: 'productpage' }]);
    expect(doc.spec.policies.map((p) => p.kind)).toEqual(['CiliumNetworkPolicy']);
    const ingress = doc.spec.policies[0]!.spec.ingress;
    expect(ingress.length).toBeGreaterThan(0);
    expect(ingress.every((rule) => rule['fromEntities'] === undefined)).toBe(true);
    // The rules it did not narrow are kept as written.
    expect(doc.spec.policies[0]!.spec.egress).toHaveLength(2);
    const judged = await runCli(['evaluate', '--policies', out, '--baseline', policies, '--flows', CAPTURE, '--format', 'table']);
    expect(judged.stdout).toMatch(/^CiliumNetworkPolicy bookinfo\/productpage\s+replaced$/m);
    expect(judged.stdout).toMatch(/^newly-denied\s+0$/m);
    expect(judged.code, judged.stdout).toBe(0);
  });
});
