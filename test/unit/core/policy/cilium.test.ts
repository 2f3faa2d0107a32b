/**
 * CiliumNetworkPolicy / CCNP in the engine: the parser's problems (path-named, never a guess),
 * the verdicts that need no Cilium to check (indeterminate where a flow lacks evidence), and the
 * warnings for NetworkPolicies Cilium enforces differently. Verdict agreement with Cilium's own
 * engine is test/integration/cilium-differential.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { ciliumDepartures, parseCiliumPolicy, parsePolicy, type LabelSelector, type Policy } from '../../../../core/policy/index.js';
import { compileCiliumSelector, identityLabels } from '../../../../core/policy/cilium-selector.js';
import { matchSelector } from '../../../../core/policy/selector.js';
import { NO, YES } from '../../../../core/policy/trit.js';
import { anExternal, anUnknown, tcp } from '../../../support/builders.js';
import { BOTH, conn, evaluate, np, pods } from './helpers.js';

const { web, api, otherWeb } = pods;

function cnp(spec: Record<string, unknown>, name = 'p', namespace = 'shop'): Policy {
  const r = parseCiliumPolicy({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name, namespace }, spec }, '');
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

function problems(manifest: Record<string, unknown>): string[] {
  const r = parsePolicy({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'p', namespace: 'shop' }, ...manifest }, 'spec.policies[0]');
  return r.ok ? [] : r.error.map((p) => `${p.path}: ${p.message}`);
}

describe('parsing CiliumNetworkPolicy and CCNP', () => {
  it.each([
    ['toServices', { endpointSelector: {}, egress: [{ toServices: [{ k8sService: { serviceName: 'x' } }] }] }, 'spec.policies[0].spec.egress[0].toServices: cannot be judged from a flow'],
    ['toGroups', { endpointSelector: {}, egress: [{ toGroups: [{ aws: {} }] }] }, 'spec.policies[0].spec.egress[0].toGroups: cannot be judged from a flow'],
    ['fromRequires', { endpointSelector: {}, ingress: [{ fromRequires: [{}] }] }, 'spec.policies[0].spec.ingress[0].fromRequires: cannot be judged from a flow'],
    ['toRequires', { endpointSelector: {}, egress: [{ toRequires: [{}] }] }, 'spec.policies[0].spec.egress[0].toRequires: cannot be judged from a flow'],
    ['fromNodes', { endpointSelector: {}, ingress: [{ fromNodes: [{}] }] }, 'spec.policies[0].spec.ingress[0].fromNodes: cannot be judged from a flow'],
    ['nodeSelector', { nodeSelector: {}, ingress: [{}] }, 'spec.policies[0].spec.nodeSelector: cannot be judged from a flow'],
    ['authentication', { endpointSelector: {}, ingress: [{ fromEntities: ['all'], authentication: { mode: 'required' } }] }, 'spec.policies[0].spec.ingress[0].authentication: cannot be judged from a flow'],
    ['serverNames', { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }], serverNames: ['a.example.com'] }] }] }, 'spec.policies[0].spec.egress[0].toPorts[0].serverNames: cannot be judged from a flow'],
    ['cidrGroupRef', { endpointSelector: {}, egress: [{ toCIDRSet: [{ cidrGroupRef: 'g' }] }] }, 'spec.policies[0].spec.egress[0].toCIDRSet[0].cidrGroupRef: cannot be judged from a flow'],
  ])('%s is a problem naming the field', (_field, spec, expected) => {
    const found = problems({ spec });
    expect(found.some((p) => p.startsWith(expected)), found.join('\n')).toBe(true);
  });

  it.each([
    ['two kinds of peer in one rule', { endpointSelector: {}, ingress: [{ fromEndpoints: [{}], fromCIDR: ['10.0.0.0/8'] }] }, 'spec.policies[0].spec.ingress[0]: combining fromEndpoints and fromCIDR'],
    ['an unknown entity', { endpointSelector: {}, ingress: [{ fromEntities: ['everyone'] }] }, 'spec.policies[0].spec.ingress[0].fromEntities[0]: must be one of'],
    ['a bad CIDR', { endpointSelector: {}, egress: [{ toCIDR: ['10.0.0.0/33'] }] }, 'spec.policies[0].spec.egress[0].toCIDR[0]:'],
    ['an except outside its cidr', { endpointSelector: {}, egress: [{ toCIDRSet: [{ cidr: '10.0.0.0/8', except: ['11.0.0.0/8'] }] }] }, 'spec.policies[0].spec.egress[0].toCIDRSet[0].except[0]: must be a strict subset'],
    ['a port without a number', { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ protocol: 'TCP' }] }] }] }, 'spec.policies[0].spec.egress[0].toPorts[0].ports[0].port: is required'],
    ['endPort below port', { endpointSelector: {}, egress: [{ toPorts: [{ ports: [{ port: '90', endPort: 80 }] }] }] }, 'spec.policies[0].spec.egress[0].toPorts[0].ports[0].endPort: must be greater'],
    ['L7 rules on UDP', { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80', protocol: 'UDP' }], rules: { http: [{}] } }] }] }, 'spec.policies[0].spec.ingress[0].toPorts[0].ports[0].protocol: L7 rules can only apply to TCP'],
    ['icmps beside toPorts', { endpointSelector: {}, ingress: [{ toPorts: [{ ports: [{ port: '80' }] }], icmps: [{ fields: [{ type: 8 }] }] }] }, 'spec.policies[0].spec.ingress[0]: may not combine icmps with toPorts'],
    ['an unknown ICMP type name', { endpointSelector: {}, ingress: [{ icmps: [{ fields: [{ type: 'Ping' }] }] }] }, 'spec.policies[0].spec.ingress[0].icmps[0].fields[0].type:'],
    ['toFQDNs in egressDeny', { endpointSelector: {}, egressDeny: [{ toFQDNs: [{ matchName: 'a.example.com' }] }] }, 'spec.policies[0].spec.egressDeny[0].toFQDNs: is not allowed'],
    ['toFQDNs with both matchName and matchPattern', { endpointSelector: {}, egress: [{ toFQDNs: [{ matchName: 'a.b', matchPattern: '*.b' }] }] }, 'spec.policies[0].spec.egress[0].toFQDNs[0]: must set exactly one'],
    ['a spec without rules', { endpointSelector: {} }, 'spec.policies[0].spec: must have at least one of'],
    ['no endpointSelector', { ingress: [{}] }, 'spec.policies[0].spec.endpointSelector: is required'],
  ])('refuses %s with the field path', (_what, spec, expected) => {
    const found = problems({ spec });
    expect(found.some((p) => p.startsWith(expected)), found.join('\n')).toBe(true);
  });

  it('a CCNP must not carry a namespace; a CNP without one is taken to be in default, with a warning', () => {
    const ccnp = parsePolicy({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'c', namespace: 'x' }, spec: { endpointSelector: {}, ingress: [{}] } }, '');
    expect(ccnp.ok ? [] : ccnp.error.map((p) => p.path)).toEqual(['metadata.namespace']);
    const r = parseCiliumPolicy({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'c' }, spec: { endpointSelector: {}, ingress: [{}] } }, '');
    expect(r.ok && r.value.namespace).toBe('default');
    expect(r.ok && r.value.warnings?.map((w) => w.path)).toEqual(['metadata.namespace']);
  });

  it('reads specs[*] as separate rules of one policy', () => {
    const r = parseCiliumPolicy({ apiVersion: 'cilium.io/v2', kind: 'CiliumNetworkPolicy', metadata: { name: 'm', namespace: 'shop' }, specs: [{ endpointSelector: {}, ingress: [{}] }, { endpointSelector: { matchLabels: { app: 'api' } }, egress: [{}] }] }, '');
    expect(r.ok && r.value.specs.length).toBe(2);
  });
});

describe('Cilium verdicts that need evidence the flow may lack', () => {
  const fqdn = cnp({ endpointSelector: { matchLabels: { app: 'web' } }, egress: [{ toFQDNs: [{ matchName: 'api.example.com' }] }] });
  const toWorld = conn(web, anExternal(), tcp(443), { source: '10.0.1.1', destination: '198.51.100.7', version: 4 });

  it('toFQDNs without destination_names is indeterminate, naming the field', () => {
    const e = evaluate([fqdn], toWorld, BOTH);
    expect(e.egress).toBe('indeterminate');
    expect(e.reason).toContain('destination_names');
  });
  it('toFQDNs with the names decides', () => {
    expect(evaluate([fqdn], { ...toWorld, destinationNames: ['API.example.com'] }, BOTH).egress).toBe('allow');
    expect(evaluate([fqdn], { ...toWorld, destinationNames: ['other.example.com'] }, BOTH).egress).toBe('deny');
  });
  it('a peer of unknown identity under a CNP endpoints rule is indeterminate', () => {
    const p = cnp({ endpointSelector: { matchLabels: { app: 'api' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }] }] });
    expect(evaluate([p], conn(anUnknown(), api, tcp(80)), BOTH).ingress).toBe('indeterminate');
  });
  it('…but a deny rule that surely matches still denies it', () => {
    const p = cnp({ endpointSelector: { matchLabels: { app: 'api' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }] }], ingressDeny: [{ toPorts: [{ ports: [{ port: '80', protocol: 'TCP' }] }] }] });
    const e = evaluate([p], conn(anUnknown(), api, tcp(80)), BOTH);
    expect(e.ingress).toBe('deny');
    expect(e.reason).toContain('denied by a deny rule of cnp:shop/p');
  });
  it('names CNPs as cnp:namespace/name and CCNPs as ccnp:name in verdicts', () => {
    const ccnp = parsePolicy({ apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'all-web' }, spec: { endpointSelector: { matchLabels: { app: 'api' } }, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }] }] } }, '');
    if (!ccnp.ok) throw new Error('fixture');
    expect(evaluate([ccnp.value], conn(otherWeb, api, tcp(80)), BOTH).policies).toEqual(['ccnp:all-web']);
  });
});

describe('warnings for NetworkPolicies Cilium enforces differently (netpol.md 4)', () => {
  it('names the policy and the field for each departure', () => {
    const w = ciliumDepartures([
      np('shop', 'typed', { podSelector: {}, policyTypes: ['Ingress'], egress: [{}] }),
      np('shop', 'cidr-in', { podSelector: {}, ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] }),
      np('shop', 'named-out', { podSelector: {}, policyTypes: ['Egress'], egress: [{ ports: [{ port: 'http' }] }] }),
      np('shop', 'plain', { podSelector: {}, ingress: [{}] }),
    ]);
    expect(w.map((p) => p.path)).toEqual(['policies[0].spec.egress', 'policies[1].spec.ingress[0]', 'policies[2].spec.egress[0]']);
    expect(w[0]!.message).toContain('shop/typed');
    expect(w[1]!.message).toContain('every pod of namespace shop');
    expect(w[2]!.message).toContain('over every pod of the cluster');
  });
});

describe('Cilium endpoint selectors through the one label-selector matcher', () => {
  const labels = identityLabels(['container:tier=db', 'k8s:app=web', 'k8s:tier=api', 'reserved:host'], 'shop');
  const match = (selector: Partial<LabelSelector>): string => {
    const t = matchSelector(compileCiliumSelector({ matchLabels: {}, matchExpressions: [], ...selector }), labels);
    return t === YES ? 'yes' : t === NO ? 'no' : 'maybe';
  };

  it('a key without a source, or with any:, reads a label of any source; a named source only its own', () => {
    expect(match({ matchLabels: { app: 'web' } })).toBe('yes');
    expect(match({ matchLabels: { 'any:app': 'web' } })).toBe('yes');
    expect(match({ matchLabels: { 'k8s:app': 'web' } })).toBe('yes');
    expect(match({ matchLabels: { 'container:app': 'web' } })).toBe('no');
    expect(match({ matchLabels: { 'reserved:host': '' } })).toBe('yes');
    expect(match({ matchExpressions: [{ key: 'reserved:world', operator: 'DoesNotExist', values: [] }] })).toBe('yes');
  });

  it('a key held by two sources reads the first label, as Cilium\'s lookup does', () => {
    expect(match({ matchLabels: { tier: 'db' } })).toBe('yes');
    expect(match({ matchLabels: { tier: 'api' } })).toBe('no');
    expect(match({ matchLabels: { 'k8s:tier': 'api' } })).toBe('yes');
  });

  it('the pod namespace is filled in when the labels lack it; `app` and `any:app` both hold', () => {
    expect(match({ matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'shop' } })).toBe('yes');
    expect(match({ matchLabels: { app: 'web', 'any:app': 'other' } })).toBe('no');
  });

  it('a filtered Kubernetes key the identity lacks is MAYBE; the same key of another source is a plain miss', () => {
    expect(match({ matchLabels: { 'k8s:pod-template-hash': 'abc' } })).toBe('maybe');
    expect(match({ matchLabels: { 'pod-template-hash': 'abc' } })).toBe('maybe');
    expect(match({ matchLabels: { 'container:pod-template-hash': 'abc' } })).toBe('no');
  });

  it('a label key that is an object member name is only a label', () => {
    const odd = identityLabels(['k8s:__proto__=x', 'k8s:constructor=y'], 'shop');
    expect(matchSelector(compileCiliumSelector({ matchLabels: JSON.parse('{"__proto__":"x","constructor":"y"}') as Record<string, string>, matchExpressions: [] }), odd)).toBe(YES);
    expect(matchSelector(compileCiliumSelector({ matchLabels: {}, matchExpressions: [{ key: 'toString', operator: 'Exists', values: [] }] }), odd)).toBe(NO);
  });
});
