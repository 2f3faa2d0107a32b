/**
 * Authoring figures (issue 14): how good and how fast `suggest` is.
 *  1. Held-out quality: suggest from the first half of a capture, evaluate the second half
 *     (as `rampart evaluate` does: node sides, connection starts): the share of connections
 *     admitted and the number of rules, against a naive per-edge generator (one policy per
 *     observed edge and side, selectors from every identity label, /32 peers, no DNS rule) —
 *     on the simulated demo cluster and on the real bookinfo capture.
 *  2. Speed: the time to suggest from 1,000,000 flow lines (parse, classify, observe, write,
 *     verify), from a simulated capture replayed with shifted times.
 * Prints figures; asserts nothing. Run: `npm run bench -- authoring`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { hostCidr, ObservationSet, suggestFromObservations, type Manifest } from '../core/authoring/index.js';
import { ConnectionTracker, parseHubbleLine, type Endpoint, type Flow } from '../core/flow/index.js';
import { createEvaluator, parseNetworkPolicy, type NetworkPolicy } from '../core/policy/index.js';
import { writeCapture } from '../sim/capture.js';
import { demoDir, loadClusterSpec } from '../sim/load-spec.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}

const parseFlows = (lines: readonly string[]): Flow[] => {
  const out: Flow[] = [];
  for (const l of lines) {
    const r = parseHubbleLine(l);
    if (r.ok && r.value.kind === 'flow') out.push(r.value.flow);
  }
  return out;
};

const parsed = (manifests: readonly Manifest[]): NetworkPolicy[] =>
  manifests.map((m, i) => {
    const r = parseNetworkPolicy(m, `[${i}]`);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    return r.value;
  });

/** The naive generator: per observed edge and side, one policy; selectors = every identity label of the pod. */
function naive(flows: readonly Flow[]): NetworkPolicy[] {
  const tracker = new ConnectionTracker();
  const out = new Map<string, Manifest>();
  const namespaces = new Set<string>();
  const labelsOf = (e: Endpoint): Record<string, string> => (e.kind === 'pod' ? { ...e.podLabels } : {});
  const peer = (e: Endpoint, ip: string | undefined, ns: string): Manifest | null => {
    if (e.kind === 'pod') return e.namespace === ns ? { podSelector: { matchLabels: labelsOf(e) } } : { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': e.namespace } }, podSelector: { matchLabels: labelsOf(e) } };
    if (e.kind === 'external' && ip) return { ipBlock: { cidr: hostCidr(ip) } };
    return null;
  };
  for (const f of flows) {
    if (tracker.classify(f).kind === 'skip' || f.l4 === null || !['TCP', 'UDP', 'SCTP'].includes(f.l4.protocol)) continue;
    const ports = [{ protocol: f.l4.protocol, port: f.l4.destinationPort }];
    for (const [dir, self, other, ip] of [['egress', f.source, f.destination, f.ip?.destination], ['ingress', f.destination, f.source, f.ip?.source]] as const) {
      if (self.kind !== 'pod' || self.namespace.startsWith('kube-')) continue;
      namespaces.add(self.namespace);
      const p = peer(other, ip, self.namespace);
      if (p === null) continue;
      const key = `${self.namespace}|${dir}|${JSON.stringify(labelsOf(self))}|${JSON.stringify(p)}|${JSON.stringify(ports)}`;
      if (out.has(key)) continue;
      out.set(key, {
        apiVersion: 'networking.k8s.io/v1',
        kind: 'NetworkPolicy',
        metadata: { name: `edge-${out.size}`, namespace: self.namespace },
        spec: { podSelector: { matchLabels: labelsOf(self) }, policyTypes: [dir === 'egress' ? 'Egress' : 'Ingress'], [dir]: [{ [dir === 'egress' ? 'to' : 'from']: [p], ports }] },
      });
    }
  }
  for (const ns of namespaces) out.set(`dd|${ns}`, { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
  return parsed([...out.values()]);
}

function admitted(policies: readonly NetworkPolicy[], flows: readonly Flow[]): { share: number; allow: number; total: number } {
  const ev = createEvaluator(policies);
  const tracker = new ConnectionTracker();
  let allow = 0;
  let total = 0;
  for (const f of flows) {
    const c = tracker.classify(f);
    if (c.kind === 'skip') continue;
    total++;
    if (ev.evaluate(f, c).verdict === 'allow') allow++;
  }
  return { share: total === 0 ? 1 : allow / total, allow, total };
}

function heldOut(name: string, flows: readonly Flow[]): void {
  const sorted = [...flows].sort((a, b) => a.timeMs - b.timeMs);
  const mid = sorted[Math.floor(sorted.length / 2)]!.timeMs;
  const first = sorted.filter((f) => f.timeMs < mid);
  const second = sorted.filter((f) => f.timeMs >= mid);
  const obs = new ObservationSet();
  for (const f of first) obs.addFlow(f);
  const s = suggestFromObservations(obs, {});
  if (!s.ok) throw new Error(JSON.stringify(s.error));
  const ours = s.value.parsed;
  const theirs = naive(first);
  const rules = (ps: readonly NetworkPolicy[]): number => ps.reduce((n, p) => n + p.ingress.length + p.egress.length, 0);
  const a = admitted(ours, second);
  const b = admitted(theirs, second);
  const agg = suggestFromObservations(obs, { externalPrefix: 24 });
  if (!agg.ok) throw new Error(JSON.stringify(agg.error));
  const c = admitted(agg.value.parsed, second);
  const pct = (x: number): string => `${(x * 100).toFixed(2)}%`;
  console.log(`held-out ${name}: learn from ${first.length} flows, judge ${a.total} connection starts of the second half`);
  console.log(`  suggest:  ${pct(a.share)} admitted (${a.allow}/${a.total}), ${rules(ours)} rules in ${ours.length} policies`);
  console.log(`  suggest --external-prefix 24: ${pct(c.share)} admitted (${c.allow}/${c.total}), ${rules(agg.value.parsed)} rules in ${agg.value.parsed.length} policies`);
  console.log(`  per-edge: ${pct(b.share)} admitted (${b.allow}/${b.total}), ${rules(theirs)} rules in ${theirs.length} policies`);
}

const spec = loadClusterSpec(join(demoDir(), 'cluster.yaml'));
if (!spec.ok) throw new Error('demo cluster spec');
const END = Date.parse('2026-06-01T12:00:00Z');

// 1. Held-out quality.
{
  const lines: string[] = [];
  writeCapture({ spec: spec.value, durationMs: 6 * 60_000, seed: 11, endMs: END, write: (l) => lines.push(l) });
  heldOut('simulated demo cluster, 6 min', parseFlows(lines));
  const real = resolve(repoRoot(), '..', 'shared', 'flows', 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl');
  if (existsSync(real)) heldOut('real bookinfo capture (400 TCP flows)', parseFlows(readFileSync(real, 'utf8').split('\n')));
}

// 2. Speed: 1,000,000 flow lines.
{
  const base: string[] = [];
  const SPAN_MS = 150_000;
  writeCapture({ spec: spec.value, durationMs: SPAN_MS, seed: 13, rateScale: 5, endMs: END, write: (l) => base.push(l) });
  const TARGET = 1_000_000;
  const rounds = Math.ceil(TARGET / base.length);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const cpu0 = process.cpuUsage();
  const start = performance.now();
  const obs = new ObservationSet();
  let n = 0;
  for (let r = 0; r < rounds && n < TARGET; r++) {
    // Each replay is shifted past the connection TTL, so its connections are new again.
    const shift = r * (SPAN_MS + 120_000);
    for (let i = 0; i < base.length && n < TARGET; i++, n++) {
      const p = parseHubbleLine(base[i]!);
      if (!p.ok || p.value.kind !== 'flow') continue;
      const f = p.value.flow;
      obs.addFlow(shift === 0 ? f : { ...f, timeMs: f.timeMs + shift });
    }
  }
  const observed = performance.now();
  const s = suggestFromObservations(obs, {});
  const done = performance.now();
  const cpu = process.cpuUsage(cpu0);
  if (!s.ok) throw new Error(JSON.stringify(s.error));
  const heap = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
  console.log(`suggest from ${n.toLocaleString('en')} flow lines (${obs.connections.toLocaleString('en')} connection starts, ${obs.representatives.size} distinct): ${((done - start) / 1000).toFixed(2)} s wall, ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s CPU (the machine is shared: CPU time is the steadier figure)`);
  console.log(`  parse+classify+observe ${((observed - start) / 1000).toFixed(2)} s (${Math.round(n / ((observed - start) / 1000)).toLocaleString('en')} lines/s), write+verify ${(done - observed).toFixed(0)} ms; ${s.value.report.rules} rules; heap +${heap.toFixed(0)} MiB`);
}
