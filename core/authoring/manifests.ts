/**
 * Writing NetworkPolicy manifests (plain objects, as they go into `spec.policies`) from side
 * edges: peers, ports and rules, grouped so that a rule's peers × ports cross product is
 * exactly what was observed (peers share a rule only when they use the same port set), and
 * split so every list stays within the RampContract CRD's bounds (core/contract limits).
 */
import { CONTRACT_LIMITS } from '../contract/index.js';
import type { PolicyProtocol } from '../policy/index.js';
import { peerKey, type Direction, type PeerRef, type SideEdge } from './observe.js';

export type Manifest = Record<string, unknown>;
export type Selector = Readonly<Record<string, string>>;

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

export interface PortEntry {
  readonly protocol: PolicyProtocol;
  readonly port: number;
}

/** A peer and the ports it needs; `ports: null` means every port (a protocol without ports was seen). */
export interface PeerNeed {
  readonly peer: PeerRef;
  readonly ports: readonly PortEntry[] | null;
}

/**
 * The ports each peer of `edges` needs, by peerKey in first-seen order: every distinct
 * protocol/port, or every port (null) once a protocol without ports was seen.
 */
export function needsByPeer(edges: Iterable<Pick<SideEdge, 'peer' | 'protocol' | 'port'>>): Map<string, PeerNeed> {
  const byPeer = new Map<string, { peer: PeerRef; ports: Map<string, PortEntry> | null }>();
  for (const e of edges) {
    const k = peerKey(e.peer);
    let n = byPeer.get(k);
    if (n === undefined) {
      n = { peer: e.peer, ports: new Map() };
      byPeer.set(k, n);
    }
    if (e.protocol === null) n.ports = null;
    else if (n.ports !== null) n.ports.set(`${e.protocol}/${e.port}`, { protocol: e.protocol, port: e.port });
  }
  const needs = new Map<string, PeerNeed>();
  for (const [k, n] of byPeer) needs.set(k, { peer: n.peer, ports: n.ports === null ? null : [...n.ports.values()] });
  return needs;
}

export function peerManifest(peer: PeerRef, policyNamespace: string, selectorOf: (workload: string) => Selector): Manifest | null {
  switch (peer.kind) {
    case 'cidr':
      return { ipBlock: { cidr: peer.cidr } };
    case 'any':
      return null;
    case 'workload': {
      const podSelector = { matchLabels: { ...selectorOf(peer.workload) } };
      if (peer.namespace === policyNamespace) return { podSelector };
      return { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } }, podSelector };
    }
  }
}

export const portManifest = (p: PortEntry): Manifest => ({ protocol: p.protocol, port: p.port });

export function comparePorts(a: PortEntry, b: PortEntry): number {
  return a.protocol < b.protocol ? -1 : a.protocol > b.protocol ? 1 : a.port - b.port;
}

const chunk = <T>(list: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += size) out.push(list.slice(i, i + size));
  return out;
};

/**
 * Rules for one direction of one workload. Peers with the same port set share a rule; a peer
 * that needs every port (ICMP seen) gets a rule without ports; a peer that no selector or
 * ipBlock can name (`any`) gets a rule without peers, on its ports only.
 */
export function rulesFor(direction: Direction, needs: readonly PeerNeed[], policyNamespace: string, selectorOf: (workload: string) => Selector): Manifest[] {
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  const groups = new Map<string, { ports: readonly PortEntry[] | null; peers: Manifest[]; any: boolean }>();
  for (const need of needs) {
    const ports = need.ports === null ? null : [...need.ports].sort(comparePorts);
    const m = peerManifest(need.peer, policyNamespace, selectorOf);
    const key = `${m === null ? 'any' : 'peers'}|${ports === null ? '*' : ports.map((p) => `${p.protocol}/${p.port}`).join(',')}`;
    let g = groups.get(key);
    if (g === undefined) {
      g = { ports, peers: [], any: m === null };
      groups.set(key, g);
    }
    if (m !== null) g.peers.push(m);
  }
  const rules: Manifest[] = [];
  const keys = [...groups.keys()].sort();
  for (const key of keys) {
    const g = groups.get(key)!;
    const portChunks = g.ports === null ? [null] : chunk(g.ports.map(portManifest), CONTRACT_LIMITS.portsPerRule);
    const peerChunks = g.any ? [null] : chunk(g.peers, CONTRACT_LIMITS.peersPerRule);
    for (const peers of peerChunks) {
      for (const ports of portChunks) {
        const rule: Manifest = {};
        if (peers !== null) rule[peersKey] = peers;
        if (ports !== null) rule['ports'] = ports;
        rules.push(rule);
      }
    }
  }
  return rules;
}

export function networkPolicy(namespace: string, name: string, podSelector: Selector, spec: { ingress?: Manifest[]; egress?: Manifest[] }, annotations?: Record<string, string>): Manifest {
  const types: string[] = [];
  if (spec.ingress !== undefined) types.push('Ingress');
  if (spec.egress !== undefined) types.push('Egress');
  const body: Manifest = { podSelector: Object.keys(podSelector).length === 0 ? {} : { matchLabels: { ...podSelector } }, policyTypes: types };
  if (spec.ingress !== undefined) body['ingress'] = spec.ingress;
  if (spec.egress !== undefined) body['egress'] = spec.egress;
  const metadata: Manifest = { name, namespace };
  if (annotations !== undefined && Object.keys(annotations).length > 0) metadata['annotations'] = annotations;
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec: body };
}

/** Splits a workload's rules over as many policies as the CRD's per-direction bound needs. */
export function splitPolicies(namespace: string, baseName: string, podSelector: Selector, ingress: Manifest[], egress: Manifest[], annotations?: Record<string, string>): Manifest[] {
  const max = CONTRACT_LIMITS.rulesPerDirection;
  const n = Math.max(Math.ceil(ingress.length / max), Math.ceil(egress.length / max), 1);
  const out: Manifest[] = [];
  for (let i = 0; i < n; i++) {
    const ing = ingress.slice(i * max, (i + 1) * max);
    const eg = egress.slice(i * max, (i + 1) * max);
    out.push(
      networkPolicy(namespace, i === 0 ? baseName : `${baseName}-${i + 1}`, podSelector, { ...(ing.length > 0 ? { ingress: ing } : {}), ...(eg.length > 0 ? { egress: eg } : {}) }, annotations),
    );
  }
  return out;
}

/** A DNS-1123 label from any text (lowercase, [a-z0-9-], at most 63 characters). */
export function dnsLabel(text: string, fallback = 'policy'): string {
  const s = text
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/g, '');
  return s === '' ? fallback : s;
}
