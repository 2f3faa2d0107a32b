/**
 * The benchmark's contract set: `n` contracts of five NetworkPolicies each, spread over the
 * namespaces of ../shared/flows (or one given namespace), each isolating its namespace and
 * admitting a few labelled peers, so evaluation does real selector work on every flow.
 */
import type { ContractSet } from '../core/summary/index.js';

const NAMESPACES = ['bookinfo', 'kube-system', 'default', 'istio-system', 'otel'];

export function benchContracts(n: number, namespace?: string): ContractSet {
  const contracts = Array.from({ length: n }, (_, i) => {
    const ns = namespace ?? NAMESPACES[i % NAMESPACES.length]!;
    const np = (name: string, spec: unknown): unknown => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: ns }, spec });
    return {
      name: `bench-${i}`,
      revision: 1,
      stageIndex: 0,
      stageName: 'monitor',
      enforcement: { mode: 'monitor' as const },
      policies: [
        np('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
        np('allow-dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] }] }),
        np('frontend-to-reviews', { podSelector: { matchLabels: { app: 'reviews' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'productpage' } } }], ports: [{ port: 9080 }] }] }),
        np('reviews-to-ratings', { podSelector: { matchLabels: { app: 'ratings' } }, ingress: [{ from: [{ podSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['reviews', `canary-${i}`] }] } }], ports: [{ port: 9080, endPort: 9090 }] }] }),
        np('egress-web', { podSelector: { matchExpressions: [{ key: 'version', operator: 'Exists' }] }, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: [`10.${i}.0.0/16`] } }], ports: [{ port: 9080 }, { port: 443 }] }] }),
      ],
    };
  });
  return { generation: 1, contracts };
}
