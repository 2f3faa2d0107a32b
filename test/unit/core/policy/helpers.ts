/** Small helpers for the policy-engine tests: manifests in, verdicts out. */
import type { Flow, PodEndpoint } from '../../../../core/flow/index.js';
import {
  createEvaluator,
  parseNetworkPolicy,
  type EvaluatedSides,
  type Evaluation,
  type ClusterNamedPortResolver,
  type NamedPortResolver,
  type NetworkPolicy,
  type Policy,
} from '../../../../core/policy/index.js';
import { aFlow, aPod, podIdentityLabels } from '../../../support/builders.js';

/** A parsed NetworkPolicy from a spec (throws on invalid input: these are test fixtures). */
export function np(namespace: string, name: string, spec: Record<string, unknown>): NetworkPolicy {
  const r = parseNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec }, '');
  if (!r.ok) throw new Error(`bad fixture ${namespace}/${name}: ${JSON.stringify(r.error)}`);
  return r.value;
}

export const BOTH: EvaluatedSides = { egress: true, ingress: true };

export function evaluate(
  policies: readonly Policy[],
  flow: Flow,
  sides: EvaluatedSides = BOTH,
  namedPorts?: NamedPortResolver,
  clusterNamedPorts?: ClusterNamedPortResolver,
): Evaluation {
  return createEvaluator(policies).evaluate(flow, sides, { ...(namedPorts ? { namedPorts } : {}), ...(clusterNamedPorts ? { clusterNamedPorts } : {}) });
}

/** A pod whose flow carries no namespace labels at all (no `io.cilium.k8s.namespace.labels.*`). */
export function podWithoutNamespaceLabels(namespace: string, labels: Record<string, string>, identity: number): PodEndpoint {
  const base = aPod({ namespace, labels, identity });
  return { ...base, namespaceLabels: {}, labels: podIdentityLabels(namespace, labels, {}) };
}

/** Pods used across the tables: namespace `shop` (team=a) and `other` (team=b). */
export const pods = {
  web: aPod({ namespace: 'shop', labels: { app: 'web' }, namespaceLabels: { team: 'a' }, name: 'web-1', identity: 1001 }),
  api: aPod({ namespace: 'shop', labels: { app: 'api' }, namespaceLabels: { team: 'a' }, name: 'api-1', identity: 1002 }),
  db: aPod({ namespace: 'shop', labels: { app: 'db', tier: 'data' }, namespaceLabels: { team: 'a' }, name: 'db-1', identity: 1003 }),
  otherWeb: aPod({ namespace: 'other', labels: { app: 'web' }, namespaceLabels: { team: 'b' }, name: 'web-9', identity: 2001 }),
  dns: aPod({ namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, name: 'coredns-1', identity: 3001 }),
};

/** A connection start between two endpoints. */
export function conn(source: Flow['source'], destination: Flow['destination'], l4: Flow['l4'], ip: NonNullable<Flow['ip']> = { source: '10.0.1.1', destination: '10.0.1.2', version: 4 }): Flow {
  return aFlow({ source, destination, l4, ip });
}
