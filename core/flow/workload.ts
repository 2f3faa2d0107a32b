/**
 * Human names for the two ends of an edge (`ns/workload`), for tables and edge summaries.
 * Never used for verdicts: only for grouping what people read.
 */
import type { Endpoint, Flow } from './flow.js';

/** Labels that name an application, most specific first. */
const APP_LABELS = ['app', 'app.kubernetes.io/name', 'k8s-app'] as const;

/**
 * Kubernetes generates pod-name suffixes from this alphabet (no vowels, no 0/1/3), so a
 * suffix made of other characters (`-v1`, `-api`) is part of the workload's name.
 */
const HASH = '[bcdfghjklmnpqrstvwxz2456789]';
const REPLICASET_POD = new RegExp(`^(.+)-${HASH}{6,10}-${HASH}{5}$`);
const POD_HASH = new RegExp(`^(.+)-${HASH}{5}$`);

/** `productpage-v1-6b746f74dc-9rcxx` → `productpage-v1`; `fluentd-x7k2p` → `fluentd`. */
export function stripPodHash(podName: string): string {
  const rs = REPLICASET_POD.exec(podName);
  if (rs) return rs[1]!;
  const pod = POD_HASH.exec(podName);
  return pod ? pod[1]! : podName;
}

/** The workload of a pod: Hubble's `workloads`, else an app label, else the pod name without hashes. */
export function workloadName(endpoint: Endpoint): string {
  switch (endpoint.kind) {
    case 'pod': {
      const w = endpoint.workloads[0];
      if (w !== undefined && w.name !== '') return w.name;
      for (const key of APP_LABELS) {
        const v = endpoint.podLabels[key];
        if (v !== undefined && v !== '') return v;
      }
      return endpoint.podName === '' ? '?' : stripPodHash(endpoint.podName);
    }
    case 'unknown':
      return endpoint.podName === '' ? 'unknown' : stripPodHash(endpoint.podName);
    case 'reserved':
      return endpoint.name;
    case 'external':
      return 'world';
  }
}

/**
 * `ns/workload` for pods, `reserved/host` for reserved identities, `world/<ip>` for external
 * peers (the IP is what an ipBlock would have to admit), `unknown/<pod or ip>` otherwise.
 */
export function endpointEdgeName(endpoint: Endpoint, ip: string | undefined): string {
  switch (endpoint.kind) {
    case 'pod':
      return `${endpoint.namespace}/${workloadName(endpoint)}`;
    case 'reserved':
      return `reserved/${endpoint.name}`;
    case 'external':
      return `world/${ip ?? '?'}`;
    case 'unknown':
      return `${endpoint.namespace ?? 'unknown'}/${endpoint.podName === '' ? (ip ?? '?') : stripPodHash(endpoint.podName)}`;
  }
}

/** `from → to:port/proto` parts of a flow, as edge tables show them. */
export function flowEdge(flow: Flow): { readonly from: string; readonly to: string; readonly port: number; readonly protocol: string } {
  return {
    from: endpointEdgeName(flow.source, flow.ip?.source),
    to: endpointEdgeName(flow.destination, flow.ip?.destination),
    port: flow.l4?.destinationPort ?? 0,
    protocol: flow.l4?.protocol ?? 'unknown',
  };
}
