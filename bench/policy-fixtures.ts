/**
 * Shared by the policy benchmarks: the real 400-TCP capture, parsed, and generated contracts
 * over its namespaces and labels (every fifth one locks bookinfo down, so its policies select
 * the capture's pods; the others hold policies for other namespaces or for bookinfo apps
 * absent from the capture).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHubbleLine, type Flow } from '../core/flow/index.js';
import { parseNetworkPolicy, type EvaluatedSides, type NetworkPolicy } from '../core/policy/index.js';

export const CAPTURE = 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl';
export const POLICIES_PER_CONTRACT = 10;

export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || existsSync(join(dir, 'tsconfig.json')) === false) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

export function policy(namespace: string, name: string, spec: Record<string, unknown>): NetworkPolicy {
  const r = parseNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec }, `${namespace}/${name}`);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

export const app = (name: string): Record<string, unknown> => ({ matchLabels: { app: name } });
export const nsByName = (ns: string): Record<string, unknown> => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });

/** A contract that selects the capture's pods: bookinfo locked down, the real edges allowed. */
export function bookinfoLockdown(i: number): NetworkPolicy[] {
  const ns = 'bookinfo';
  return [
    policy(ns, `default-deny-${i}`, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    policy(ns, `allow-dns-${i}`, { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: nsByName('kube-system'), podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53 }] }] }),
    policy(ns, `productpage-in-${i}`, { podSelector: app('productpage'), ingress: [{ ports: [{ port: 9080 }] }] }),
    policy(ns, `productpage-out-${i}`, { podSelector: app('productpage'), policyTypes: ['Egress'], egress: [{ to: [{ podSelector: app('details') }, { podSelector: app('reviews') }], ports: [{ port: 9080 }] }] }),
    policy(ns, `details-in-${i}`, { podSelector: app('details'), ingress: [{ from: [{ podSelector: app('productpage') }], ports: [{ port: 9080 }] }] }),
    policy(ns, `reviews-in-${i}`, { podSelector: app('reviews'), ingress: [{ from: [{ podSelector: app('productpage') }], ports: [{ port: 9080 }] }] }),
    policy(ns, `reviews-out-${i}`, { podSelector: app('reviews'), policyTypes: ['Egress'], egress: [{ to: [{ podSelector: app('ratings') }], ports: [{ port: 9080 }] }] }),
    policy(ns, `ratings-in-${i}`, { podSelector: app('ratings'), ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['reviews'] }, { key: 'version', operator: 'NotIn', values: ['v1'] }] } }], ports: [{ port: 9080, endPort: 9090 }] }] }),
    policy(ns, `to-tracing-${i}`, { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: nsByName('jaeger') }], ports: [{ port: 14250 }, { port: 9411 }] }] }),
    policy(ns, `to-world-${i}`, { podSelector: app('productpage'), policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'] } }], ports: [{ port: 443 }] }] }),
  ];
}

/** A contract whose policies cannot select any pod of the capture. */
export function elsewhere(i: number): NetworkPolicy[] {
  const out: NetworkPolicy[] = [];
  for (let j = 0; j < POLICIES_PER_CONTRACT; j++) {
    const name = `p${i}-${j}`;
    switch (j % 5) {
      case 0:
        out.push(policy(`team-${i}`, name, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }));
        break;
      case 1:
        out.push(policy(`team-${i}`, name, { podSelector: app('productpage'), ingress: [{ from: [{ namespaceSelector: nsByName('bookinfo'), podSelector: app('reviews') }], ports: [{ port: 9080 }] }] }));
        break;
      case 2:
        out.push(policy(`shop-${i % 7}`, name, { podSelector: app(`cart-${j}`), egress: [{ to: [{ ipBlock: { cidr: `10.${i % 250}.0.0/16` } }] }] }));
        break;
      case 3:
        // In bookinfo, but for an app the capture does not have.
        out.push(policy('bookinfo', name, { podSelector: app(`legacy-${i}`), ingress: [{ from: [{ podSelector: app('productpage') }], ports: [{ port: 'http' }] }] }));
        break;
      default:
        out.push(policy(`payments-${i % 3}`, name, { podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['api', 'worker'] }] }, ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] } }] }] }));
    }
  }
  return out;
}

export function contracts(count: number): NetworkPolicy[][] {
  return Array.from({ length: count }, (_, i) => (i % 5 === 0 ? bookinfoLockdown(i) : elsewhere(i)));
}

export function parseCapture(lines: readonly string[]): Flow[] {
  const flows: Flow[] = [];
  for (const line of lines) {
    const r = parseHubbleLine(line);
    if (r.ok && r.value.kind === 'flow') flows.push(r.value.flow);
  }
  return flows;
}

/** The capture's lines (non-blank). */
export function captureLines(): string[] {
  const path = resolve(repoRoot(), '..', 'shared', 'flows', CAPTURE);
  return readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
}

/** A count as the tables print it (thousands separated). */
export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * The capture parsed `count` times (separate objects, for the "fresh objects" runs, as in the
 * agent where every flow is a new object) and the sides the agent evaluates for each flow:
 * egress where source.ID is set, ingress where destination.ID is set.
 */
export function captureCopies(lines: readonly string[], count: number): { copies: Flow[][]; sides: EvaluatedSides[] } {
  const copies = Array.from({ length: count }, () => parseCapture(lines));
  const sides = copies[0]!.map((f) => ({ egress: f.source.id !== null, ingress: f.destination.id !== null }));
  return { copies, sides };
}

export type ObjectMode = 'same objects' | 'fresh objects';

/**
 * Whole passes over the capture for about `seconds` after one warm-up pass (JIT, memo
 * tables); `evaluate` returns the sides it decided. "same objects" reuses the first copy,
 * "fresh objects" rotates through the copies.
 */
export function measureSides(copies: readonly (readonly Flow[])[], sides: readonly EvaluatedSides[], mode: ObjectMode, seconds: number, evaluate: (flow: Flow, sides: EvaluatedSides) => number): { passes: number; sides: number; seconds: number } {
  for (const f of copies[0]!.keys()) evaluate(copies[0]![f]!, sides[f]!);
  globalThis.gc?.();
  let decided = 0;
  let passes = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const batch = mode === 'same objects' ? copies[0]! : copies[passes % copies.length]!;
    for (let i = 0; i < batch.length; i++) decided += evaluate(batch[i]!, sides[i]!);
    passes++;
  }
  return { passes, sides: decided, seconds: (performance.now() - start) / 1000 };
}
