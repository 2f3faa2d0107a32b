/**
 * A deliberately plain reading of netpol.md section 1, as Cilium enforces it (section 4: rules
 * of a direction missing from policyTypes are enforced, an ingress ipBlock peer also admits
 * the pods of the policy's namespace), for differential tests: two-valued, no indexes, no memo,
 * IPv4 only, pods with full labels and external endpoints only (what the property generators
 * produce). Written from the rules, not from the engine.
 */
import type { Flow } from '../../../../core/flow/index.js';
import type { LabelSelector, NetworkPolicy, Peer, PortMatch } from '../../../../core/policy/index.js';

type Labels = Readonly<Record<string, string>>;

function selects(sel: LabelSelector, labels: Labels): boolean {
  for (const [k, v] of Object.entries(sel.matchLabels)) if (labels[k] !== v) return false;
  for (const r of sel.matchExpressions) {
    const has = Object.hasOwn(labels, r.key);
    const value = labels[r.key];
    if (r.operator === 'In' && !(has && r.values.includes(value!))) return false;
    if (r.operator === 'NotIn' && has && r.values.includes(value!)) return false;
    if (r.operator === 'Exists' && !has) return false;
    if (r.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

const ipv4 = (ip: string): number => ip.split('.').reduce((acc, part) => acc * 256 + Number(part), 0);
function inCidr(ip: string, cidr: string): boolean {
  if (ip.includes(':') || cidr.includes(':')) return false;
  const [net, bits] = cidr.split('/');
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ipv4(net!) / size) * size;
  const n = ipv4(ip);
  return n >= start && n < start + size;
}

function peerMatches(peer: Peer, policyNamespace: string, endpoint: Flow['source'], ip: string, side: 'egress' | 'ingress'): boolean {
  // netpol.md 4.2: Cilium gives an ingress ipBlock peer an implicit selector of the policy's namespace.
  if (side === 'ingress' && peer.kind === 'ipBlock' && endpoint.kind === 'pod' && endpoint.namespace === policyNamespace) return true;
  if (endpoint.kind === 'external') {
    return peer.kind === 'ipBlock' && inCidr(ip, peer.cidr) && !peer.except.some((e) => inCidr(ip, e));
  }
  if (endpoint.kind !== 'pod' || peer.kind !== 'selector') return false;
  const nsOk = peer.namespaceSelector === null ? endpoint.namespace === policyNamespace : selects(peer.namespaceSelector, endpoint.namespaceLabels);
  const podOk = peer.podSelector === null || selects(peer.podSelector, endpoint.podLabels);
  return nsOk && podOk;
}

function portMatches(port: PortMatch, flow: Flow): boolean {
  const l4 = flow.l4;
  if (l4 === null || l4.protocol !== port.protocol) return false;
  if (port.port === null) return true;
  if (typeof port.port === 'string') throw new Error('the reference does not do named ports');
  return port.endPort === null ? l4.destinationPort === port.port : l4.destinationPort >= port.port && l4.destinationPort <= port.endPort;
}

/** The verdict of one side, or `none` when that endpoint is not a pod. */
export function referenceSide(policies: readonly NetworkPolicy[], flow: Flow, side: 'egress' | 'ingress'): 'allow' | 'deny' | 'none' {
  const self = side === 'egress' ? flow.source : flow.destination;
  const peer = side === 'egress' ? flow.destination : flow.source;
  const peerIp = side === 'egress' ? flow.ip!.destination : flow.ip!.source;
  if (self.kind !== 'pod') return 'none';
  const type = side === 'egress' ? 'Egress' : 'Ingress';
  // netpol.md 4.1: Cilium enforces (and isolates by) rules of a direction missing from policyTypes.
  const rulesOf = (p: NetworkPolicy): readonly NetworkPolicy['ingress'][number][] =>
    side === 'egress' ? [...p.egress, ...(p.unlistedEgress ?? [])] : [...p.ingress, ...(p.unlistedIngress ?? [])];
  const isolating = policies.filter((p) => p.namespace === self.namespace && (p.policyTypes.includes(type) || rulesOf(p).length > 0) && selects(p.podSelector, self.podLabels));
  if (isolating.length === 0) return 'allow';
  const admitted = isolating.some((p) =>
    rulesOf(p).some(
      (rule) =>
        (rule.ports.length === 0 || rule.ports.some((port) => portMatches(port, flow))) &&
        (rule.peers.length === 0 || rule.peers.some((q) => peerMatches(q, p.namespace, peer, peerIp, side))),
    ),
  );
  return admitted ? 'allow' : 'deny';
}
