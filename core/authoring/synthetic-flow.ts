/**
 * Connection starts made up from declared facts (manifests, the traffic map) so that they
 * go through the same ObservationSet and the same round-trip check as observed flows. Pod
 * endpoints carry the identity labels Cilium would give them (filtered keys dropped, the
 * namespace's `kubernetes.io/metadata.name`), so the engine judges them like real ones.
 */
import type { Endpoint, Flow, PodEndpoint } from '../flow/index.js';
import { isFilteredIdentityLabel, type PolicyProtocol } from '../policy/index.js';
import type { Labels } from './labels.js';

let nextIdentity = 1_000_000;
const identities = new Map<string, number>();

function identityFor(text: string): number {
  let id = identities.get(text);
  if (id === undefined) {
    id = nextIdentity++;
    identities.set(text, id);
  }
  return id;
}

export function syntheticPod(namespace: string, workload: string, kind: string, labels: Labels, namespaceLabels: Labels = {}): PodEndpoint {
  const podLabels: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!isFilteredIdentityLabel(k)) podLabels[k] = v;
  const nsLabels: Record<string, string> = { 'kubernetes.io/metadata.name': namespace, ...namespaceLabels };
  const identityLabels = [
    ...Object.keys(podLabels)
      .sort()
      .map((k) => `k8s:${k}=${podLabels[k]!}`),
    ...Object.keys(nsLabels)
      .sort()
      .map((k) => `k8s:io.cilium.k8s.namespace.labels.${k}=${nsLabels[k]!}`),
    `k8s:io.kubernetes.pod.namespace=${namespace}`,
  ];
  return {
    kind: 'pod',
    id: 1,
    identity: identityFor(identityLabels.join(',')),
    labels: identityLabels,
    namespace,
    podName: '',
    podLabels,
    namespaceLabels: nsLabels,
    workloads: [{ name: workload, kind }],
  };
}

export const WORLD: Endpoint = { kind: 'external', id: null, identity: 2, labels: ['reserved:world'] };

let port = 32768;

export function syntheticFlow(source: Endpoint, destination: Endpoint, protocol: PolicyProtocol, destinationPort: number, ips?: { source: string; destination: string }): Flow {
  port = port >= 60999 ? 32768 : port + 1;
  return {
    timeMs: 0,
    time: '1970-01-01T00:00:00Z',
    uuid: null,
    node: 'declared',
    type: 'L3_L4',
    eventType: 4,
    eventSubType: null,
    observed: 'FORWARDED',
    dropReason: null,
    direction: 'egress',
    isReply: false,
    traceReason: 'NEW',
    observationPoint: null,
    ip: { source: ips?.source ?? '10.255.0.1', destination: ips?.destination ?? '10.255.0.2', version: 4 },
    l4: { protocol, sourcePort: port, destinationPort, flags: protocol === 'TCP' ? { SYN: true, ACK: false, FIN: false, RST: false } : null, icmpType: null, icmpCode: null },
    source,
    destination,
  };
}
