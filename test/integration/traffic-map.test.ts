/**
 * The traffic map end to end, with real processes on loopback: `rampart replay` (a real
 * Bookinfo capture) → `rampart agent` → `rampart controlplane`; then GET /api/v1/map,
 * POST /api/v1/preview, `rampart map` and `rampart preview` against it, and a restart of the
 * control plane that must keep the map (state directory).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RAMPART_BIN, startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { bookinfoContract } from '../support/bookinfo.js';
import { startMapChain, type MapChain } from '../support/map-chain.js';
import { waitFor } from '../support/wait-for.js';

const TOKEN = 'map-token';

interface MapAnswer {
  nodes: { id: string; namespace: string }[];
  edges: { from: string; to: string; port: number; protocol: string; count: number; lastSeen: string; verdict: string }[];
}

let chain: MapChain;
let dir: string;
let cp: ControlplaneProcess;

async function getMap(query = ''): Promise<MapAnswer> {
  const url = `${cp.base}/api/v1/map${query}`;
  const init = { headers: { authorization: `Bearer ${TOKEN}` } };
  // NOTE: one retry: a kept-alive socket the server has just timed out fails the first try.
  const res = await fetch(url, init).catch(() => fetch(url, init));
  expect(res.status).toBe(200);
  return (await res.json()) as MapAnswer;
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [RAMPART_BIN, ...args, '--server', cp.base, '--token-file', path.join(dir, 'token')], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

beforeAll(async () => {
  chain = await startMapChain({ token: TOKEN });
  dir = chain.dir;
  cp = chain.cp;
}, 60_000);

afterAll(async () => {
  chain.cp = cp;
  await chain.stop();
});

describe('the traffic map', () => {
  it('shows workload edges seen by the agent, never pods or IPs', async () => {
    const map = await waitFor(async () => {
      const m = await getMap();
      // Every edge the later tests judge must have arrived: the agent reports over several windows.
      const seen = (from: string, to: string): boolean => m.edges.some((e) => e.from === from && e.to === to);
      return seen('bookinfo/productpage', 'bookinfo/reviews') && seen('bookinfo/productpage', 'bookinfo/details') && m.edges.some((e) => e.to === 'bookinfo/productpage') ? m : null;
    }, { timeoutMs: 30_000, what: 'edges in the map' });
    const toReviews = map.edges.find((e) => e.from === 'bookinfo/productpage' && e.to === 'bookinfo/reviews')!;
    expect(toReviews).toMatchObject({ port: 9080, protocol: 'TCP', verdict: 'allow' });
    expect(toReviews.count).toBeGreaterThan(0);
    expect(Date.parse(toReviews.lastSeen)).not.toBeNaN();
    expect(map.nodes).toContainEqual({ id: 'bookinfo/reviews', namespace: 'bookinfo', workload: 'reviews', kind: 'pod' });
    const text = JSON.stringify(map);
    expect(text).not.toMatch(/\b10\.\d+\.\d+\.\d+\b/);
    expect(text).not.toMatch(/-[bcdfghjklmnpqrstvwxz2456789]{5}"/);
  });

  it('judges the map against a registered contract and a pasted one', async () => {
    const judged = await getMap('?contract=bookinfo-lockdown&since=1h');
    expect(judged.edges.find((e) => e.to === 'bookinfo/reviews')?.verdict).toBe('would-deny');
    expect(judged.edges.find((e) => e.from === 'bookinfo/productpage' && e.to === 'bookinfo/details')?.verdict).toBe('allow');
    // Outside the namespaces the contract touches, nothing changes.
    expect(judged.edges.filter((e) => !e.to.startsWith('bookinfo/')).every((e) => e.verdict === 'allow')).toBe(true);
    // How fast a preview is, is bench/map.bench.ts's to say (no wall-clock bound in a test).
    const res = await fetch(`${cp.base}/api/v1/preview`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: bookinfoContract({ name: 'pasted', durations: ['1h', '1h'] }) });
    expect(res.status).toBe(200);
    const preview = (await res.json()) as MapAnswer;
    expect(preview.edges.filter((e) => e.to.startsWith('bookinfo/')).every((e) => e.verdict === 'allow')).toBe(true);
    const bad = await fetch(`${cp.base}/api/v1/preview`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` }, body: 'kind: RampContract\nspec: [1' });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { problems: { path: string }[] } }).error.problems[0]!.path).toMatch(/line/);
    expect((await fetch(`${cp.base}/api/v1/map`)).status).toBe(401);
    expect((await fetch(`${cp.base}/api/v1/map?contract=nope`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(404);
  });

  it('rampart preview prints the edges it would break and exits 1; 0 for a contract that breaks nothing', () => {
    fs.writeFileSync(path.join(dir, 'breaks.yaml'), bookinfoContract({ name: 'breaks', missingReviews: true, durations: ['1h', '1h'] }));
    fs.writeFileSync(path.join(dir, 'fine.yaml'), bookinfoContract({ name: 'fine', durations: ['1h', '1h'] }));
    const breaks = cli(['preview', path.join(dir, 'breaks.yaml')]);
    expect(breaks.stderr).toBe('');
    expect(breaks.status).toBe(1);
    expect(breaks.stdout).toMatch(/would deny/);
    expect(breaks.stdout).toMatch(/bookinfo\/productpage\s+bookinfo\/reviews\s+9080\/TCP/);
    const fine = cli(['preview', path.join(dir, 'fine.yaml')]);
    expect(fine.status).toBe(0);
    expect(fine.stdout).toMatch(/^\d+ edges judged: 0 would be denied/);
    expect(cli(['preview', path.join(dir, 'missing.yaml')]).status).toBe(2);
  });

  it('says where Cilium departs from a NetworkPolicy\'s text, in the preview answer and on the CLI\'s stderr', async () => {
    // Ingress rules without Ingress in policyTypes: the upstream text ignores them, Cilium
    // enforces them (and isolates ingress), so productpage → reviews is denied, not allowed.
    const contract = `apiVersion: rampart.dev/v1alpha1
kind: RampContract
metadata: { name: departs }
spec:
  policies:
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: reviews-ingress, namespace: bookinfo }
      spec:
        podSelector: { matchLabels: { app: reviews } }
        policyTypes: [Egress]
        ingress: [{ from: [{ podSelector: { matchLabels: { app: details } } }] }]
        egress: [{}]
  rollout: { strategy: percent, stages: [{ name: monitor, minDuration: 1h }, { name: full, percent: 100, minDuration: 1h }] }
`;
    const res = await fetch(`${cp.base}/api/v1/preview`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: contract });
    const answer = (await res.json()) as MapAnswer & { warnings: { path: string; message: string }[] };
    expect(answer.edges.find((e) => e.from === 'bookinfo/productpage' && e.to === 'bookinfo/reviews')?.verdict).toBe('would-deny');
    expect(answer.warnings).toEqual([{ path: 'spec.policies[0].spec.ingress', message: expect.stringMatching(/^bookinfo\/reviews-ingress: policyTypes does not list Ingress, but Cilium enforces these ingress rules/) as unknown }]);
    fs.writeFileSync(path.join(dir, 'departs.yaml'), contract);
    const out = cli(['preview', path.join(dir, 'departs.yaml')]);
    expect(out.status).toBe(1);
    expect(out.stderr).toMatch(/^rampart preview: warning: spec\.policies\[0\]\.spec\.ingress: bookinfo\/reviews-ingress: policyTypes does not list Ingress/);
    // Without a departure there is nothing to warn about.
    expect(((await getMap('?contract=bookinfo-lockdown')) as MapAnswer & { warnings: unknown[] }).warnings).toEqual([]);
  });

  it('rampart map prints a table, dot and json', () => {
    const table = cli(['map', '--contract', 'bookinfo-lockdown']);
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/^FROM\s+TO\s+PORT\s+COUNT\s+VERDICT/);
    expect(table.stdout).toMatch(/bookinfo\/productpage\s+bookinfo\/reviews\s+9080\/TCP\s+\d+\s+would-deny/);
    const dot = cli(['map', '--contract', 'bookinfo-lockdown', '--format', 'dot']);
    expect(dot.stdout).toMatch(/^digraph rampart_map \{/);
    expect(dot.stdout).toContain('label="bookinfo"');
    expect(dot.stdout).toMatch(/"bookinfo\/productpage" -> "bookinfo\/reviews" \[label="9080\/TCP ×\d+", color=red/);
    const json = JSON.parse(cli(['map', '--format', 'json']).stdout) as MapAnswer;
    expect(json.edges.length).toBeGreaterThan(0);
    expect(cli(['map', '--format', 'svg']).status).toBe(2);
  });

  it('keeps the map across a control plane restart (state directory)', async () => {
    chain.stopTraffic();
    const before = await getMap();
    expect(await cp.stop('SIGTERM')).toBe(0);
    expect(fs.existsSync(path.join(dir, 'state', 'traffic-map.json'))).toBe(true);
    cp = await startControlplaneProcess(chain.controlplaneArgs);
    const after = await getMap();
    const key = (m: MapAnswer): string[] => m.edges.map((e) => `${e.from}>${e.to}:${e.port}/${e.protocol}`).sort();
    expect(key(after)).toEqual(key(before));
    expect(after.edges.find((e) => e.to === 'bookinfo/reviews')?.count).toBe(before.edges.find((e) => e.to === 'bookinfo/reviews')?.count);
  });
});
