/**
 * The NetworkPolicy engine against netpol.md: one named case per rule and per pitfall
 * (section 2, numbered as there) and per choice of section 3.
 */
import { describe, expect, it } from 'vitest';
import type { Flow } from '../../../../core/flow/index.js';
import { parseNetworkPolicy, type ClusterNamedPortResolver, type EvaluatedSides, type NamedPortResolver, type NetworkPolicy, type SideVerdict } from '../../../../core/policy/index.js';
import { aPod, anExternal, anUnknown, aReserved, icmpv4, sctp, tcp, udp } from '../../../support/builders.js';
import { BOTH, conn, evaluate, np, podWithoutNamespaceLabels, pods } from './helpers.js';

const { web, api, db, otherWeb, dns } = pods;
const toWorld = (ip: string, l4: Flow['l4'] = tcp(443)): Flow => conn(web, anExternal(), l4, { source: '10.0.1.1', destination: ip, version: 4 });
const fromWorld = (ip: string, l4: Flow['l4'] = tcp(8080)): Flow => conn(anExternal(), api, l4, { source: ip, destination: '10.0.1.2', version: 4 });

const defaultDenyIngress = np('shop', 'default-deny', { podSelector: {} });
const defaultDenyAll = np('shop', 'default-deny-all', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
const apiIngressFrom = (name: string, from: unknown[], ports?: unknown[]): NetworkPolicy =>
  np('shop', name, { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from, ...(ports ? { ports } : {}) }] });
const apiNamedIngress = (name: string, ports: unknown[]): NetworkPolicy => np('shop', name, { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ ports }] });
const webEgress = (name: string, rule: Record<string, unknown>): NetworkPolicy =>
  np('shop', name, { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [rule] });

interface Case {
  readonly name: string;
  readonly policies: readonly NetworkPolicy[];
  readonly flow: Flow;
  readonly sides?: EvaluatedSides;
  readonly resolver?: NamedPortResolver;
  readonly clusterPorts?: ClusterNamedPortResolver;
  readonly verdict: SideVerdict;
  readonly egress?: SideVerdict | 'none';
  readonly ingress?: SideVerdict | 'none';
  readonly policyRefs?: readonly string[];
}

function check(c: Case): void {
  const e = evaluate(c.policies, c.flow, c.sides ?? BOTH, c.resolver, c.clusterPorts);
  expect({ verdict: e.verdict, egress: e.egress, ingress: e.ingress }, e.reason).toMatchObject({
    verdict: c.verdict,
    ...(c.egress ? { egress: c.egress } : {}),
    ...(c.ingress ? { ingress: c.ingress } : {}),
  });
  if (c.policyRefs) expect([...e.policies].sort()).toEqual([...c.policyRefs].sort());
  // Policy order never matters (rule 5, pitfall 23).
  const reversed = evaluate([...c.policies].reverse(), c.flow, c.sides ?? BOTH, c.resolver, c.clusterPorts);
  expect(reversed.verdict).toBe(e.verdict);
}

/** A resolver over a small pod → ports table: `ns/pod` → name/protocol → number. */
function resolverOf(table: Record<string, Record<string, number>>): NamedPortResolver & { calls: string[] } {
  const calls: string[] = [];
  const fn = (ns: string, pod: string, name: string, protocol: string): number | null | undefined => {
    calls.push(`${ns}/${pod}:${name}/${protocol}`);
    const ports = table[`${ns}/${pod}`];
    if (ports === undefined) return undefined;
    return ports[`${name}/${protocol}`] ?? null;
  };
  return Object.assign(fn, { calls });
}

describe('rules of netpol.md section 1', () => {
  it.each<Case>([
    { name: 'rule 5: no policy selects either pod → allow', policies: [], flow: conn(web, api, tcp(8080)), verdict: 'allow', egress: 'allow', ingress: 'allow', policyRefs: [] },
    { name: 'rule 4: default-deny isolates ingress of every pod in its namespace', policies: [defaultDenyIngress], flow: conn(web, api, tcp(8080)), verdict: 'deny', egress: 'allow', ingress: 'deny', policyRefs: ['shop/default-deny'] },
    { name: 'rule 1: a policy never affects pods of another namespace', policies: [np('other', 'deny', { podSelector: {} })], flow: conn(web, api, tcp(8080)), verdict: 'allow' },
    { name: 'rule 9: ingress: [{}] allows everything', policies: [np('shop', 'all', { podSelector: {}, ingress: [{}] })], flow: conn(otherWeb, api, udp(5353)), verdict: 'allow', policyRefs: ['shop/all'] },
    { name: 'rule 9: ingress: [] allows nothing', policies: [np('shop', 'none', { podSelector: {}, ingress: [] })], flow: conn(web, api, tcp(80)), verdict: 'deny' },
    {
      name: 'rule 8: a rule admits ports AND peers, nothing cross-multiplied between rules',
      policies: [
        np('shop', 'two-rules', {
          podSelector: { matchLabels: { app: 'api' } },
          ingress: [
            { from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 80 }] },
            { from: [{ podSelector: { matchLabels: { app: 'db' } } }], ports: [{ port: 5432 }] },
          ],
        }),
      ],
      flow: conn(web, api, tcp(5432)),
      verdict: 'deny',
    },
    { name: 'rule 10: from items are ORed', policies: [apiIngressFrom('or', [{ podSelector: { matchLabels: { app: 'db' } } }, { podSelector: { matchLabels: { app: 'web' } } }])], flow: conn(web, api, tcp(1)), verdict: 'allow' },
    { name: 'rule 12: namespaceSelector alone admits every pod of matching namespaces', policies: [apiIngressFrom('team-b', [{ namespaceSelector: { matchLabels: { team: 'b' } } }])], flow: conn(otherWeb, api, tcp(80)), verdict: 'allow' },
    {
      name: 'rule 21: kubernetes.io/metadata.name selects a namespace by name',
      policies: [apiIngressFrom('by-name', [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'other' } } }])],
      flow: conn(otherWeb, api, tcp(80)),
      verdict: 'allow',
    },
  ])('$name', check);
});

describe('the 25 pitfalls of netpol.md section 2', () => {
  const dnsEgress = webEgress('allow-dns', { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }], ports: [{ port: 53 }] });
  const namedHttp = resolverOf({ 'shop/api-1': { 'http/TCP': 8080 }, 'shop/web-1': { 'http/TCP': 9090 }, 'shop/api-2': { 'http/TCP': 9090 } });
  const api2 = aPod({ namespace: 'shop', labels: { app: 'api' }, namespaceLabels: { team: 'a' }, name: 'api-2', identity: 1002 });

  it.each<Case>([
    { name: '1: egress rules without policyTypes also isolate ingress', policies: [np('shop', 'egress-only', { podSelector: { matchLabels: { app: 'api' } }, egress: [{}] })], flow: conn(web, api, tcp(8080)), verdict: 'deny', ingress: 'deny', policyRefs: ['shop/egress-only'] },
    { name: '1: …while that policy allows the pod\'s own egress', policies: [np('shop', 'egress-only', { podSelector: { matchLabels: { app: 'web' } }, egress: [{}] })], flow: conn(web, api, tcp(8080)), verdict: 'allow', egress: 'allow' },
    { name: '2: egress: [] does not imply Egress', policies: [np('shop', 'empty-egress', { podSelector: { matchLabels: { app: 'web' } }, egress: [] })], flow: conn(web, api, tcp(8080)), verdict: 'allow', egress: 'allow' },
    { name: '2: policyTypes: [] is defaulted like a missing list', policies: [np('shop', 'pt-empty', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: [], egress: [{ to: [{ ipBlock: { cidr: '1.2.3.4/32' } }] }] })], flow: conn(web, api, tcp(8080)), verdict: 'deny', egress: 'deny' },
    // netpol.md 4.1: the text ignores rules of an unlisted type; Cilium enforces them, and Rampart follows Cilium.
    { name: '3: rules of an unlisted type are enforced by Cilium (Egress-only with ingress rules isolates ingress)', policies: [np('shop', 'egress-typed', { podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Egress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'none' } } }] }] })], flow: conn(web, api, tcp(8080)), verdict: 'deny', ingress: 'deny' },
    { name: '3: …and admit what they admit', policies: [np('shop', 'egress-typed', { podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Egress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] })], flow: conn(web, api, tcp(8080)), verdict: 'allow', ingress: 'allow' },
    { name: '3: an Egress-only policy does not block ingress', policies: [np('shop', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })], flow: conn(otherWeb, api, tcp(8080)), verdict: 'allow' },
    { name: '4: NotIn matches when the key is missing', policies: [apiIngressFrom('notin', [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['data', 'cache'] }] } }])], flow: conn(web, api, tcp(80)), verdict: 'allow' },
    { name: '4: NotIn with several values excludes each (not an OR)', policies: [apiIngressFrom('notin', [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['cache', 'data'] }] } }])], flow: conn(db, api, tcp(80)), verdict: 'deny' },
    { name: '4: DoesNotExist matches when the key is missing', policies: [apiIngressFrom('dne', [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } }])], flow: conn(web, api, tcp(80)), verdict: 'allow' },
    { name: '4: DoesNotExist fails when the key is present', policies: [apiIngressFrom('dne', [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] } }])], flow: conn(db, api, tcp(80)), verdict: 'deny' },
    { name: '5: podSelector + namespaceSelector in one item is AND', policies: [apiIngressFrom('and', [{ namespaceSelector: { matchLabels: { team: 'a' } }, podSelector: { matchLabels: { app: 'web' } } }])], flow: conn(otherWeb, api, tcp(80)), verdict: 'deny' },
    { name: '5: …as two items it is OR', policies: [apiIngressFrom('or', [{ namespaceSelector: { matchLabels: { team: 'a' } } }, { podSelector: { matchLabels: { app: 'web' } } }])], flow: conn(otherWeb, api, tcp(80)), verdict: 'deny' },
    { name: '5: …OR admits a pod of the selected namespace with other labels', policies: [apiIngressFrom('or', [{ namespaceSelector: { matchLabels: { team: 'a' } } }, { podSelector: { matchLabels: { app: 'web' } } }])], flow: conn(db, api, tcp(80)), verdict: 'allow' },
    { name: '5: …OR: the namespace item alone admits a pod of another namespace', policies: [apiIngressFrom('or', [{ namespaceSelector: { matchLabels: { team: 'b' } } }, { podSelector: { matchLabels: { app: 'db' } } }])], flow: conn(otherWeb, api, tcp(80)), verdict: 'allow' },
    { name: '6: a peer podSelector alone means the policy\'s namespace', policies: [apiIngressFrom('same-ns', [{ podSelector: { matchLabels: { app: 'web' } } }])], flow: conn(otherWeb, api, tcp(80)), verdict: 'deny' },
    { name: '6: …and admits the matching pod of that namespace', policies: [apiIngressFrom('same-ns', [{ podSelector: { matchLabels: { app: 'web' } } }])], flow: conn(web, api, tcp(80)), verdict: 'allow' },
    { name: '7: namespaceSelector: {} does not admit external IPs', policies: [apiIngressFrom('all-pods', [{ namespaceSelector: {} }])], flow: fromWorld('203.0.113.9'), verdict: 'deny', egress: 'none', ingress: 'deny' },
    { name: '7: namespaceSelector: {} + podSelector: {} does not either', policies: [apiIngressFrom('all-pods', [{ namespaceSelector: {}, podSelector: {} }])], flow: fromWorld('203.0.113.9'), verdict: 'deny' },
    { name: '7: namespaceSelector: {} admits pods of every namespace', policies: [apiIngressFrom('all-pods', [{ namespaceSelector: {} }])], flow: conn(dns, api, tcp(80)), verdict: 'allow' },
    { name: '7: an omitted from admits external IPs', policies: [np('shop', 'any-from', { podSelector: {}, ingress: [{ ports: [{ port: 8080 }] }] })], flow: fromWorld('203.0.113.9'), verdict: 'allow' },
    { name: '8: ports: [{}] means every TCP port', policies: [np('shop', 'tcp-any', { podSelector: {}, ingress: [{ ports: [{}] }] })], flow: conn(web, api, tcp(31337)), verdict: 'allow' },
    { name: '8: …and no UDP port', policies: [np('shop', 'tcp-any', { podSelector: {}, ingress: [{ ports: [{}] }] })], flow: conn(web, api, udp(53)), verdict: 'deny' },
    { name: '8: egress rule without ports admits every port', policies: [webEgress('to-api', { to: [{ podSelector: { matchLabels: { app: 'api' } } }] })], flow: conn(web, api, udp(9999)), verdict: 'allow' },
    { name: '9: the classic DNS rule without protocol blocks UDP 53', policies: [dnsEgress], flow: conn(web, dns, udp(53)), verdict: 'deny', egress: 'deny', policyRefs: ['shop/allow-dns'] },
    { name: '9: …and admits TCP 53', policies: [dnsEgress], flow: conn(web, dns, tcp(53)), verdict: 'allow', policyRefs: ['shop/allow-dns'] },
    { name: '10: SCTP is not TCP', policies: [np('shop', 'sctp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'SCTP', port: 3868 }] }] })], flow: conn(web, api, tcp(3868)), verdict: 'deny' },
    { name: '10: …an SCTP-only policy admits SCTP', policies: [np('shop', 'sctp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'SCTP', port: 3868 }] }] })], flow: conn(web, api, sctp(3868)), verdict: 'allow' },
    { name: '11: protocol-only entry admits every port of that protocol', policies: [np('shop', 'udp-any', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] })], flow: conn(web, api, udp(40000)), verdict: 'allow' },
    { name: '11: …and nothing else', policies: [np('shop', 'udp-any', { podSelector: {}, ingress: [{ ports: [{ protocol: 'UDP' }] }] })], flow: conn(web, api, tcp(40000)), verdict: 'deny' },
    // Ingress named ports resolve on the selected pod, as the text says (pitfalls 12-14).
    { name: '12: a named ingress port resolves on the selected (destination) pod', policies: [apiNamedIngress('named-in', [{ port: 'http' }])], flow: conn(web, api, tcp(8080)), resolver: namedHttp, verdict: 'allow' },
    { name: '13: a named port must match the container port\'s protocol', policies: [apiNamedIngress('named-udp', [{ port: 'http', protocol: 'UDP' }])], flow: conn(web, api, udp(8080)), resolver: namedHttp, verdict: 'deny' },
    { name: '14: one name, different numbers: api-2 maps http to 9090', policies: [apiNamedIngress('named', [{ port: 'http' }])], flow: conn(web, api2, tcp(9090)), resolver: namedHttp, verdict: 'allow' },
    { name: '14: …so 8080 on api-2 is not admitted (no union)', policies: [apiNamedIngress('named', [{ port: 'http' }])], flow: conn(web, api2, tcp(8080)), resolver: namedHttp, verdict: 'deny' },
    // netpol.md 4.3: Cilium resolves egress named ports over every pod of the cluster.
    { name: '12 (Cilium): an egress named port with one number in the cluster admits it', policies: [webEgress('named', { ports: [{ port: 'http' }] })], flow: conn(web, api, tcp(8080)), clusterPorts: () => 8080, verdict: 'allow' },
    { name: '12 (Cilium): …and no other port', policies: [webEgress('named', { ports: [{ port: 'http' }] })], flow: conn(web, api, tcp(9090)), clusterPorts: () => 8080, verdict: 'deny' },
    { name: '12 (Cilium): …whatever the destination pod maps the name to', policies: [webEgress('named', { ports: [{ port: 'http' }] })], flow: conn(web, api2, tcp(8080)), resolver: namedHttp, clusterPorts: () => 8080, verdict: 'allow' },
    { name: '13 (Cilium): the cluster lookup is by the flow\'s protocol', policies: [webEgress('named-udp', { ports: [{ port: 'http', protocol: 'UDP' }] })], flow: conn(web, api, udp(8080)), clusterPorts: (_n, proto) => (proto === 'TCP' ? 8080 : null), verdict: 'deny' },
    { name: '14 (Cilium): a name with several numbers in the cluster opens nothing', policies: [webEgress('named', { ports: [{ port: 'http' }] })], flow: conn(web, api, tcp(8080)), resolver: namedHttp, clusterPorts: () => null, verdict: 'deny' },
    { name: '16 (Cilium): one number in the cluster opens it toward an external peer of the rule', policies: [webEgress('named-ext', { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 'http' }] })], flow: toWorld('198.51.100.7', tcp(8080)), clusterPorts: () => 8080, verdict: 'allow' },
    { name: '16 (Cilium): …and without the cluster\'s ports it cannot be told', policies: [webEgress('named-ext', { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ port: 'http' }] })], flow: toWorld('198.51.100.7', tcp(8080)), verdict: 'indeterminate' },
    { name: '17: except only carves its own ipBlock (second block in the same to)', policies: [webEgress('blocks', { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }, { ipBlock: { cidr: '10.1.2.0/24' } }] })], flow: toWorld('10.1.2.3'), verdict: 'allow' },
    { name: '17: …the rest of the excepted range stays denied', policies: [webEgress('blocks', { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }, { ipBlock: { cidr: '10.1.2.0/24' } }] })], flow: toWorld('10.1.3.3'), verdict: 'deny' },
    { name: '17: …another policy covering the excepted range allows it', policies: [webEgress('block-a', { to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }), webEgress('block-b', { to: [{ ipBlock: { cidr: '10.1.0.0/16' } }] })], flow: toWorld('10.1.3.3'), verdict: 'allow', policyRefs: ['shop/block-b'] },
    { name: '18: ipBlock never matches a pod IP (Rampart follows Cilium)', policies: [webEgress('cidr', { to: [{ ipBlock: { cidr: '10.0.0.0/8' } }] })], flow: conn(web, api, tcp(8080), { source: '10.0.1.1', destination: '10.0.1.2', version: 4 }), verdict: 'deny' },
    { name: '19: host bits set mean the masked network (broadcast inside)', policies: [webEgress('masked', { to: [{ ipBlock: { cidr: '192.0.2.77/24' } }] })], flow: toWorld('192.0.2.255'), verdict: 'allow' },
    { name: '19: …network address inside', policies: [webEgress('masked', { to: [{ ipBlock: { cidr: '192.0.2.77/24' } }] })], flow: toWorld('192.0.2.0'), verdict: 'allow' },
    { name: '19: …next network outside', policies: [webEgress('masked', { to: [{ ipBlock: { cidr: '192.0.2.77/24' } }] })], flow: toWorld('192.0.3.0'), verdict: 'deny' },
    { name: '19: IPv4 blocks never match IPv6', policies: [webEgress('v4-all', { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] })], flow: conn(web, anExternal(), tcp(443), { source: 'fd00::1', destination: '2001:db8::1', version: 6 }), verdict: 'deny' },
    { name: '19: IPv6 blocks match IPv6 (with except)', policies: [webEgress('v6', { to: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:bad::/48'] } }] })], flow: conn(web, anExternal(), tcp(443), { source: 'fd00::1', destination: '2001:db8:1::1', version: 6 }), verdict: 'allow' },
    { name: '19: …and exclude the IPv6 except', policies: [webEgress('v6', { to: [{ ipBlock: { cidr: '2001:db8::/32', except: ['2001:db8:bad::/48'] } }] })], flow: conn(web, anExternal(), tcp(443), { source: 'fd00::1', destination: '2001:db8:bad:1::1', version: 6 }), verdict: 'deny' },
    { name: '20: endPort is inclusive (upper bound)', policies: [np('shop', 'range', { podSelector: {}, ingress: [{ ports: [{ port: 8000, endPort: 8080 }] }] })], flow: conn(web, api, tcp(8080)), verdict: 'allow' },
    { name: '20: …lower bound', policies: [np('shop', 'range', { podSelector: {}, ingress: [{ ports: [{ port: 8000, endPort: 8080 }] }] })], flow: conn(web, api, tcp(8000)), verdict: 'allow' },
    { name: '20: …not ignored: above the range', policies: [np('shop', 'range', { podSelector: {}, ingress: [{ ports: [{ port: 8000, endPort: 8080 }] }] })], flow: conn(web, api, tcp(8081)), verdict: 'deny' },
    { name: '20: …not ignored: inside the range, not just the first port', policies: [np('shop', 'range', { podSelector: {}, ingress: [{ ports: [{ port: 8000, endPort: 8080 }] }] })], flow: conn(web, api, tcp(8042)), verdict: 'allow' },
    { name: '21: both sides must allow: egress allow never bypasses ingress isolation', policies: [webEgress('egress-all', {}), defaultDenyIngress], flow: conn(web, api, tcp(8080)), verdict: 'deny', egress: 'allow', ingress: 'deny', policyRefs: ['shop/default-deny'] },
    { name: '21: …nor ingress allow the source\'s egress isolation', policies: [webEgress('egress-none', { to: [{ ipBlock: { cidr: '1.1.1.1/32' } }] }), np('shop', 'in-all', { podSelector: {}, ingress: [{}] })], flow: conn(web, api, tcp(8080)), verdict: 'deny', egress: 'deny', ingress: 'allow', policyRefs: ['shop/egress-none'] },
    { name: '22: the destination\'s egress policies are irrelevant', policies: [np('shop', 'api-no-egress', { podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Egress'] })], flow: conn(web, api, tcp(8080)), verdict: 'allow' },
    { name: '22: the source\'s ingress policies are irrelevant', policies: [np('shop', 'web-no-ingress', { podSelector: { matchLabels: { app: 'web' } } })], flow: conn(web, api, tcp(8080)), verdict: 'allow' },
    { name: '22: a policy selecting pod a does nothing to pod b', policies: [np('shop', 'db-only', { podSelector: { matchLabels: { app: 'db' } } })], flow: conn(web, api, tcp(8080)), verdict: 'allow' },
    { name: '23: default-deny + allow for a subset allows that subset', policies: [defaultDenyIngress, apiIngressFrom('web-to-api', [{ podSelector: { matchLabels: { app: 'web' } } }], [{ port: 8080 }])], flow: conn(web, api, tcp(8080)), verdict: 'allow', policyRefs: ['shop/web-to-api'] },
    { name: '23: …and still denies the rest, naming every isolating policy', policies: [defaultDenyIngress, apiIngressFrom('web-to-api', [{ podSelector: { matchLabels: { app: 'web' } } }], [{ port: 8080 }])], flow: conn(db, api, tcp(8080)), verdict: 'deny', policyRefs: ['shop/default-deny', 'shop/web-to-api'] },
    { name: '24: a policy in y never isolates pods in x even when labels match', policies: [np('other', 'api-lockdown', { podSelector: { matchLabels: { app: 'api' } } })], flow: conn(web, api, tcp(8080)), verdict: 'allow' },
    { name: '24: namespaceSelector reads namespace labels, not pod labels', policies: [apiIngressFrom('ns-app', [{ namespaceSelector: { matchLabels: { app: 'web' } } }])], flow: conn(web, api, tcp(80)), verdict: 'deny' },
    { name: '24: podSelector reads pod labels, not namespace labels', policies: [apiIngressFrom('pod-team', [{ podSelector: { matchLabels: { team: 'a' } } }])], flow: conn(web, api, tcp(80)), verdict: 'deny' },
    { name: '25: several matchLabels are ANDed', policies: [apiIngressFrom('and-labels', [{ podSelector: { matchLabels: { app: 'db', tier: 'cache' } } }])], flow: conn(db, api, tcp(80)), verdict: 'deny' },
    { name: '25: matchLabels AND matchExpressions', policies: [apiIngressFrom('mixed', [{ podSelector: { matchLabels: { app: 'db' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['data'] }] } }])], flow: conn(db, api, tcp(80)), verdict: 'allow' },
    { name: '25: matchExpressions are honoured', policies: [apiIngressFrom('expr', [{ podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['cache'] }] } }])], flow: conn(db, api, tcp(80)), verdict: 'deny' },
    { name: '25: Exists matches an empty value', policies: [apiIngressFrom('exists', [{ podSelector: { matchExpressions: [{ key: 'canary', operator: 'Exists' }] } }])], flow: conn(aPod({ namespace: 'shop', labels: { app: 'web', canary: '' }, identity: 1010 }), api, tcp(80)), verdict: 'allow' },
    { name: '25: values are case-sensitive', policies: [apiIngressFrom('case', [{ podSelector: { matchLabels: { app: 'Web' } } }])], flow: conn(web, api, tcp(80)), verdict: 'deny' },
  ])('$name', check);

  it('12: the resolver is asked about the destination pod with the entry protocol', () => {
    const r = resolverOf({ 'shop/api-1': { 'http/TCP': 8080 } });
    evaluate([apiNamedIngress('named', [{ port: 'http' }])], conn(web, api, tcp(8080)), { egress: false, ingress: true }, r);
    expect(r.calls).toEqual(['shop/api-1:http/TCP']);
  });
});

function withoutNamespace(name: string, spec: Record<string, unknown>): NetworkPolicy {
  const r = parseNetworkPolicy({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name }, spec }, '');
  if (!r.ok || r.value.namespaceDefaulted !== true) throw new Error('expected a defaulted namespace');
  return r.value;
}

describe('choices of netpol.md section 3 and product.md', () => {
  const webFromApi = np('shop', 'web-from-api', { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }] });
  it.each<Case>([
    { name: '3.1: ipBlock admits an external peer in the block…', policies: [apiIngressFrom('cidr', [{ ipBlock: { cidr: '10.0.0.0/8' } }])], flow: conn(anExternal(), api, tcp(80), { source: '10.9.9.9', destination: '10.0.1.2', version: 4 }), verdict: 'allow' },
    { name: '3.1: …but never a pod with an IP in the block (of another namespace)', policies: [apiIngressFrom('cidr', [{ ipBlock: { cidr: '10.0.0.0/8' } }])], flow: conn(otherWeb, api, tcp(80), { source: '10.9.9.9', destination: '10.0.1.2', version: 4 }), verdict: 'deny' },
    { name: '4.2 (Cilium): an ingress ipBlock peer also admits every pod of the policy\'s namespace', policies: [apiIngressFrom('cidr', [{ ipBlock: { cidr: '192.0.2.0/24' } }])], flow: conn(web, api, tcp(80)), verdict: 'allow' },
    { name: '4.2 (Cilium): …but not on egress', policies: [webEgress('cidr', { to: [{ ipBlock: { cidr: '192.0.2.0/24' } }] })], flow: conn(web, api, tcp(80)), verdict: 'deny' },
    { name: '3.3: a CIDR with host bits set is evaluated as its masked network', policies: [apiIngressFrom('masked', [{ ipBlock: { cidr: '198.51.100.200/25' } }])], flow: conn(anExternal(), api, tcp(80), { source: '198.51.100.130', destination: '10.0.1.2', version: 4 }), verdict: 'allow' },
    { name: '3.4: a policy without namespace applies in namespace default', policies: [withoutNamespace('deny', {})], flow: conn(web, aPod({ namespace: 'default', labels: { app: 'x' }, identity: 1050 }), tcp(80)), verdict: 'deny', ingress: 'deny', policyRefs: ['default/deny'] },
    { name: '3.2: a pod reaching itself is evaluated like any other flow', policies: [webFromApi], flow: conn(web, web, tcp(8080)), verdict: 'deny', ingress: 'deny' },
    { name: '3.5: ICMP is admitted by a rule without ports', policies: [np('shop', 'from-web', { podSelector: {}, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] })], flow: conn(web, api, icmpv4()), verdict: 'allow' },
    { name: '3.5: ICMP is not admitted by rules with ports', policies: [np('shop', 'tcp', { podSelector: {}, ingress: [{ ports: [{ protocol: 'TCP' }, { protocol: 'UDP' }, { protocol: 'SCTP' }] }] })], flow: conn(web, api, icmpv4()), verdict: 'deny' },
    { name: '3.6: metadata.name is not invented where the flow\'s namespace labels lack it', policies: [apiIngressFrom('by-name', [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } } }])], flow: conn({ ...web, namespaceLabels: { team: 'a' }, identity: 1020 }, api, tcp(80)), verdict: 'deny' },
    { name: '3.7: an external source has no egress side', policies: [defaultDenyAll], flow: fromWorld('203.0.113.1'), verdict: 'deny', egress: 'none', ingress: 'deny' },
    { name: '3.7: an external destination has no ingress side', policies: [webEgress('any', {})], flow: toWorld('203.0.113.1'), verdict: 'allow', egress: 'allow', ingress: 'none' },
    { name: 'sides: only the requested side is evaluated', policies: [defaultDenyIngress], flow: conn(web, api, tcp(8080)), sides: { egress: true, ingress: false }, verdict: 'allow', egress: 'allow', ingress: 'none' },
    { name: 'sides: none requested → allow with both none', policies: [defaultDenyAll], flow: conn(web, api, tcp(8080)), sides: { egress: false, ingress: false }, verdict: 'allow', egress: 'none', ingress: 'none' },
    { name: 'reserved:host → pod is always allowed', policies: [defaultDenyAll], flow: conn(aReserved('host'), api, tcp(8080)), verdict: 'allow', egress: 'none', ingress: 'allow' },
    { name: 'reserved:remote-node → pod is always allowed', policies: [defaultDenyAll], flow: conn(aReserved('remote-node'), api, tcp(10250)), verdict: 'allow', ingress: 'allow' },
    { name: 'pod → reserved:host is always allowed', policies: [defaultDenyAll], flow: conn(web, aReserved('host'), tcp(10250)), verdict: 'allow', egress: 'allow', ingress: 'none' },
    { name: 'reserved:kube-apiserver is matched by ipBlock on its IP', policies: [defaultDenyAll, webEgress('to-apiserver', { to: [{ ipBlock: { cidr: '172.18.0.3/32' } }], ports: [{ port: 6443 }] })], flow: conn(web, aReserved('kube-apiserver'), tcp(6443), { source: '10.0.1.1', destination: '172.18.0.3', version: 4 }), verdict: 'allow' },
    { name: 'reserved:kube-apiserver is not a pod: selectors do not match it', policies: [defaultDenyAll, webEgress('to-pods', { to: [{ namespaceSelector: {} }] })], flow: conn(web, aReserved('kube-apiserver'), tcp(6443), { source: '10.0.1.1', destination: '172.18.0.3', version: 4 }), verdict: 'deny' },
    { name: 'reserved:health is matched only by rules admitting every peer (deny)', policies: [np('shop', 'from-all-pods', { podSelector: {}, ingress: [{ from: [{ namespaceSelector: {} }, { ipBlock: { cidr: '0.0.0.0/0' } }] }] })], flow: conn(aReserved('health'), api, tcp(4240)), verdict: 'deny' },
    { name: 'reserved:health is matched by an empty from (allow); it has no egress side', policies: [np('shop', 'all', { podSelector: {}, ingress: [{}] })], flow: conn(aReserved('health'), api, tcp(4240)), verdict: 'allow', egress: 'none' },
    { name: 'reserved:ingress as a source is not a pod (deny by selectors)', policies: [apiIngressFrom('web-only', [{ podSelector: { matchLabels: { app: 'web' } } }])], flow: conn(aReserved('ingress'), api, tcp(8080)), verdict: 'deny' },
    { name: 'reserved:init peer: its labels are unknown → indeterminate', policies: [apiIngressFrom('web-only', [{ podSelector: { matchLabels: { app: 'web' } } }])], flow: conn(aReserved('init'), api, tcp(8080)), verdict: 'indeterminate', ingress: 'indeterminate' },
    { name: 'reserved:unmanaged destination side is indeterminate when a policy could isolate it', policies: [defaultDenyIngress], flow: conn(web, aReserved('unmanaged'), tcp(8080)), verdict: 'indeterminate', ingress: 'indeterminate' },
    { name: 'unknown peer: selector rules cannot be decided → indeterminate', policies: [apiIngressFrom('web-only', [{ podSelector: { matchLabels: { app: 'web' } } }])], flow: conn(anUnknown(), api, tcp(8080)), verdict: 'indeterminate', ingress: 'indeterminate', policyRefs: ['shop/web-only'] },
    { name: 'unknown peer: a rule admitting every peer decides it', policies: [np('shop', 'port-only', { podSelector: {}, ingress: [{ ports: [{ port: 8080 }] }] })], flow: conn(anUnknown(), api, tcp(8080)), verdict: 'allow' },
    { name: 'unknown peer: the port alone can decide a deny', policies: [np('shop', 'port-only', { podSelector: {}, ingress: [{ from: [{ podSelector: {} }], ports: [{ port: 8080 }] }] })], flow: conn(anUnknown(), api, tcp(9999)), verdict: 'deny' },
    { name: 'unknown peer: a non-isolated side is allowed for sure', policies: [], flow: conn(anUnknown({ id: null }), api, tcp(8080)), verdict: 'allow', egress: 'allow', ingress: 'allow' },
    { name: 'unknown source with a local ID: its egress side is indeterminate when a policy could isolate it', policies: [np('shop', 'web-egress', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'] })], flow: conn(anUnknown({ id: 7, namespace: 'shop' }), api, tcp(8080)), verdict: 'indeterminate', egress: 'indeterminate' },
    { name: 'unknown source in a namespace without egress policies: allowed for sure', policies: [np('other', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })], flow: conn(anUnknown({ id: 7, namespace: 'shop' }), api, tcp(8080)), verdict: 'allow', egress: 'allow' },
    { name: 'unknown source: an empty podSelector selects it whatever its labels', policies: [np('shop', 'deny-egress', { podSelector: {}, policyTypes: ['Egress'] })], flow: conn(anUnknown({ id: 7, namespace: 'shop' }), api, tcp(8080)), verdict: 'deny', egress: 'deny' },
    { name: 'missing namespace labels: a non-empty namespaceSelector is indeterminate, not deny', policies: [apiIngressFrom('team-a', [{ namespaceSelector: { matchLabels: { team: 'a' } } }])], flow: conn(podWithoutNamespaceLabels('shop', { app: 'web' }, 1030), api, tcp(80)), verdict: 'indeterminate', ingress: 'indeterminate' },
    { name: 'missing namespace labels: namespaceSelector {} still matches', policies: [apiIngressFrom('all-ns', [{ namespaceSelector: {} }])], flow: conn(podWithoutNamespaceLabels('shop', { app: 'web' }, 1031), api, tcp(80)), verdict: 'allow' },
    { name: 'missing namespace labels: podSelector alone needs only the namespace', policies: [apiIngressFrom('web', [{ podSelector: { matchLabels: { app: 'web' } } }])], flow: conn(podWithoutNamespaceLabels('shop', { app: 'web' }, 1032), api, tcp(80)), verdict: 'allow' },
    { name: 'a selector on a key Cilium drops from identity labels is indeterminate', policies: [apiIngressFrom('hash', [{ podSelector: { matchLabels: { 'pod-template-hash': '7d9f8c6b5d' } } }])], flow: conn(web, api, tcp(80)), verdict: 'indeterminate' },
    { name: '…but decided when the flow does carry that key', policies: [apiIngressFrom('hash', [{ podSelector: { matchLabels: { 'pod-template-hash': '7d9f8c6b5d' } } }])], flow: conn(aPod({ namespace: 'shop', labels: { app: 'web', 'pod-template-hash': 'other' }, identity: 1040 }), api, tcp(80)), verdict: 'deny' },
    { name: 'a flow without IPs cannot be matched by ipBlock → indeterminate', policies: [webEgress('cidr', { to: [{ ipBlock: { cidr: '0.0.0.0/0' } }] })], flow: { ...toWorld('1.1.1.1'), ip: null }, verdict: 'indeterminate' },
  ])('$name', check);
});

describe('verdict explanations', () => {
  it('names the isolating policies, the peer and the port when denied', () => {
    const e = evaluate([defaultDenyIngress, apiIngressFrom('frontend-to-api', [{ podSelector: { matchLabels: { app: 'frontend' } } }], [{ port: 8080 }])], conn(web, api, tcp(8080)));
    expect(e.reason).toBe('egress of shop/web not isolated (no policy selects it for egress); ingress of shop/api isolated by shop/default-deny, shop/frontend-to-api; no rule admits from shop/web on 8080/TCP');
  });
  it('names the admitting policies when allowed', () => {
    const e = evaluate([np('shop', 'allow-dns', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 53, protocol: 'UDP' }] }] })], conn(web, dns, udp(53)), { egress: true, ingress: false });
    expect(e).toEqual({ verdict: 'allow', egress: 'allow', ingress: 'none', policies: ['shop/allow-dns'], reason: 'egress allowed by shop/allow-dns' });
  });
  it('says what evidence is missing when indeterminate', () => {
    const e = evaluate([apiNamedIngress('named', [{ port: 'http' }])], conn(web, api, tcp(8080)), { egress: false, ingress: true });
    expect(e.reason).toBe('ingress of shop/api undecided: named port "http" needs the container ports of the destination pod (not supplied) (isolated by shop/named)');
  });
  it('explains a denied egress to an external address by its IP', () => {
    const e = evaluate([webEgress('only-dns', { to: [{ ipBlock: { cidr: '10.96.0.10/32' } }] })], toWorld('198.51.100.7', udp(123)), { egress: true, ingress: true });
    expect(e.reason).toBe('egress of shop/web isolated by shop/only-dns; no rule admits to 198.51.100.7 on 123/UDP');
  });
});

describe('memoisation is invisible', () => {
  it('one compiled set gives the same answers on repeated and interleaved calls', async () => {
    const { createEvaluator } = await import('../../../../core/policy/index.js');
    const set = createEvaluator([defaultDenyIngress, apiIngressFrom('web-to-api', [{ podSelector: { matchLabels: { app: 'web' } } }], [{ port: 8080 }])]);
    const flows = [conn(web, api, tcp(8080)), conn(db, api, tcp(8080)), conn(web, api, tcp(8081)), fromWorld('1.2.3.4')];
    const first = flows.map((f) => set.evaluate(f, BOTH).verdict);
    expect(first).toEqual(['allow', 'deny', 'deny', 'deny']);
    for (let i = 0; i < 3; i++) expect(flows.map((f) => set.evaluate(f, BOTH).verdict)).toEqual(first);
  });
  it('a reused identity number with other labels is not mistaken for the cached endpoint', async () => {
    const { createEvaluator } = await import('../../../../core/policy/index.js');
    const set = createEvaluator([apiIngressFrom('web-to-api', [{ podSelector: { matchLabels: { app: 'web' } } }])]);
    const a = aPod({ namespace: 'shop', labels: { app: 'web' }, identity: 5555 });
    const b = aPod({ namespace: 'shop', labels: { app: 'db' }, identity: 5555 });
    expect(set.evaluate(conn(a, api, tcp(1)), BOTH).verdict).toBe('allow');
    expect(set.evaluate(conn(b, api, tcp(1)), BOTH).verdict).toBe('deny');
    expect(set.evaluate(conn(a, api, tcp(1)), BOTH).verdict).toBe('allow');
  });
  it('stays exact when the bounded memo tables overflow and are cleared', async () => {
    const { createEvaluator } = await import('../../../../core/policy/index.js');
    const set = createEvaluator([apiIngressFrom('web-to-api', [{ podSelector: { matchLabels: { app: 'web' } } }])]);
    let allowed = 0;
    for (let i = 0; i < 6000; i++) {
      const source = aPod({ namespace: 'shop', labels: { app: i % 3 === 0 ? 'web' : 'db' }, identity: 100_000 + i });
      const v = set.evaluate(conn(source, api, tcp(1000 + (i % 50))), BOTH).verdict;
      expect(v).toBe(i % 3 === 0 ? 'allow' : 'deny');
      if (v === 'allow') allowed++;
    }
    expect(allowed).toBe(2000);
  });
  it('named-port verdicts follow each call\'s resolver', async () => {
    const { createEvaluator } = await import('../../../../core/policy/index.js');
    const set = createEvaluator([apiNamedIngress('named', [{ port: 'http' }])]);
    const flow = conn(web, api, tcp(8080));
    expect(set.evaluate(flow, BOTH, { namedPorts: () => 8080 }).verdict).toBe('allow');
    expect(set.evaluate(flow, BOTH, { namedPorts: () => 9090 }).verdict).toBe('deny');
    expect(set.evaluate(flow, BOTH).verdict).toBe('indeterminate');
    const failing = set.evaluate(flow, BOTH, {
      namedPorts: () => {
        throw new Error('boom');
      },
    });
    expect(failing.verdict).toBe('indeterminate');
    expect(failing.reason).toContain('the port resolver failed for shop/api-1');
  });
});
