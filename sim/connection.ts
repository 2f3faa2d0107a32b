/** One simulated connection attempt: who talks to whom, on which 5-tuple. */
import type { SimExternal, SimNode, SimPod, SimWorkload } from './cluster.js';
import type { SimProtocol } from './cluster-spec.js';

export type Peer =
  | { readonly kind: 'pod'; readonly pod: SimPod; readonly workload: SimWorkload }
  | { readonly kind: 'external'; readonly external: SimExternal; readonly ip: string }
  /** The node itself (kubelet probes); only ever a source, and only to pods on that node. */
  | { readonly kind: 'host'; readonly node: SimNode };

export interface Connection {
  readonly src: Peer;
  readonly dst: Peer;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly protocol: SimProtocol;
  /** The Kubernetes Service the client dialled, when it went through one. */
  readonly service: { readonly name: string; readonly namespace: string } | null;
}

export const peerIp = (p: Peer): string => (p.kind === 'pod' ? p.pod.ip : p.kind === 'external' ? p.ip : p.node.ip);

export const peerNode = (p: Peer): SimNode | null => (p.kind === 'pod' ? p.pod.node : p.kind === 'host' ? p.node : null);

/** `namespace/workload`, `external/<name>` or `host`: how the simulator names a peer in logs and tests. */
export const peerName = (p: Peer): string => (p.kind === 'pod' ? p.workload.key : p.kind === 'external' ? p.external.name : 'host');
