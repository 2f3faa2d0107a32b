/**
 * Cilium policies throughput (issue 20): a mixed baseline of 200 policies in force, NetworkPolicy
 * and CiliumNetworkPolicy/CCNP together (bookinfo locked down by CNPs, with a CCNP deny rule and
 * a toFQDNs egress, plus NetworkPolicies elsewhere), and 20 contracts judged on top of it
 * (createChangeEvaluator), over the real 400-TCP capture the way the agent calls the engine.
 * Target: ≥ 1,000,000 side evaluations per second on one core. Prints a table; asserts nothing.
 */
import { createChangeEvaluator, createEvaluator, parseCiliumPolicy, type CiliumPolicy, type Policy } from '../core/policy/index.js';
import { CAPTURE, captureCopies, captureLines, contracts, elsewhere, fmt, measureSides } from './policy-fixtures.js';

const BASELINE_POLICIES = 200;
const CONTRACTS = 20;
const SECONDS_PER_RUN = 1.5;
const COPIES = 8;

function cnp(name: string, spec: Record<string, unknown>, namespace: string | null = 'bookinfo'): CiliumPolicy {
  const manifest = namespace === null
    ? { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name }, spec }
    : { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec };
  const r = parseCiliumPolicy(manifest, name);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

const app = (name: string): Record<string, unknown> => ({ matchLabels: { app: name } });
const port = (p: string, protocol = 'TCP'): Record<string, unknown> => ({ ports: [{ port: p, protocol }] });

/** Bookinfo locked down with CNPs: the capture's real edges admitted. */
function bookinfoCnps(i: number): CiliumPolicy[] {
  return [
    cnp(`dns-${i}`, { endpointSelector: {}, egress: [{ toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'kube-system', 'k8s-app': 'kube-dns' } }], toPorts: [port('53', 'ANY')] }] }),
    cnp(`productpage-${i}`, {
      endpointSelector: app('productpage'),
      ingress: [{ fromEntities: ['all'], toPorts: [port('9080')] }],
      egress: [{ toEndpoints: [app('details'), app('reviews')], toPorts: [port('9080')] }, { toFQDNs: [{ matchPattern: '*.example.com' }], toPorts: [port('443')] }],
    }),
    cnp(`details-${i}`, { endpointSelector: app('details'), ingress: [{ fromEndpoints: [app('productpage')], toPorts: [port('9080')] }] }),
    cnp(`reviews-${i}`, { endpointSelector: app('reviews'), ingress: [{ fromEndpoints: [app('productpage')], toPorts: [port('9080')] }], egress: [{ toEndpoints: [app('ratings')], toPorts: [port('9080')] }] }),
    cnp(`ratings-${i}`, { endpointSelector: app('ratings'), ingress: [{ fromEndpoints: [{ matchExpressions: [{ key: 'app', operator: 'In', values: ['reviews'] }, { key: 'version', operator: 'NotIn', values: ['v1'] }] }], toPorts: [{ ports: [{ port: '9080', endPort: 9090, protocol: 'TCP' }] }] }] }),
    cnp(`tracing-${i}`, { endpointSelector: {}, egress: [{ toEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'jaeger' } }], toPorts: [{ ports: [{ port: '14250', protocol: 'TCP' }, { port: '9411', protocol: 'TCP' }] }] }] }),
    cnp(`no-metadata-${i}`, { endpointSelector: {}, egressDeny: [{ toCIDR: ['169.254.169.254/32'] }] }, null),
  ];
}

/** CNPs that cannot select a pod of the capture (other namespaces, or bookinfo apps it lacks). */
function elsewhereCnps(i: number): CiliumPolicy[] {
  return [
    cnp(`team-${i}-lockdown`, { endpointSelector: {}, ingress: [{ fromEndpoints: [{}] }], egress: [{ toEntities: ['cluster'] }] }, `team-${i}`),
    cnp(`legacy-${i}`, { endpointSelector: app(`legacy-${i}`), ingress: [{ fromEndpoints: [app('productpage')], toPorts: [port('http')] }] }),
    cnp(`shop-${i}`, { endpointSelector: app(`cart-${i}`), egress: [{ toCIDRSet: [{ cidr: `10.${i % 250}.0.0/16`, except: [`10.${i % 250}.1.0/24`] }] }, { toFQDNs: [{ matchName: `api-${i}.example.com` }] }] }, `shop-${i % 7}`),
    cnp(`payments-${i}`, { endpointSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['api', 'worker'] }] }, ingressDeny: [{ fromEntities: ['world'] }], ingress: [{ fromEndpoints: [{ matchLabels: { 'io.cilium.k8s.namespace.labels.team': 'payments' } }] }] }, `payments-${i % 3}`),
    cnp(`batch-${i}`, { endpointSelector: app(`batch-${i}`), egress: [{ toEntities: ['kube-apiserver'], toPorts: [port('6443')] }, { icmps: [{ fields: [{ type: 8 }] }] }] }, `team-${i}`),
  ];
}

function baselinePolicies(): Policy[] {
  const out: Policy[] = bookinfoCnps(9000);
  // Half NetworkPolicies, half CNPs, none of which selects the capture's pods.
  for (let i = 1000; out.length < BASELINE_POLICIES; i++) out.push(...(i % 2 === 0 ? elsewhere(i) : elsewhereCnps(i)));
  return out.slice(0, BASELINE_POLICIES);
}

function main(): void {
  const lines = captureLines();
  const { copies, sides } = captureCopies(lines, COPIES);
  const flows = copies[0]!;
  const baseline = baselinePolicies();
  const cilium = baseline.filter((p) => p.kind !== undefined && p.kind !== 'NetworkPolicy').length;
  const proposals = contracts(CONTRACTS);
  let started = performance.now();
  const mixed = proposals.map((ps) => createEvaluator([...baseline, ...ps]));
  const mixedMs = performance.now() - started;
  started = performance.now();
  const paired = proposals.map((ps) => createChangeEvaluator({ baseline, proposed: ps }));
  const pairedMs = performance.now() - started;
  process.stdout.write(`capture: ${CAPTURE} (${flows.length} flows); baseline: ${baseline.length} policies (${cilium} CNP/CCNP, ${baseline.length - cilium} NetworkPolicy); contracts: ${proposals.length}\n`);
  process.stdout.write(`compile: mixed sets ${mixedMs.toFixed(1)} ms, baseline pairs ${pairedMs.toFixed(1)} ms (${CONTRACTS} each)\n\n`);
  const header = 'evaluator                        | mode           | side evals  | side evals/s | ns/side\n';
  process.stdout.write(header + '-'.repeat(header.length - 1) + '\n');
  let denied = 0;
  for (const mode of ['same objects', 'fresh objects'] as const) {
    const rows: Array<[string, { sides: number; seconds: number }]> = [
      [
        'mixed NP+CNP set (one evaluator)',
        measureSides(copies, sides, mode, SECONDS_PER_RUN, (f, sd) => {
          let n = 0;
          for (let c = 0; c < mixed.length; c++) {
            const e = mixed[c]!.evaluate(f, sd);
            if (e.egress !== 'none') n++;
            if (e.ingress !== 'none') n++;
            if (e.verdict === 'deny') denied++;
          }
          return n;
        }),
      ],
      [
        'mixed baseline ∪ contract',
        measureSides(copies, sides, mode, SECONDS_PER_RUN, (f, sd) => {
          let n = 0;
          for (let c = 0; c < paired.length; c++) {
            const r = paired[c]!.evaluate(f, sd);
            if (r.egress !== 'none') n++;
            if (r.ingress !== 'none') n++;
          }
          return n;
        }),
      ],
    ];
    for (const [name, run] of rows) {
      process.stdout.write(`${name.padEnd(32)} | ${mode.padEnd(14)} | ${fmt(run.sides).padStart(11)} | ${fmt(run.sides / run.seconds).padStart(12)} | ${((run.seconds / run.sides) * 1e9).toFixed(0).padStart(7)}\n`);
    }
  }
  process.stdout.write(`\n(denied connections seen: ${fmt(denied)}; target ≥ 1,000,000 side evals/s on one core)\n`);
}

main();
