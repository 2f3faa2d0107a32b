/**
 * `rampart suggest --format cilium` (the compiled CLI): the suggestion is written as
 * CiliumNetworkPolicies, with toFQDNs where Hubble attached DNS names to an external
 * destination; `rampart evaluate` of it over the same flows exits 0, and Cilium's own engine
 * (cilium-judge) allows every connection it was built from, while it still isolates.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startCiliumJudge, type CiliumJudge } from '../support/cilium-judge.js';
import { ENDPOINTS } from '../support/cilium-random.js';
import { flowLineOf, judgeRequest, type World, type WorldCase } from '../support/cilium-worlds.js';
import { runCli } from '../support/run-cli.js';

let judge: CiliumJudge;
let dir: string;
beforeAll(async () => {
  judge = await startCiliumJudge();
  dir = mkdtempSync(join(tmpdir(), 'rampart-suggest-cilium-'));
}, 30 * 60_000);
afterAll(async () => {
  await judge?.close();
  rmSync(dir, { recursive: true, force: true });
});

// 0 shop/web-1, 1 shop/api-1, 2 shop/db-1, 3 data/db-2, 6 198.51.100.7 (api.example.com), 8 192.0.2.44 (db.internal.corp)
const OBSERVED: WorldCase[] = [
  { src: 0, dst: 1, proto: 'TCP', port: 8080 },
  { src: 1, dst: 2, proto: 'TCP', port: 5432 },
  { src: 1, dst: 3, proto: 'TCP', port: 5432 },
  { src: 0, dst: 6, proto: 'TCP', port: 443 },
  { src: 1, dst: 8, proto: 'TCP', port: 443 },
];

describe('rampart suggest --format cilium', () => {
  it('writes CNPs with toFQDNs that Cilium\'s engine agrees admit the observed traffic', async () => {
    const world: World = { policies: [], endpoints: ENDPOINTS, cases: OBSERVED };
    const flows = join(dir, 'flows.jsonl');
    writeFileSync(flows, `${OBSERVED.map((c, i) => flowLineOf(world, c, i)).join('\n')}\n`);
    const out = join(dir, 'contract.yaml');
    const run = await runCli(['suggest', '--flows', flows, '--format', 'cilium', '--namespaces', 'shop,data', '-o', out]);
    expect(run.code, run.stderr).toBe(0);
    const contract = parse(readFileSync(out, 'utf8').replace(/^#.*\n/gm, '')) as { spec: { policies: Record<string, unknown>[] } };
    const policies = contract.spec.policies;
    expect(policies.length).toBeGreaterThan(0);
    expect(policies.every((p) => p['kind'] === 'CiliumNetworkPolicy' && p['apiVersion'] === 'cilium.io/v2')).toBe(true);
    const text = JSON.stringify(policies);
    expect(text).toContain('"toFQDNs":[{"matchName":"api.example.com"}]');
    expect(text).toContain('"toFQDNs":[{"matchName":"db.internal.corp"}]');

    // Rampart's round trip, through the CLI…
    const evaluated = await runCli(['evaluate', '--policies', out, '--flows', flows, '--format', 'jsonl']);
    expect(evaluated.code, evaluated.stdout + evaluated.stderr).toBe(0);
    // …and Cilium's: every observed connection allowed; an unobserved one into shop denied.
    const unobserved: WorldCase = { src: 5, dst: 1, proto: 'TCP', port: 8080 };
    const answers = await judge.judge(judgeRequest({ policies, endpoints: ENDPOINTS, cases: [...OBSERVED, unobserved] }));
    for (const [i, a] of answers.slice(0, OBSERVED.length).entries()) expect([a.egress, a.ingress], JSON.stringify(OBSERVED[i])).not.toContain('deny');
    expect(answers[OBSERVED.length]!.ingress).toBe('deny');
  });

  it('fix on a CNP contract writes the fix as CiliumNetworkPolicies', async () => {
    const world: World = { policies: [], endpoints: ENDPOINTS, cases: OBSERVED };
    const flows = join(dir, 'flows-fix.jsonl');
    writeFileSync(flows, `${OBSERVED.map((c, i) => flowLineOf(world, c, i)).join('\n')}\n`);
    // A CNP-only contract that forgot shop/api's egress and data's ingress.
    const policies = [
      { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'lockdown', namespace: 'shop' }, spec: { endpointSelector: {}, ingress: [{}], egress: [{}] } },
      { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'lockdown', namespace: 'data' }, spec: { endpointSelector: {}, ingress: [{}] } },
    ];
    const file = join(dir, 'cnp-contract.yaml');
    writeFileSync(file, policies.map((p) => JSON.stringify(p)).join('\n---\n'));
    const fixed = join(dir, 'fix.yaml');
    const run = await runCli(['fix', '--policies', file, '--flows', flows, '-o', fixed]);
    expect(run.code, run.stderr).toBe(0);
    const docs = readFileSync(fixed, 'utf8').split(/^---$/m).map((d) => parse(d.replace(/^#.*\n/gm, '')) as Record<string, unknown> | null).filter((d) => d !== null);
    expect(docs.length).toBeGreaterThan(0);
    expect(docs.every((d) => d['kind'] === 'CiliumNetworkPolicy')).toBe(true);
    // The contract plus the fix: nothing observed is denied any more, as Cilium's engine says too.
    const answers = await judge.judge(judgeRequest({ policies: [...policies, ...docs], endpoints: ENDPOINTS, cases: OBSERVED }));
    for (const [i, a] of answers.entries()) expect([a.egress, a.ingress], JSON.stringify(OBSERVED[i])).not.toContain('deny');
  });
});
