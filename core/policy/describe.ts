/**
 * Names for endpoints and ports in verdict reasons. Names are identity-level (namespace and
 * workload or app), because side results are shared by every pod of one Cilium identity.
 */
import type { Endpoint, Flow } from '../flow/index.js';

export function endpointName(e: Endpoint, ip: string | null): string {
  switch (e.kind) {
    case 'pod': {
      const name = e.workloads[0]?.name ?? e.podLabels['app.kubernetes.io/name'] ?? e.podLabels['app'] ?? (e.podName !== '' ? e.podName : `identity ${e.identity}`);
      return `${e.namespace}/${name}`;
    }
    case 'external':
      return ip ?? 'world';
    case 'reserved':
      return `reserved:${e.name}`;
    case 'unknown':
      return e.namespace === null ? `unknown identity ${e.identity}` : `${e.namespace}/unknown identity ${e.identity}`;
  }
}

export function portName(flow: Flow): string {
  const l4 = flow.l4;
  if (l4 === null) return 'no L4 header';
  if (l4.protocol === 'TCP' || l4.protocol === 'UDP' || l4.protocol === 'SCTP') return `${l4.destinationPort}/${l4.protocol}`;
  return l4.protocol;
}

export const listRefs = (refs: readonly string[]): string => refs.join(', ');
