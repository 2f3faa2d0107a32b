/**
 * Policy-engine throughput (issue 2 item 8): evaluations per second over the real 400-TCP
 * capture, repeated, against 1, 10, 20 and 100 contracts of 10 policies each, the way the agent
 * calls the engine (every flow × every contract; egress where source.ID is set, ingress where
 * destination.ID is set). Parse cost is measured separately. Prints tables; asserts nothing.
 *
 * Contracts are generated over the capture's namespaces and labels: every fifth one locks
 * bookinfo down (its policies select the capture's pods); the others hold policies for other
 * namespaces or for bookinfo apps absent from the capture, so they cannot select the flows'
 * pods. "fresh objects" rotates through separately parsed copies of the capture, so identity
 * memo hits must compare labels by content, as in the agent where every flow is a new object.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHubbleLine, type Flow } from '../core/flow/index.js';
import { compilePolicies, evaluateConnection, parseNetworkPolicy, type CompiledPolicySet, type NetworkPolicy } from '../core/policy/index.js';

const CAPTURE = 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl';
const POLICIES_PER_CONTRACT = 10;
const CONTRACT_COUNTS = [1, 10, 20, 100];
const SECONDS_PER_RUN = 1.5;
const COPIES = 8;

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) || existsSync(join(dir, 'tsconfig.json')) === false) {
    const up = dirname(dir);
    if (up === dir) throw new Error('repository root not found');
    dir = up;
  }
  return dir;
}

function policy(namespace: string, name: string, spec: Record<string, unknown>): NetworkPolicy {
  const r = parseNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec }, `${namespace}/${name}`);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

const app = (name: string): Record<string, unknown> => ({ matchLabels: { app: name } });
const nsByName = (ns: string): Record<string, unknown> => ({ matchLabels: { 'kubernetes.io/metadata.name': ns } });

/** A contract that selects the capture's pods: bookinfo locked down, the real edges allowed. */
function bookinfoLockdown(i: number): NetworkPolicy[] {
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
function elsewhere(i: number): NetworkPolicy[] {
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

function contracts(count: number): NetworkPolicy[][] {
  return Array.from({ length: count }, (_, i) => (i % 5 === 0 ? bookinfoLockdown(i) : elsewhere(i)));
}

function parseCapture(lines: readonly string[]): Flow[] {
  const flows: Flow[] = [];
  for (const line of lines) {
    const r = parseHubbleLine(line);
    if (r.ok && r.value.kind === 'flow') flows.push(r.value.flow);
  }
  return flows;
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

function main(): void {
  const path = resolve(repoRoot(), '..', 'shared', 'flows', CAPTURE);
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');

  // Parse cost, on its own.
  let parsed = 0;
  const parseStart = performance.now();
  while (performance.now() - parseStart < 1000) {
    parseCapture(lines);
    parsed += lines.length;
  }
  const parseSeconds = (performance.now() - parseStart) / 1000;
  const copies = Array.from({ length: COPIES }, () => parseCapture(lines));
  const flows = copies[0]!;
  const sides = flows.map((f) => ({ egress: f.source.id !== null, ingress: f.destination.id !== null }));
  process.stdout.write(`capture: ${CAPTURE} (${lines.length} lines, ${flows.length} flows)\n`);
  process.stdout.write(`parse (parseHubbleLine): ${fmt(parsed / parseSeconds)} lines/s, ${((parseSeconds / parsed) * 1e6).toFixed(2)} µs/line\n\n`);

  const header = 'contracts | policies | compile ms | mode           | evaluations | evals/s    | ns/eval | ns/flow (all contracts)\n';
  process.stdout.write(header);
  process.stdout.write('-'.repeat(header.length - 1) + '\n');
  for (const count of CONTRACT_COUNTS) {
    const manifests = contracts(count);
    const compileStart = performance.now();
    const sets: CompiledPolicySet[] = manifests.map((ps) => compilePolicies(ps));
    const compileMs = performance.now() - compileStart;
    // Cold: a freshly compiled set per pass, so every identity and edge is a first sighting
    // (the compile itself is not timed). This is the cost before the memo tables fill.
    {
      let evaluations = 0;
      let seconds = 0;
      let passes = 0;
      while (seconds < SECONDS_PER_RUN / 3) {
        const fresh = manifests.map((ps) => compilePolicies(ps));
        const batch = copies[passes % COPIES]!;
        const start = performance.now();
        for (let i = 0; i < batch.length; i++) for (let c = 0; c < fresh.length; c++) evaluateConnection(fresh[c]!, batch[i]!, sides[i]!);
        seconds += (performance.now() - start) / 1000;
        evaluations += batch.length * fresh.length;
        passes++;
      }
      const perEval = (seconds / evaluations) * 1e9;
      process.stdout.write(
        `${String(count).padStart(9)} | ${String(count * POLICIES_PER_CONTRACT).padStart(8)} | ${compileMs.toFixed(1).padStart(10)} | ${'cold memo'.padEnd(14)} | ${fmt(evaluations).padStart(11)} | ${fmt(evaluations / seconds).padStart(10)} | ${perEval.toFixed(0).padStart(7)} | ${(perEval * count).toFixed(0).padStart(6)}\n`,
      );
    }
    for (const mode of ['same objects', 'fresh objects'] as const) {
      // Warm up (JIT, memo tables), then measure whole passes over the capture for ~SECONDS_PER_RUN.
      for (const s of sets) for (let i = 0; i < flows.length; i++) evaluateConnection(s, flows[i]!, sides[i]!);
      globalThis.gc?.();
      let evaluations = 0;
      let passes = 0;
      let sink = 0;
      const start = performance.now();
      while (performance.now() - start < SECONDS_PER_RUN * 1000) {
        const batch = mode === 'same objects' ? flows : copies[passes % COPIES]!;
        for (let i = 0; i < batch.length; i++) {
          const f = batch[i]!;
          const sd = sides[i]!;
          for (let c = 0; c < sets.length; c++) {
            if (evaluateConnection(sets[c]!, f, sd).verdict === 'deny') sink++;
          }
        }
        evaluations += batch.length * sets.length;
        passes++;
      }
      const seconds = (performance.now() - start) / 1000;
      const perEval = (seconds / evaluations) * 1e9;
      process.stdout.write(
        `${String(count).padStart(9)} | ${String(count * POLICIES_PER_CONTRACT).padStart(8)} | ${compileMs.toFixed(1).padStart(10)} | ${mode.padEnd(14)} | ${fmt(evaluations).padStart(11)} | ${fmt(evaluations / seconds).padStart(10)} | ${perEval.toFixed(0).padStart(7)} | ${(perEval * count).toFixed(0).padStart(6)}   (denies seen: ${fmt(sink / passes)}/pass)\n`,
      );
    }
  }
}

main();
