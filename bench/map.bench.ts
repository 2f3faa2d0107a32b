/**
 * Traffic map benchmark (issue 13): a 7-day map of 10,000 edges (40 namespaces × 25
 * workloads, counts spread over the retention's buckets) with a baseline of 60 policies.
 * Prints how long a preview of a contract takes (cold: compile + judge every edge; warm: the
 * judge cached), with the YAML parse of the body as POST /api/v1/preview does it, and how long
 * the admission webhook takes to review a NetworkPolicy over that map and over a full
 * 20,000-edge map (in process, and over HTTPS with a self-signed certificate).
 *
 * Knobs (environment): BENCH_MAP_EDGES (10000), BENCH_MAP_RUNS (20).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { review, startWebhook } from '../controlplane/admission/webhook.js';
import type { NamespaceLabels } from '../controlplane/admission/namespace-labels.js';
import { parseContractText } from '../controlplane/http/map-api.js';
import { MapService } from '../controlplane/map/map-service.js';
import { EMPTY_INVENTORY_SOURCE } from '../controlplane/sufficiency/inventory-source.js';
import { SufficiencyService } from '../controlplane/sufficiency/sufficiency-service.js';
import type { BaselineSource } from '../controlplane/baseline/baseline-source.js';
import type { ObservedEdge, ObservedPeer } from '../core/summary/index.js';
import { createJsonLogger } from '../io/json-logger.js';

const EDGES = Number(process.env['BENCH_MAP_EDGES'] ?? 10_000);
const RUNS = Number(process.env['BENCH_MAP_RUNS'] ?? 20);
const NAMESPACES = 40;
const WORKLOADS = 25;
const DAY = 24 * 3600_000;
const NOW = Date.parse('2026-06-01T00:00:00Z');
const log = createJsonLogger('error', () => undefined);

const peer = (ns: number, w: number): ObservedPeer => ({
  namespace: `ns-${ns}`,
  workload: `w-${w}`,
  kind: 'pod',
  labels: { app: `w-${w}`, tier: w % 3 === 0 ? 'front' : 'back', 'pod-template-hash': `h${w}` },
  namespaceLabels: { 'kubernetes.io/metadata.name': `ns-${ns}`, team: `t-${ns % 5}` },
  labelsPartial: false,
});

function np(ns: string, name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec };
}

// Baseline: in 20 namespaces an allow-all-from-same-namespace plus an allow for ingress from team t-0.
const baselineDocs = Array.from({ length: 20 }, (_, i) => [
  np(`ns-${i}`, 'same-namespace', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: {} }] }] }),
  np(`ns-${i}`, 'from-team-0', { podSelector: { matchLabels: { tier: 'front' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: { matchLabels: { team: 't-0' } } }] }] }),
  np(`ns-${i}`, 'dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }, { to: [{ namespaceSelector: {} }] }] }),
]).flat();
const baseline: BaselineSource = {
  start: () => Promise.resolve(),
  snapshot: () => ({ revision: 'bench', policies: baselineDocs.map((m) => ({ ref: `${(m['metadata'] as { namespace: string }).namespace}/${(m['metadata'] as { name: string }).name}`, manifest: m, owner: null })) }),
  onChange: () => undefined,
};

// The contract: default-deny ingress in 10 namespaces, with allows for the front tier and port 8080.
const contractYaml = stringify({
  apiVersion: 'rampart.dev/v1alpha1',
  kind: 'RampContract',
  metadata: { name: 'bench-lockdown' },
  spec: {
    policies: Array.from({ length: 10 }, (_, i) => [
      np(`ns-${20 + i}`, 'default-deny', { podSelector: {}, policyTypes: ['Ingress'] }),
      np(`ns-${20 + i}`, 'front-8080', { podSelector: { matchLabels: { tier: 'back' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { tier: 'front' } } }], ports: [{ port: 8080 }] }] }),
    ]).flat(),
    rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '30m' }, { name: 'full', percent: 100, minDuration: '1h' }] },
  },
});

function buildMap(edges: number, maxEdges: number): MapService {
  const service = new MapService({ stateDir: null, baseline, clock: { nowMs: () => NOW }, log, maxEdges });
  // The map has been collecting for the whole week (what "the map holds" means for history first).
  service.map.ingest([], 0, NOW - 7 * DAY);
  let made = 0;
  let seed = 12345;
  // mulberry32: a small, well-mixed PRNG (deterministic runs).
  const rnd = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) % n;
  };
  const seen = new Set<string>();
  // Seven days of reports, each with a slice of the edges.
  const batch: ObservedEdge[] = [];
  while (made < edges) {
    const fns = rnd(NAMESPACES);
    const tns = rnd(4) === 0 ? rnd(NAMESPACES) : fns;
    const fw = rnd(WORKLOADS);
    const tw = rnd(WORKLOADS);
    const port = [8080, 5432, 443, 9090, 6379][rnd(5)]!;
    const id = `${fns}/${fw}/${tns}/${tw}/${port}`;
    if (seen.has(id) || (fns === tns && fw === tw)) continue;
    seen.add(id);
    const at = NOW - rnd(7 * DAY);
    batch.push({ from: peer(fns, fw), to: peer(tns, tw), port, protocol: 'TCP', count: 1 + rnd(500), firstSeenMs: at, lastSeenMs: at });
    made++;
  }
  for (let i = 0; i < batch.length; i += 500) service.map.ingest(batch.slice(i, i + 500), 0, NOW);
  return service;
}

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `p50 ${q(0.5).toFixed(1)} ms, p99 ${q(0.99).toFixed(1)} ms, max ${s[s.length - 1]!.toFixed(1)} ms`;
}

const service = buildMap(EDGES, 20_000);
const since = NOW - 7 * DAY;
process.stdout.write(`map: ${service.map.size} edges over 7 days, baseline ${baselineDocs.length} policies, contract of 20 policies\n`);

const cold: number[] = [];
const warm: number[] = [];
const coldCpu: number[] = [];
let wouldDeny = 0;
for (let r = 0; r < RUNS; r++) {
  // Cold: a new contract name each time, so nothing is cached (what a pasted contract costs).
  const text = contractYaml.replace('bench-lockdown', `bench-lockdown-${r}`);
  let t = performance.now();
  const cpu = process.cpuUsage();
  const parsed = parseContractText(text);
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
  const j = service.judged(parsed.contract, since);
  JSON.stringify(j);
  cold.push(performance.now() - t);
  const used = process.cpuUsage(cpu);
  coldCpu.push((used.user + used.system) / 1000);
  wouldDeny = j.verdicts['would-deny'];
  t = performance.now();
  JSON.stringify(service.judged(parsed.contract, since));
  warm.push(performance.now() - t);
}
process.stdout.write(`preview over ${EDGES} edges (parse YAML + judge + JSON): cold ${stats(cold)} (CPU ${stats(coldCpu)}); warm ${stats(warm)}; ${wouldDeny} would-deny edges\n`);
const worst = Math.max(...cold);
// NOTE: wall time on a shared machine includes waiting for a core; the CPU figure is the work itself.
const p50 = [...cold].sort((a, b) => a - b)[Math.floor(cold.length / 2)]!;
process.stdout.write(`preview under a second: ${p50 < 1000 && Math.max(...coldCpu) < 1000 ? 'yes' : 'NO'} (p50 wall ${p50.toFixed(1)} ms, worst wall ${worst.toFixed(1)} ms, worst CPU ${Math.max(...coldCpu).toFixed(1)} ms; load average ${os.loadavg()[0]!.toFixed(1)} on ${os.cpus().length} cores)\n`);

// Admission: a default-deny in a namespace with traffic (the worst case: every edge there judged).
const reviewBody = (ns: string): unknown => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'u', kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' }, operation: 'CREATE', namespace: ns, object: np(ns, 'deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }) },
});
const nsLabels: NamespaceLabels = { labels: () => Promise.resolve({ 'rampart.dev/admission': 'enforce' }) };

async function reviewLatency(s: MapService, label: string): Promise<void> {
  const times: number[] = [];
  let denied = 0;
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    const out = await review(reviewBody(`ns-${30 + (r % 10)}`), s, nsLabels, log);
    times.push(performance.now() - t);
    denied = out.newlyDenied;
  }
  process.stdout.write(`webhook review (${label}, in process): ${stats(times)}; last review: ${denied} newly denied edges\n`);
}

await reviewLatency(service, `${service.map.size} edges`);
// History first (issue 21): a new contract judged against the week the map holds, on its first
// reconcile pass, before any live window: what the contract's first second costs.
{
  const sufficiency = new SufficiencyService({ map: service, inventory: EMPTY_INVENTORY_SOURCE });
  const times: number[] = [];
  let judged = 0;
  let denied = 0;
  for (let r = 0; r < RUNS; r++) {
    const parsed = parseContractText(contractYaml.replace('bench-lockdown', `bench-history-${r}`));
    if (!parsed.ok) throw new Error(JSON.stringify(parsed.problems));
    const t = performance.now();
    const result = sufficiency.assess({ contract: parsed.contract, revision: 1, stageIndex: 0, stageEnteredAtMs: NOW, revisionStartedAtMs: NOW, nowMs: NOW });
    times.push(performance.now() - t);
    judged = result.history?.edges ?? 0;
    denied = result.history?.wouldDenyEdges ?? 0;
  }
  process.stdout.write(`history first: a new contract judged on ${judged} edges of the week (${denied} would-deny) in ${stats(times)}\n`);
}

const full = buildMap(20_000, 20_000);
await reviewLatency(full, `${full.map.size} edges, the map's default bound`);

// Over HTTPS, as the API server calls it.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-bench-tls-'));
try {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { cwd: dir, stdio: 'ignore' });
  const hook = await startWebhook({ listen: { host: '127.0.0.1', port: 0 }, tlsCertFile: path.join(dir, 'c.pem'), tlsKeyFile: path.join(dir, 'k.pem'), kubeconfig: null, map: full, log, namespaces: nsLabels });
  const ca = fs.readFileSync(path.join(dir, 'c.pem'));
  const agent = new https.Agent({ ca, keepAlive: true });
  const times: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const body = JSON.stringify(reviewBody(`ns-${r % NAMESPACES}`));
    const t = performance.now();
    await new Promise<void>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: hook.port, method: 'POST', path: '/validate', agent, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end(body);
    });
    times.push(performance.now() - t);
  }
  process.stdout.write(`webhook review over HTTPS (${full.map.size} edges): ${stats(times)} (API server timeout: 5 s)\n`);
  agent.destroy();
  await hook.close();
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
