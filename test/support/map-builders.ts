/** Builders for observed edges and NetworkPolicy documents, shared by the traffic-map tests. */
import { parseNetworkPolicy, type NetworkPolicy } from '../../core/policy/index.js';
import type { ObservedEdge, ObservedPeer } from '../../core/summary/index.js';

export function aPeer(ns: string, workload: string, labels: Record<string, string> = { app: workload }): ObservedPeer {
  return { namespace: ns, workload, kind: 'pod', labels, namespaceLabels: { 'kubernetes.io/metadata.name': ns }, labelsPartial: false };
}

export const WORLD: ObservedPeer = { namespace: '', workload: 'world', kind: 'external', labels: {}, namespaceLabels: {}, labelsPartial: false };

export function anEdge(from: ObservedPeer, to: ObservedPeer, port = 8080, options: { count?: number; atMs?: number; protocol?: string } = {}): ObservedEdge {
  const at = options.atMs ?? Date.parse('2026-01-01T00:00:00Z');
  return { from, to, port, protocol: options.protocol ?? 'TCP', count: options.count ?? 1, firstSeenMs: at, lastSeenMs: at };
}

export function policyDoc(namespace: string, name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Record<string, unknown> {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace, ...(labels ? { labels } : {}) }, spec };
}

export function policy(doc: Record<string, unknown>): NetworkPolicy {
  const r = parseNetworkPolicy(doc, 'test');
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

export const denyIngress = (ns: string): Record<string, unknown> => policyDoc(ns, 'deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] });
export const allowIngress = (ns: string, to: string, from: string, port: number): Record<string, unknown> =>
  policyDoc(ns, `allow-${from}-to-${to}`, { podSelector: { matchLabels: { app: to } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: from } } }], ports: [{ port }] }] });

/** A RampContract document around NetworkPolicy documents. */
export function contractDocWith(name: string, policies: readonly Record<string, unknown>[]): Record<string, unknown> {
  return {
    apiVersion: 'rampart.dev/v1alpha1',
    kind: 'RampContract',
    metadata: { name },
    spec: {
      policies,
      rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'full', percent: 100, minDuration: '1m' }] },
    },
  };
}
