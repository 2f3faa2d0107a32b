/**
 * Hubble `-o json` lines for connections an app is expected to make (or must not make), so
 * `rampart evaluate` can judge a suggestion over them: pods by namespace and labels, the
 * world by an address, kube-dns as it runs in every cluster.
 */
import { aFlowLine, aPodRecord, type JsonRecord } from './builders.js';

export type Labels = Readonly<Record<string, string>>;

export type EndpointSpec = { readonly namespace: string; readonly labels: Labels; readonly name: string } | { readonly world: string };

/** kube-dns as deployed by kubeadm, kind and most distributions. */
export const KUBE_DNS: EndpointSpec = { namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' }, name: 'coredns' };

let identity = 40_000;
const identities = new Map<string, number>();
let sourcePort = 33_000;
let address = 1;

function record(e: EndpointSpec): JsonRecord {
  if ('world' in e) return { identity: 2, labels: ['reserved:world'] };
  const key = `${e.namespace}/${JSON.stringify(e.labels)}`;
  let id = identities.get(key);
  if (id === undefined) {
    id = identity++;
    identities.set(key, id);
  }
  return aPodRecord({ namespace: e.namespace, labels: e.labels, podName: `${e.name}-7d9f8c6b5d-x2k4p`, identity: id, id: id - 39_000 });
}

/** One connection start (TCP SYN, or a first UDP datagram) from `from` to `to` on `port`. */
export function connectionLine(from: EndpointSpec, to: EndpointSpec, port: number, protocol: 'TCP' | 'UDP' = 'TCP'): string {
  sourcePort = sourcePort >= 60_000 ? 33_000 : sourcePort + 1;
  address = (address % 250) + 1;
  const ip = (e: EndpointSpec, fallback: string): string => ('world' in e ? e.world : fallback);
  const l4 = protocol === 'TCP' ? { TCP: { source_port: sourcePort, destination_port: port, flags: { SYN: true } } } : { UDP: { source_port: sourcePort, destination_port: port } };
  return aFlowLine({
    uuid: `c-${sourcePort}`,
    IP: { source: ip(from, `10.1.0.${address}`), destination: ip(to, `10.2.0.${address}`), ipVersion: 'IPv4' },
    l4,
    source: record(from),
    destination: record(to),
    Summary: protocol === 'TCP' ? 'TCP Flags: SYN' : 'UDP',
  });
}
