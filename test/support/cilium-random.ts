/**
 * Seeded random worlds for the differential test: a fixed cluster of pods, external IPs (with
 * DNS names) and a health endpoint, a random mix of NetworkPolicy, CNP and CCNP (deny rules,
 * entities, CIDR sets, FQDNs, ANY, ICMP, L7, named ports, enableDefaultDeny, unlisted
 * policyTypes, ingress ipBlocks), and random connections between the endpoints.
 */
import { prng, type World, type WorldCase, type WorldEndpoint } from './cilium-worlds.js';

export const ENDPOINTS: readonly WorldEndpoint[] = [
  { kind: 'pod', namespace: 'shop', name: 'web-1', labels: { app: 'web', tier: 'front' }, ip: '10.0.1.1', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
  { kind: 'pod', namespace: 'shop', name: 'api-1', labels: { app: 'api', tier: 'back' }, ip: '10.0.1.2', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9090, protocol: 'TCP' }] },
  { kind: 'pod', namespace: 'shop', name: 'db-1', labels: { app: 'db', tier: 'back' }, ip: '10.0.1.3', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
  { kind: 'pod', namespace: 'data', name: 'db-2', labels: { app: 'db' }, ip: '10.0.2.1', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] },
  { kind: 'pod', namespace: 'data', name: 'api-2', labels: { app: 'api' }, ip: '10.0.2.2', ports: [{ name: 'metrics', port: 9100, protocol: 'TCP' }] },
  { kind: 'pod', namespace: 'other', name: 'web-9', labels: { app: 'web' }, ip: '10.0.3.1' },
  { kind: 'external', ip: '198.51.100.7', names: ['api.example.com'] },
  { kind: 'external', ip: '203.0.113.9', names: ['cdn.example.org', 'static.example.org'] },
  { kind: 'external', ip: '192.0.2.44', names: ['db.internal.corp'] },
  { kind: 'reserved', name: 'health', ip: '10.0.0.9' },
];
const PODS = ENDPOINTS.map((e, i) => (e.kind === 'pod' ? i : -1)).filter((i) => i >= 0);
const NOT_PODS = ENDPOINTS.map((e, i) => (e.kind !== 'pod' ? i : -1)).filter((i) => i >= 0);
const EXTERNALS = ENDPOINTS.map((e, i) => (e.kind === 'external' ? i : -1)).filter((i) => i >= 0);

const NAMESPACES = ['shop', 'data', 'other'];
const APPS = ['web', 'api', 'db'];
const L4S: ReadonlyArray<Pick<WorldCase, 'proto' | 'port'>> = [
  { proto: 'TCP', port: 80 },
  { proto: 'TCP', port: 8080 },
  { proto: 'TCP', port: 9090 },
  { proto: 'TCP', port: 5432 },
  { proto: 'TCP', port: 443 },
  { proto: 'UDP', port: 53 },
  { proto: 'SCTP', port: 3868 },
  { proto: 'ICMP', port: 8 },
];

type R = () => number;
const pick = <T>(r: R, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const chance = (r: R, p: number): boolean => r() < p;

function podSelector(r: R): Record<string, unknown> {
  switch (Math.floor(r() * 5)) {
    case 0:
      return {};
    case 1:
      return { matchLabels: { app: pick(r, APPS) } };
    case 2:
      return { matchLabels: { tier: pick(r, ['front', 'back']) } };
    case 3:
      return { matchExpressions: [{ key: 'app', operator: pick(r, ['In', 'NotIn']), values: [pick(r, APPS)] }] };
    default:
      return { matchExpressions: [{ key: 'tier', operator: pick(r, ['Exists', 'DoesNotExist']) }] };
  }
}

function npPeer(r: R): Record<string, unknown> {
  switch (Math.floor(r() * 5)) {
    case 0:
      return { podSelector: podSelector(r) };
    case 1:
      return { namespaceSelector: chance(r, 0.3) ? {} : { matchLabels: { team: pick(r, ['a', 'b', 'c']) } } };
    case 2:
      return { podSelector: podSelector(r), namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': pick(r, NAMESPACES) } } };
    case 3:
      return { ipBlock: { cidr: pick(r, ['198.51.100.0/24', '0.0.0.0/0', '203.0.113.0/24', '10.0.0.0/8']) } };
    default:
      return { ipBlock: { cidr: '0.0.0.0/0', except: [pick(r, ['198.51.100.0/24', '192.0.2.0/24'])] } };
  }
}

function npPorts(r: R): unknown[] | undefined {
  if (chance(r, 0.35)) return undefined;
  const out: unknown[] = [];
  const n = 1 + Math.floor(r() * 2);
  for (let i = 0; i < n; i++) {
    switch (Math.floor(r() * 6)) {
      case 0:
        out.push({ port: pick(r, [80, 8080, 5432, 443]) });
        break;
      case 1:
        out.push({ port: 8000, endPort: pick(r, [8080, 9090]) });
        break;
      case 2:
        out.push({ protocol: 'UDP', port: 53 });
        break;
      case 3:
        out.push({ protocol: pick(r, ['TCP', 'UDP', 'SCTP']) });
        break;
      case 4:
        out.push({ port: pick(r, ['http', 'metrics', 'pg']) });
        break;
      default:
        out.push({ protocol: 'SCTP', port: 3868 });
    }
  }
  return out;
}

function networkPolicy(r: R, i: number): Record<string, unknown> {
  const spec: Record<string, unknown> = { podSelector: podSelector(r) };
  const rules = (key: 'from' | 'to'): unknown[] =>
    Array.from({ length: Math.floor(r() * 3) }, () => {
      const rule: Record<string, unknown> = {};
      if (chance(r, 0.75)) rule[key] = Array.from({ length: 1 + Math.floor(r() * 2) }, () => npPeer(r));
      const ports = npPorts(r);
      if (ports !== undefined) rule['ports'] = ports;
      return rule;
    });
  if (chance(r, 0.7)) spec['ingress'] = rules('from');
  if (chance(r, 0.6)) spec['egress'] = rules('to');
  if (chance(r, 0.6)) spec['policyTypes'] = pick(r, [['Ingress'], ['Egress'], ['Ingress', 'Egress']]);
  return { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `np-${i}`, namespace: pick(r, NAMESPACES) }, spec };
}

function ciliumSelector(r: R, clusterwide: boolean): Record<string, unknown> {
  switch (Math.floor(r() * (clusterwide ? 7 : 6))) {
    case 0:
      return {};
    case 1:
      return { matchLabels: { app: pick(r, APPS) } };
    case 2:
      return { matchLabels: { 'k8s:app': pick(r, APPS) } };
    case 3:
      return { matchLabels: { 'k8s:io.kubernetes.pod.namespace': pick(r, NAMESPACES) } };
    case 4:
      return { matchLabels: { 'io.cilium.k8s.namespace.labels.team': pick(r, ['a', 'b', 'c']) } };
    case 5: {
      const operator = pick(r, ['In', 'NotIn', 'Exists', 'DoesNotExist']);
      return { matchExpressions: [operator === 'In' || operator === 'NotIn' ? { key: 'tier', operator, values: ['back'] } : { key: 'tier', operator }] };
    }
    default:
      return { matchLabels: { app: pick(r, APPS), 'k8s:io.kubernetes.pod.namespace': pick(r, NAMESPACES) } };
  }
}

function ciliumPorts(r: R, deny: boolean): Record<string, unknown> {
  if (chance(r, 0.15)) return { icmps: [{ fields: [{ type: pick(r, [8, 'EchoRequest', 0]), family: 'IPv4' }] }] };
  const ports = Array.from({ length: 1 + Math.floor(r() * 2) }, () => {
    switch (Math.floor(r() * 6)) {
      case 0:
        return { port: String(pick(r, [80, 8080, 5432, 443])), protocol: pick(r, ['TCP', 'ANY']) };
      case 1:
        return { port: '8000', endPort: pick(r, [8080, 9090]), protocol: 'TCP' };
      case 2:
        return { port: '53', protocol: pick(r, ['UDP', 'ANY']) };
      case 3:
        return { port: '0', protocol: pick(r, ['TCP', 'UDP', 'SCTP', 'ANY']) };
      case 4:
        return { port: pick(r, ['http', 'metrics', 'pg']), protocol: 'TCP' };
      default:
        return { port: '3868', protocol: 'SCTP' };
    }
  });
  const rule: Record<string, unknown> = { ports };
  // L7 rules (HTTP) admit the connection at L4: only on TCP entries, never in deny rules.
  if (!deny && chance(r, 0.2) && ports.every((p) => p.protocol === 'TCP' && p.port !== '0')) rule['rules'] = { http: [{ method: 'GET', path: '/' }] };
  return { toPorts: [rule] };
}

function ciliumRule(r: R, ingress: boolean, deny: boolean, clusterwide: boolean): Record<string, unknown> {
  const rule: Record<string, unknown> = {};
  const dir = ingress ? 'from' : 'to';
  const kinds = ['Endpoints', 'Entities', 'CIDR', 'CIDRSet', 'none', ...(ingress || deny ? [] : ['FQDNs', 'FQDNs'])];
  const kind = pick(r, kinds);
  switch (kind) {
    case 'Endpoints':
      rule[`${dir}Endpoints`] = chance(r, 0.05) ? [] : Array.from({ length: 1 + Math.floor(r() * 2) }, () => ciliumSelector(r, clusterwide));
      break;
    case 'Entities':
      rule[`${dir}Entities`] = [pick(r, ['world', 'cluster', 'all', 'health', 'world-ipv4', 'none'])];
      break;
    case 'CIDR':
      rule[`${dir}CIDR`] = [pick(r, ['198.51.100.0/24', '0.0.0.0/0', '203.0.113.9/32', '10.0.0.0/8'])];
      break;
    case 'CIDRSet':
      rule[`${dir}CIDRSet`] = [{ cidr: '0.0.0.0/0', except: [pick(r, ['198.51.100.0/24', '203.0.113.0/24'])] }];
      break;
    case 'FQDNs':
      rule['toFQDNs'] = [pick(r, [{ matchName: 'api.example.com' }, { matchPattern: '*.example.org' }, { matchPattern: '*' }, { matchName: 'nothing.example.net' }, { matchPattern: '**.corp' }])];
      break;
  }
  if (kind === 'none' || chance(r, 0.6)) Object.assign(rule, ciliumPorts(r, deny));
  return rule;
}

function ciliumSpec(r: R, clusterwide: boolean): Record<string, unknown> {
  const spec: Record<string, unknown> = { endpointSelector: ciliumSelector(r, clusterwide) };
  const n = (p: number): number => (chance(r, p) ? 1 + Math.floor(r() * 2) : 0);
  const lists: Array<[string, number, boolean, boolean]> = [
    ['ingress', n(0.6), true, false],
    ['ingressDeny', n(0.25), true, true],
    ['egress', n(0.55), false, false],
    ['egressDeny', n(0.25), false, true],
  ];
  // Cilium refuses a spec without rules: keep at least one list.
  if (lists.every(([, count]) => count === 0)) lists[Math.floor(r() * 4)]![1] = 1;
  for (const [key, count, ingress, deny] of lists) if (count > 0) spec[key] = Array.from({ length: count }, () => ciliumRule(r, ingress, deny, clusterwide));
  if (chance(r, 0.15)) spec['enableDefaultDeny'] = { ingress: chance(r, 0.5), egress: chance(r, 0.5) };
  return spec;
}

function ciliumPolicy(r: R, i: number, clusterwide: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = chance(r, 0.15) ? { specs: [ciliumSpec(r, clusterwide), ciliumSpec(r, clusterwide)] } : { spec: ciliumSpec(r, clusterwide) };
  return clusterwide
    ? { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: `ccnp-${i}` }, ...body }
    : { apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: `cnp-${i}`, namespace: pick(r, NAMESPACES) }, ...body };
}

/** One random world: 1–4 policies of any kind and `cases` random connections. */
export function randomWorld(seed: number, cases: number): World {
  const r = prng(seed);
  const policies = Array.from({ length: 1 + Math.floor(r() * 4) }, (_, i) => {
    const k = r();
    return k < 0.4 ? networkPolicy(r, i) : k < 0.8 ? ciliumPolicy(r, i, false) : ciliumPolicy(r, i, true);
  });
  const list: WorldCase[] = [];
  for (let i = 0; i < cases; i++) {
    // Most connections are pod to pod; some go out to the world or come in from it (or from health).
    const k = r();
    const src = k < 0.75 ? pick(r, PODS) : k < 0.9 ? pick(r, PODS) : pick(r, NOT_PODS);
    const dst = k < 0.75 ? pick(r, PODS) : k < 0.9 ? pick(r, EXTERNALS) : pick(r, PODS);
    list.push({ src, dst, ...pick(r, L4S) });
  }
  return { policies, endpoints: ENDPOINTS, cases: list };
}
