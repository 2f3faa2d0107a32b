/**
 * Hand cases for the differential test: one per rule of product.md "Cilium policies" and per
 * departure of netpol.md section 4, each with the verdict Cilium's engine gives (checked
 * against the judge, then against Rampart). Endpoints are the random worlds' cluster:
 * 0 shop/web-1, 1 shop/api-1, 2 shop/db-1, 3 data/db-2, 4 data/api-2, 5 other/web-9,
 * 6 198.51.100.7 (api.example.com), 7 203.0.113.9 (cdn/static.example.org),
 * 8 192.0.2.44 (db.internal.corp), 9 reserved:health.
 */
import { ENDPOINTS } from './cilium-random.js';
import type { WorldCase, WorldEndpoint } from './cilium-worlds.js';

export interface HandCase {
  readonly name: string;
  readonly policies: readonly unknown[];
  readonly endpoints: readonly WorldEndpoint[];
  readonly case: WorldCase;
  readonly side: 'egress' | 'ingress';
  readonly expect: 'allow' | 'deny';
}

const WEB = 0, API = 1, DB = 2, DB2 = 3, OTHER_WEB = 5, EXT_API = 6, EXT_CDN = 7, EXT_CORP = 8, HEALTH = 9;

const cnp = (name: string, spec: Record<string, unknown>, namespace = 'shop'): unknown => ({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec });
const ccnp = (name: string, spec: Record<string, unknown>): unknown => ({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name }, spec });
const np = (name: string, spec: Record<string, unknown>, namespace = 'shop'): unknown => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec });
const api = { matchLabels: { app: 'api' } };
const web = { matchLabels: { app: 'web' } };
const tcp = (src: number, dst: number, port: number): WorldCase => ({ src, dst, proto: 'TCP', port });

function hand(name: string, policies: unknown[], c: WorldCase, side: 'egress' | 'ingress', expect: 'allow' | 'deny'): HandCase {
  return { name, policies, endpoints: ENDPOINTS, case: c, side, expect };
}

const webEgress = (rule: Record<string, unknown>): unknown => cnp('web-out', { endpointSelector: web, egress: [rule] });
const apiIngress = (rule: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown => cnp('api-in', { endpointSelector: api, ingress: [rule], ...extra });

export const HAND_CASES: readonly HandCase[] = [
  // isolation per direction, enableDefaultDeny
  hand('isolation: a CNP with ingress rules isolates ingress', [apiIngress({ fromEndpoints: [web] })], tcp(DB, API, 80), 'ingress', 'deny'),
  hand('isolation: …and not egress', [apiIngress({ fromEndpoints: [web] })], tcp(API, DB, 80), 'egress', 'allow'),
  hand('enableDefaultDeny: false does not isolate', [apiIngress({ fromEndpoints: [web] }, { enableDefaultDeny: { ingress: false } })], tcp(DB, API, 80), 'ingress', 'allow'),
  hand('isolation: a deny-only CNP isolates too', [cnp('deny-only', { endpointSelector: api, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'db' } }] }] })], tcp(WEB, API, 80), 'ingress', 'deny'),
  hand('isolation: a deny-only CNP with enableDefaultDeny false only denies', [cnp('deny-only', { endpointSelector: api, enableDefaultDeny: { ingress: false }, ingressDeny: [{ fromEndpoints: [{ matchLabels: { app: 'db' } }] }] })], tcp(WEB, API, 80), 'ingress', 'allow'),
  hand('isolation: an empty CNP rule admits nothing', [cnp('empty-rule', { endpointSelector: api, ingress: [{}] })], tcp(WEB, API, 80), 'ingress', 'deny'),
  hand('isolation: fromEndpoints: [] selects nothing', [apiIngress({ fromEndpoints: [] })], tcp(WEB, API, 80), 'ingress', 'deny'),
  // deny precedence
  hand('deny wins over a NetworkPolicy allow', [np('all-in', { podSelector: {}, ingress: [{}] }), cnp('no-web', { endpointSelector: api, ingressDeny: [{ fromEndpoints: [web] }] })], tcp(WEB, API, 80), 'ingress', 'deny'),
  hand('deny wins over a CNP allow of the same peer on its port', [apiIngress({ fromEndpoints: [web] }), cnp('no-8080', { endpointSelector: api, ingressDeny: [{ fromEndpoints: [web], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] })], tcp(WEB, API, 8080), 'ingress', 'deny'),
  hand('deny on one port leaves the others', [apiIngress({ fromEndpoints: [web] }), cnp('no-8080', { endpointSelector: api, ingressDeny: [{ fromEndpoints: [web], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }] }] }] })], tcp(WEB, API, 80), 'ingress', 'allow'),
  hand('a CCNP deny wins over a CNP allow', [apiIngress({ fromEndpoints: [web] }), ccnp('no-web-anywhere', { endpointSelector: {}, ingressDeny: [{ fromEndpoints: [web] }] })], tcp(WEB, API, 80), 'ingress', 'deny'),
  hand('egressDeny to the world on a port', [cnp('no-plain-http', { endpointSelector: web, egress: [{ toEntities: ['all'] }], egressDeny: [{ toEntities: ['world'], toPorts: [{ ports: [{ port: '80' , protocol: 'TCP' }] }] }] })], tcp(WEB, EXT_API, 80), 'egress', 'deny'),
  // namespace confinement
  hand('fromEndpoints is confined to the CNP\'s namespace', [apiIngress({ fromEndpoints: [web] })], tcp(OTHER_WEB, API, 80), 'ingress', 'deny'),
  hand('…within it, it admits', [apiIngress({ fromEndpoints: [web] })], tcp(WEB, API, 80), 'ingress', 'allow'),
  hand('…unless it names a namespace label', [apiIngress({ fromEndpoints: [{ matchLabels: { 'io.cilium.k8s.namespace.labels.team': 'c' } }] })], tcp(OTHER_WEB, API, 80), 'ingress', 'allow'),
  hand('…or the namespace', [apiIngress({ fromEndpoints: [{ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'other', app: 'web' } }] })], tcp(OTHER_WEB, API, 80), 'ingress', 'allow'),
  hand('a CCNP\'s fromEndpoints reaches every namespace', [ccnp('web-everywhere', { endpointSelector: api, ingress: [{ fromEndpoints: [web] }] })], tcp(OTHER_WEB, API, 80), 'ingress', 'allow'),
  hand('a CCNP\'s fromEndpoints {} is every pod, not the world', [ccnp('pods-only', { endpointSelector: api, ingress: [{ fromEndpoints: [{}] }] })], tcp(EXT_API, API, 80), 'ingress', 'deny'),
  hand('a CNP endpointSelector selects only its namespace', [cnp('api-in', { endpointSelector: api, ingress: [{ fromEndpoints: [web] }] }, 'data')], tcp(DB, API, 80), 'ingress', 'allow'),
  // entities
  hand('entity world admits an external source', [apiIngress({ fromEntities: ['world'] })], tcp(EXT_CDN, API, 443), 'ingress', 'allow'),
  hand('entity cluster admits pods of every namespace', [apiIngress({ fromEntities: ['cluster'] })], tcp(OTHER_WEB, API, 80), 'ingress', 'allow'),
  hand('entity cluster is not the world', [apiIngress({ fromEntities: ['cluster'] })], tcp(EXT_CDN, API, 80), 'ingress', 'deny'),
  hand('entity health admits reserved:health', [apiIngress({ fromEntities: ['health'] })], tcp(HEALTH, API, 4240), 'ingress', 'allow'),
  hand('entity all admits the world', [webEgress({ toEntities: ['all'] })], tcp(WEB, EXT_CORP, 5432), 'egress', 'allow'),
  // CIDR
  hand('toCIDR admits an address inside', [webEgress({ toCIDR: ['198.51.100.0/24'] })], tcp(WEB, EXT_API, 443), 'egress', 'allow'),
  hand('toCIDR denies one outside', [webEgress({ toCIDR: ['198.51.100.0/24'] })], tcp(WEB, EXT_CDN, 443), 'egress', 'deny'),
  hand('toCIDRSet except carves the block', [webEgress({ toCIDRSet: [{ cidr: '0.0.0.0/0', except: ['198.51.100.0/24'] }] })], tcp(WEB, EXT_API, 443), 'egress', 'deny'),
  hand('toCIDRSet admits the rest', [webEgress({ toCIDRSet: [{ cidr: '0.0.0.0/0', except: ['198.51.100.0/24'] }] })], tcp(WEB, EXT_CDN, 443), 'egress', 'allow'),
  hand('toCIDR never matches a pod', [webEgress({ toCIDR: ['10.0.0.0/8'] })], tcp(WEB, API, 80), 'egress', 'deny'),
  // FQDN
  hand('toFQDNs matchName admits the named destination', [webEgress({ toFQDNs: [{ matchName: 'api.example.com' }] })], tcp(WEB, EXT_API, 443), 'egress', 'allow'),
  hand('toFQDNs matchName denies another name', [webEgress({ toFQDNs: [{ matchName: 'api.example.com' }] })], tcp(WEB, EXT_CDN, 443), 'egress', 'deny'),
  hand('toFQDNs matchPattern *.example.org', [webEgress({ toFQDNs: [{ matchPattern: '*.example.org' }] })], tcp(WEB, EXT_CDN, 443), 'egress', 'allow'),
  hand('toFQDNs matchPattern **.corp spans labels', [webEgress({ toFQDNs: [{ matchPattern: '**.corp' }] })], tcp(WEB, EXT_CORP, 443), 'egress', 'allow'),
  hand('toFQDNs never matches a pod', [webEgress({ toFQDNs: [{ matchPattern: '*' }] })], tcp(WEB, API, 443), 'egress', 'deny'),
  // ports
  hand('endPort is inclusive', [apiIngress({ fromEntities: ['all'], toPorts: [{ ports: [{ port: '8000', endPort: 8080, protocol: 'TCP' }] }] })], tcp(WEB, API, 8080), 'ingress', 'allow'),
  hand('…and bounds the range', [apiIngress({ fromEntities: ['all'], toPorts: [{ ports: [{ port: '8000', endPort: 8080, protocol: 'TCP' }] }] })], tcp(WEB, API, 9090), 'ingress', 'deny'),
  hand('protocol ANY admits UDP', [apiIngress({ toPorts: [{ ports: [{ port: '53', protocol: 'ANY' }] }] })], { src: WEB, dst: API, proto: 'UDP', port: 53 }, 'ingress', 'allow'),
  hand('protocol ANY is not ICMP', [apiIngress({ toPorts: [{ ports: [{ port: '0', protocol: 'ANY' }] }] })], { src: WEB, dst: API, proto: 'ICMP', port: 8 }, 'ingress', 'deny'),
  hand('a rule without ports admits ICMP', [apiIngress({ fromEndpoints: [web] })], { src: WEB, dst: API, proto: 'ICMP', port: 8 }, 'ingress', 'allow'),
  hand('icmps admits the ICMP type', [apiIngress({ fromEndpoints: [web], icmps: [{ fields: [{ type: 'EchoRequest', family: 'IPv4' }] }] })], { src: WEB, dst: API, proto: 'ICMP', port: 8 }, 'ingress', 'allow'),
  hand('icmps type 0 (EchoReply) is every ICMP type in Cilium\'s map', [apiIngress({ fromEndpoints: [web], icmps: [{ fields: [{ type: 0 }] }] })], { src: WEB, dst: API, proto: 'ICMP', port: 8 }, 'ingress', 'allow'),
  hand('a CNP endpointSelector naming another namespace is put back in its own', [cnp('api-in', { endpointSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'data' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'db' } }] }] })], tcp(WEB, API, 80), 'ingress', 'deny'),
  hand('icmps does not admit TCP', [apiIngress({ fromEndpoints: [web], icmps: [{ fields: [{ type: 8 }] }] })], tcp(WEB, API, 80), 'ingress', 'deny'),
  hand('L7 rules admit the connection at L4', [apiIngress({ fromEndpoints: [web], toPorts: [{ ports: [{ port: '8080', protocol: 'TCP' }], rules: { http: [{ method: 'GET', path: '/health' }] } }] })], tcp(WEB, API, 8080), 'ingress', 'allow'),
  hand('a CNP ingress named port resolves on the pod', [apiIngress({ fromEndpoints: [web], toPorts: [{ ports: [{ port: 'http', protocol: 'TCP' }] }] })], tcp(WEB, API, 8080), 'ingress', 'allow'),
  // NetworkPolicies as Cilium translates them (netpol.md section 4)
  hand('4.1: rules of a direction missing from policyTypes are enforced', [np('typed', { podSelector: api, policyTypes: ['Ingress'], ingress: [{}], egress: [{ to: [{ podSelector: web }] }] })], tcp(API, DB, 5432), 'egress', 'deny'),
  hand('4.2: an ingress ipBlock peer admits the policy\'s namespace', [np('from-cidr', { podSelector: api, ingress: [{ from: [{ ipBlock: { cidr: '192.0.2.0/24' } }] }] })], tcp(DB, API, 80), 'ingress', 'allow'),
  hand('4.2: …but no other namespace', [np('from-cidr', { podSelector: api, ingress: [{ from: [{ ipBlock: { cidr: '192.0.2.0/24' } }] }] })], tcp(DB2, API, 80), 'ingress', 'deny'),
  hand('4.3: an egress named port with two numbers in the cluster opens nothing', [np('metrics-out', { podSelector: web, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'metrics' }] }] })], tcp(WEB, API, 9090), 'egress', 'deny'),
  hand('4.3: an egress named port with one number opens it toward the world', [np('pg-out', { podSelector: web, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 'pg' }] }] })], tcp(WEB, EXT_API, 5432), 'egress', 'allow'),
  hand('NetworkPolicy default deny with a CNP allow beside it', [np('default-deny', { podSelector: {} }), apiIngress({ fromEndpoints: [web] })], tcp(WEB, API, 80), 'ingress', 'allow'),
];
