/**
 * Compiles a parsed policy set once: selectors precompiled, CIDRs turned into numeric ranges,
 * policies indexed by namespace and direction, so evaluating a flow never re-parses anything
 * and only looks at the policies of the namespace of the pod whose side it decides (plus the
 * cluster-wide ones).
 *
 * NetworkPolicies are compiled as Cilium translates them (pkg/k8s/network_policy.go
 * ParseNetworkPolicy), where that departs from the upstream text (netpol.md section 4):
 * rules of a direction missing from `policyTypes` are enforced, and an ingress ipBlock peer
 * also admits every pod of the policy's namespace. CNP/CCNP specs are compiled by
 * cilium-compile.ts into the same shape.
 */
import { compileCiliumSpec } from './cilium-compile.js';
import { compileRanges, hasNamed, type CompiledPeer, type CompiledPolicy, type CompiledPolicySet, type CompiledRule, type Membership, type SlotCounter } from './compiled.js';
import { isCiliumPolicy, policyRef, type NetworkPolicy, type Peer, type Policy, type PolicyRule } from './policy.js';
import { compileSelector } from './selector.js';

const NO_RULES: readonly CompiledRule[] = [];

/** An ingress rule as Cilium translates it: each ipBlock peer also admits the pods of the policy's namespace (netpol.md 4.2). */
function asCiliumIngress(rule: PolicyRule): PolicyRule {
  if (!rule.peers.some((p) => p.kind === 'ipBlock')) return rule;
  const peers: Peer[] = [...rule.peers, { kind: 'selector', podSelector: { matchLabels: {}, matchExpressions: [] }, namespaceSelector: null }];
  return { peers, ports: rule.ports };
}

function compileNetworkPolicy(p: NetworkPolicy, membership: Membership, slots: SlotCounter): CompiledPolicy {
  const compilePeer = (peer: Peer, policyNamespace: string): CompiledPeer => {
    const base = { slot: -1, policyNamespace, namespaceSelector: null, podSelector: null, cidr: null, except: [], endpoints: null, entity: null, fqdn: null };
    if (peer.kind === 'ipBlock') return { ...base, kind: 'ipBlock', cidr: compileRanges(peer.cidr), except: peer.except.map(compileRanges) };
    return {
      ...base,
      kind: 'selector',
      slot: slots.next++,
      namespaceSelector: peer.namespaceSelector === null ? null : compileSelector(peer.namespaceSelector, false),
      podSelector: peer.podSelector === null ? null : compileSelector(peer.podSelector, true),
    };
  };
  const compileRule = (rule: PolicyRule, ns: string): CompiledRule => ({
    anyPeer: rule.peers.length === 0,
    noPeer: false,
    anyPort: rule.ports.length === 0,
    peers: rule.peers.map((peer) => compilePeer(peer, ns)),
    ports: rule.ports.map((port) => ({
      protocol: port.protocol,
      port: typeof port.port === 'number' ? port.port : 0,
      endPort: typeof port.port === 'number' ? (port.endPort ?? port.port) : 0,
      name: typeof port.port === 'string' ? port.port : null,
    })),
  });
  // Cilium enforces the rules of a direction missing from an explicit policyTypes (netpol.md 4.1).
  const ingressRules = [...p.ingress, ...(p.unlistedIngress ?? [])];
  const egressRules = [...p.egress, ...(p.unlistedEgress ?? [])];
  const ingressOn = p.policyTypes.includes('Ingress') || ingressRules.length > 0;
  const egressOn = p.policyTypes.includes('Egress') || egressRules.length > 0;
  const ingress = ingressOn ? ingressRules.map((r) => compileRule(asCiliumIngress(r), p.namespace)) : null;
  const egress = egressOn ? egressRules.map((r) => compileRule(r, p.namespace)) : null;
  const podSelector = compileSelector(p.podSelector, true);
  return {
    ref: policyRef(p),
    namespace: p.namespace,
    podSelector,
    subject: null,
    selectsAll: podSelector.empty,
    ingress,
    egress,
    ingressDeny: NO_RULES,
    egressDeny: NO_RULES,
    isolatesIngress: ingress !== null,
    isolatesEgress: egress !== null,
    namedPortsIngress: hasNamed(ingress),
    namedPortsEgress: hasNamed(egress),
    fqdn: false,
    inBefore: membership !== 'after',
    inAfter: membership !== 'before',
  };
}


/**
 * Compiles parsed policies (from `parseNetworkPolicy` / `parseCiliumPolicy`) into an immutable
 * set; `createEvaluator` does this once per policy set. Throws only on a hand-built model with
 * an invalid CIDR.
 */
export function compilePolicies(policies: readonly Policy[], membership?: readonly Membership[]): CompiledPolicySet {
  const slots: SlotCounter = { next: 0 };
  const compiled: CompiledPolicy[] = [];
  policies.forEach((p, index) => {
    const m = membership?.[index] ?? 'both';
    if (isCiliumPolicy(p)) for (const spec of p.specs) compiled.push(compileCiliumSpec(p, spec, m, slots));
    else compiled.push(compileNetworkPolicy(p, m, slots));
  });

  const byNamespace = new Map<string, { ingress: CompiledPolicy[]; egress: CompiledPolicy[] }>();
  const clusterWide = { ingress: [] as CompiledPolicy[], egress: [] as CompiledPolicy[] };
  const all = { ingress: [] as CompiledPolicy[], egress: [] as CompiledPolicy[] };
  for (const p of compiled) {
    let index: { ingress: CompiledPolicy[]; egress: CompiledPolicy[] } | undefined = clusterWide;
    if (p.namespace !== '') {
      index = byNamespace.get(p.namespace);
      if (index === undefined) {
        index = { ingress: [], egress: [] };
        byNamespace.set(p.namespace, index);
      }
    }
    if (p.ingress !== null) {
      index.ingress.push(p);
      all.ingress.push(p);
    }
    if (p.egress !== null) {
      index.egress.push(p);
      all.egress.push(p);
    }
  }
  return { policies: compiled, byNamespace, clusterWide, all, selectorPeerCount: slots.next, brownfield: compiled.some((p) => p.inBefore !== p.inAfter) };
}
