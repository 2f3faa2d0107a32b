/**
 * The Bookinfo contracts of the chain tests, over the 400-flow TCP capture: the lockdown
 * (every in-namespace call on 9080 allowed; optionally without the rule that admits traffic
 * into reviews, so productpage → reviews would be denied), and the brownfield proposal with
 * the baseline it is judged against.
 */
export const BOOKINFO = 'bookinfo-lockdown';

export interface BookinfoContractOptions {
  /** metadata.name; default BOOKINFO. */
  readonly name?: string;
  /** Leaves out the rule that admits traffic into reviews. */
  readonly missingReviews?: boolean;
  /** Each stage's minDuration: monitor and full (100 %), or monitor, canary (10 %), half (50 %) and full. */
  readonly durations: readonly [string, string] | readonly [string, string, string, string];
  /** A gates block (every other gate at its default); absent: none. maxWouldDeny 0 and full node coverage are always asked. */
  readonly gates?: { readonly minFlows?: number; readonly maxReportAge?: string };
}

export function bookinfoContract(o: BookinfoContractOptions): string {
  const selector = o.missingReviews === true ? '{ matchExpressions: [{ key: app, operator: NotIn, values: [reviews] }] }' : '{}';
  const d = o.durations;
  const stages =
    d.length === 2
      ? [`{ name: monitor, minDuration: ${d[0]} }`, `{ name: full, percent: 100, minDuration: ${d[1]} }`]
      : [`{ name: monitor, minDuration: ${d[0]} }`, `{ name: canary, percent: 10, minDuration: ${d[1]} }`, `{ name: half, percent: 50, minDuration: ${d[2]} }`, `{ name: full, percent: 100, minDuration: ${d[3]} }`];
  const gates =
    o.gates === undefined
      ? ''
      : `  gates:
    minFlows: ${o.gates.minFlows ?? 1}
    maxWouldDeny: 0
    minNodeCoverage: 1
    maxReportAge: ${o.gates.maxReportAge ?? '2s'}
`;
  return `apiVersion: rampart.dev/v1alpha1
kind: RampContract
metadata: { name: ${o.name ?? BOOKINFO} }
spec:
  policies:
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: default-deny-ingress, namespace: bookinfo }
      spec: { podSelector: {}, policyTypes: [Ingress] }
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: allow-in-namespace, namespace: bookinfo }
      spec:
        podSelector: ${selector}
        ingress:
          - from: [{ podSelector: {} }]
            ports: [{ port: 9080 }]
  rollout:
    strategy: percent
    stages:
${stages.map((s) => `      - ${s}\n`).join('')}${gates}`;
}

export const BROWNFIELD = 'bookinfo-brownfield';

/** The rollout and gates of the brownfield contracts: monitor, then every pod, an hour each, gated on one flow. */
export const BROWNFIELD_ROLLOUT = `  rollout:
    strategy: percent
    stages:
      - { name: monitor, minDuration: 1h }
      - { name: all, percent: 100, minDuration: 1h }
  gates: { minFlows: 1 }
`;

/** The brownfield proposal: bookinfo locked down both ways, with one allow into reviews. */
export const BROWNFIELD_CONTRACT_YAML = `apiVersion: rampart.dev/v1alpha1
kind: RampContract
metadata: { name: ${BROWNFIELD} }
spec:
  policies:
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: deny-all, namespace: bookinfo }
      spec: { podSelector: {}, policyTypes: [Ingress, Egress] }
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: productpage-to-reviews, namespace: bookinfo }
      spec:
        podSelector: { matchLabels: { app: reviews } }
        ingress: [{ from: [{ podSelector: { matchLabels: { app: productpage } } }], ports: [{ port: 9080 }] }]
${BROWNFIELD_ROLLOUT}`;

/**
 * Already in force: ingress locked down, details open to productpage. So the proposal's
 * egress lockdown is newly denied, its allow into reviews newly allowed, and ingress the
 * legacy lock denies (and the proposal too) already denied.
 */
export const BROWNFIELD_BASELINE_YAML = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: legacy-ingress-lock, namespace: bookinfo }
spec: { podSelector: {}, policyTypes: [Ingress] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: legacy-details-from-productpage, namespace: bookinfo }
spec:
  podSelector: { matchLabels: { app: details } }
  ingress: [{ from: [{ podSelector: { matchLabels: { app: productpage } } }], ports: [{ port: 9080 }] }]
`;
