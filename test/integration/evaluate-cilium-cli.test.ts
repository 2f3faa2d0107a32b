/**
 * `rampart evaluate --baseline <CNPs> --policies <contract>` (the compiled CLI) over a Hubble
 * capture gives, on every connection side, the verdicts Cilium's own engine gives (issue 20
 * "Done when"): under baseline ∪ contract (the line's egress/ingress) and under the baseline
 * alone (its `baseline`). The baseline is CNPs and a CCNP (deny rule, toFQDNs, entities); the
 * contract adds a NetworkPolicy default-deny and a CNP.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startCiliumJudge, type CiliumJudge } from '../support/cilium-judge.js';
import { ENDPOINTS } from '../support/cilium-random.js';
import { flowLineOf, judgeRequest, podListOf, type World, type WorldCase } from '../support/cilium-worlds.js';
import { runCli } from '../support/run-cli.js';

const cnp = (name: string, namespace: string, spec: Record<string, unknown>): Record<string, unknown> => ({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec });

const BASELINE = [
  cnp('shop-in', 'shop', {
    endpointSelector: { matchLabels: { app: 'api' } },
    ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'GET' }] } }] }],
  }),
  cnp('web-out', 'shop', {
    endpointSelector: { matchLabels: { app: 'web' } },
    egress: [
      { toEndpoints: [{ matchLabels: { app: 'api' } }], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] },
      { toFQDNs: [{ matchPattern: '*.example.com' }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] },
      { toEntities: ['cluster'], toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }] }] },
    ],
  }),
  { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'no-corp' }, spec: { endpointSelector: {}, egressDeny: [{ toCIDR: ['192.0.2.0/24'] }] } },
];

const CONTRACT = {
  apiVersion: 'rampart.dev/v1alpha1',
  kind: 'RampContract',
  metadata: { name: 'data-lockdown' },
  spec: {
    policies: [
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: 'data' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
      cnp('db-clients', 'data', { endpointSelector: { matchLabels: { app: 'db' } }, ingress: [{ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'shop' } }], toPorts: [{ ports: [{ port: 'pg', protocol: 'TCP' }] }] }] }),
    ],
    rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'full', percent: 100, minDuration: '1m' }] },
  },
};

let judge: CiliumJudge;
let dir: string;

beforeAll(async () => {
  judge = await startCiliumJudge();
  dir = mkdtempSync(join(tmpdir(), 'rampart-cilium-cli-'));
}, 30 * 60_000);

afterAll(async () => {
  await judge?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('rampart evaluate with Cilium policies', () => {
  it('gives Cilium\'s per-side verdicts on every connection, with and without the contract', async () => {
    const l4s: ReadonlyArray<Pick<WorldCase, 'proto' | 'port'>> = [
      { proto: 'TCP', port: 8080 },
      { proto: 'TCP', port: 5432 },
      { proto: 'TCP', port: 443 },
      { proto: 'UDP', port: 53 },
    ];
    const cases: WorldCase[] = [];
    ENDPOINTS.forEach((src, s) =>
      ENDPOINTS.forEach((dst, d) => {
        if (s === d || (src.kind !== 'pod' && dst.kind !== 'pod')) return;
        for (const l4 of l4s) cases.push({ src: s, dst: d, ...l4 });
      }),
    );
    const contractPolicies = CONTRACT.spec.policies;
    const before: World = { policies: BASELINE, endpoints: ENDPOINTS, cases };
    const after: World = { policies: [...BASELINE, ...contractPolicies], endpoints: ENDPOINTS, cases };
    const [ciliumBefore, ciliumAfter] = await Promise.all([judge.judge(judgeRequest(before)), judge.judge(judgeRequest(after))]);

    writeFileSync(join(dir, 'baseline.yaml'), BASELINE.map((p) => stringify(p)).join('---\n'));
    writeFileSync(join(dir, 'contract.yaml'), stringify(CONTRACT));
    writeFileSync(join(dir, 'pods.json'), JSON.stringify(podListOf(after)));
    writeFileSync(join(dir, 'flows.jsonl'), `${cases.map((c, i) => flowLineOf(after, c, i)).join('\n')}\n`);
    const run = await runCli(['evaluate', '--baseline', join(dir, 'baseline.yaml'), '--policies', join(dir, 'contract.yaml'), '--flows', join(dir, 'flows.jsonl'), '--pods', join(dir, 'pods.json'), '--format', 'jsonl']);
    expect(run.stderr).not.toMatch(/error|malformed/i);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { verdict: string; egress: string; ingress: string; change: string; baseline: { egress: string; ingress: string } });
    expect(lines).toHaveLength(cases.length);
    const wrong: string[] = [];
    lines.forEach((line, i) => {
      const c = cases[i]!;
      for (const side of ['egress', 'ingress'] as const) {
        if (line[side] !== ciliumAfter[i]![side]) wrong.push(`after ${side} ${JSON.stringify(c)}: rampart ${line[side]}, cilium ${ciliumAfter[i]![side]}`);
        if (line.baseline[side] !== ciliumBefore[i]![side]) wrong.push(`before ${side} ${JSON.stringify(c)}: rampart ${line.baseline[side]}, cilium ${ciliumBefore[i]![side]}`);
      }
    });
    expect(wrong).toEqual([]);
    // The contract newly denies something (data's ingress from outside shop), so the exit says so.
    expect(lines.some((l) => l.change === 'newly-denied')).toBe(true);
    expect(run.code).toBe(1);
  });
});
