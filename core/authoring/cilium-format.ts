/**
 * `rampart suggest --format cilium`: the suggested NetworkPolicies written as
 * CiliumNetworkPolicies that admit the same connections under Cilium's engine. Per policy:
 * `podSelector` becomes `endpointSelector`; each rule is split by kind of peer (Cilium refuses
 * two kinds in one rule); pod peers become `fromEndpoints`/`toEndpoints` (a namespace selected
 * by name becomes `k8s:io.kubernetes.pod.namespace`, other namespace labels the
 * `io.cilium.k8s.namespace.labels.` keys); a /32 ipBlock becomes `toFQDNs` with the names
 * Hubble attached to that address (`destination_names`) where it did, else `toCIDR`; a
 * default deny becomes a rule that admits nothing (`[{}]`: in Cilium an empty rule isolates).
 */
import type { Flow } from '../flow/index.js';
import type { Manifest } from './manifests.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

const NAME_KEY = 'kubernetes.io/metadata.name';

function endpointsOf(peer: Obj): Obj {
  const pod = isObj(peer['podSelector']) ? peer['podSelector'] : {};
  const out: Obj = {};
  const matchLabels: Record<string, string> = { ...(isObj(pod['matchLabels']) ? (pod['matchLabels'] as Record<string, string>) : {}) };
  const matchExpressions: unknown[] = Array.isArray(pod['matchExpressions']) ? [...(pod['matchExpressions'] as unknown[])] : [];
  const ns = peer['namespaceSelector'];
  if (isObj(ns)) {
    const nsLabels = isObj(ns['matchLabels']) ? (ns['matchLabels'] as Record<string, string>) : {};
    for (const [k, v] of Object.entries(nsLabels)) {
      if (k === NAME_KEY) matchLabels['k8s:io.kubernetes.pod.namespace'] = v;
      else matchLabels[`io.cilium.k8s.namespace.labels.${k}`] = v;
    }
    if (Object.keys(nsLabels).length === 0 && !Array.isArray(ns['matchExpressions'])) {
      // `namespaceSelector: {}`: pods of every namespace.
      matchExpressions.push({ key: 'k8s:io.kubernetes.pod.namespace', operator: 'Exists' });
    }
  }
  if (Object.keys(matchLabels).length > 0) out['matchLabels'] = matchLabels;
  if (matchExpressions.length > 0) out['matchExpressions'] = matchExpressions;
  return out;
}

function toPortsOf(ports: unknown): Obj[] | null {
  if (!Array.isArray(ports) || ports.length === 0) return null;
  const list = ports.filter(isObj).map((p) => {
    const entry: Obj = { port: p['port'] === undefined ? '0' : String(p['port']), protocol: typeof p['protocol'] === 'string' ? p['protocol'] : 'TCP' };
    if (typeof p['endPort'] === 'number') entry['endPort'] = p['endPort'];
    return entry;
  });
  return [{ ports: list }];
}

/** The rules of one direction, split by kind of peer. */
function rulesOf(rules: unknown, direction: 'ingress' | 'egress', namesByIp: ReadonlyMap<string, readonly string[]>): Obj[] {
  if (!Array.isArray(rules)) return [];
  const out: Obj[] = [];
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  for (const rule of rules.filter(isObj)) {
    const toPorts = toPortsOf(rule['ports']);
    const withPorts = (r: Obj): Obj => (toPorts === null ? r : { ...r, toPorts });
    const peers = Array.isArray(rule[peersKey]) ? (rule[peersKey] as unknown[]).filter(isObj) : [];
    if (peers.length === 0) {
      // Every peer: in Cilium the `all` entity (a rule with neither peers nor ports admits nothing).
      out.push(withPorts({ [`${peersKey}Entities`]: ['all'] }));
      continue;
    }
    const endpoints = peers.filter((p) => !isObj(p['ipBlock'])).map(endpointsOf);
    if (endpoints.length > 0) out.push(withPorts({ [`${peersKey}Endpoints`]: endpoints }));
    const cidrs: string[] = [];
    const fqdns: string[] = [];
    for (const p of peers) {
      const block = p['ipBlock'];
      if (!isObj(block) || typeof block['cidr'] !== 'string') continue;
      const cidr = block['cidr'];
      const names = direction === 'egress' && cidr.endsWith('/32') ? namesByIp.get(cidr.slice(0, -3)) : undefined;
      if (names !== undefined && names.length > 0) fqdns.push(...names);
      else if (Array.isArray(block['except']) && block['except'].length > 0) out.push(withPorts({ [`${peersKey}CIDRSet`]: [{ cidr, except: block['except'] }] }));
      else cidrs.push(cidr);
    }
    if (cidrs.length > 0) out.push(withPorts({ [`${peersKey}CIDR`]: cidrs }));
    if (fqdns.length > 0) out.push(withPorts({ toFQDNs: [...new Set(fqdns)].sort().map((n) => ({ matchName: n })) }));
  }
  return out;
}

/** The DNS names Hubble attached to each destination IP of the flows (`destination_names`), for toFQDNs. */
export function dnsNamesByIp(flows: Iterable<Flow>): Map<string, string[]> {
  const namesByIp = new Map<string, string[]>();
  for (const f of flows) {
    if (f.ip === null || f.destinationNames === undefined) continue;
    const list = namesByIp.get(f.ip.destination) ?? [];
    for (const n of f.destinationNames) if (!list.includes(n)) list.push(n);
    namesByIp.set(f.ip.destination, list);
  }
  return namesByIp;
}

/** The suggested NetworkPolicy manifests as CiliumNetworkPolicy manifests (same names and namespaces). */
export function asCiliumPolicies(policies: readonly Manifest[], namesByIp: ReadonlyMap<string, readonly string[]>): Manifest[] {
  return policies.map((np) => {
    const meta = isObj(np['metadata']) ? np['metadata'] : {};
    const spec = isObj(np['spec']) ? np['spec'] : {};
    const types = Array.isArray(spec['policyTypes']) ? (spec['policyTypes'] as unknown[]) : ['Ingress'];
    const out: Obj = { endpointSelector: isObj(spec['podSelector']) ? spec['podSelector'] : {} };
    for (const [direction, type] of [['ingress', 'Ingress'], ['egress', 'Egress']] as const) {
      if (!types.includes(type)) continue;
      const rules = rulesOf(spec[direction], direction, namesByIp);
      // A direction the policy isolates with no rule: a Cilium rule that admits nothing.
      out[direction] = rules.length > 0 ? rules : [{}];
    }
    return { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: meta['name'], namespace: meta['namespace'] }, spec: out };
  });
}
