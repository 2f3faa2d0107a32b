/**
 * Compiles one spec of a CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy into the shape
 * NetworkPolicies compile to (compile.ts), with the agent's own translation applied:
 * - the subject is `endpointSelector` plus `k8s:io.kubernetes.pod.namespace=<ns>` for a CNP
 *   (cilium.io/utils ParseToCiliumRule); a CCNP's is taken as written;
 * - endpoints peers are confined to the policy's namespace unless they name the namespace or a
 *   namespace label, or a `reserved:` label; a CCNP's must be some pod's (namespace label
 *   Exists) unless the subject selects `reserved:init` (getEndpointSelector);
 * - a direction is isolated when the spec has rules in it and `enableDefaultDeny` allows;
 * - deny rules are kept apart: they win over every allow of any kind;
 * - a rule without peers admits every peer only when it has ports (RulesToPolicyEntries and
 *   mergeL4Filter: an L3 field given as an empty list selects nothing).
 */
import { compileRanges, hasNamed, type CompiledPeer, type CompiledPolicy, type CompiledRule, type Membership, type SlotCounter } from './compiled.js';
import { compileCiliumSelector, NAMESPACE_LABELS_PREFIX, POD_NAMESPACE_KEY, selectorHasKey, selectorHasKeyPrefix, selectorHasSource } from './cilium-selector.js';
import { compileSelector } from './selector.js';
import { policyRef, type CiliumPeer, type CiliumPolicy, type CiliumRule, type CiliumSpec, type LabelSelector } from './policy.js';

const DNS_CHARS = '[-a-zA-Z0-9_]';
const DNS_WILDCARD_GROUP = `(${DNS_CHARS}+([.]${DNS_CHARS}+){0,})[.]`;

/**
 * The regular expression Cilium matches a DNS name against (pkg/fqdn/matchpattern
 * ToAnchoredRegexp over the FQDN form of the selector), applied to the lowercase name with a
 * trailing dot.
 */
export function fqdnRegex(matchName: string | null, matchPattern: string | null): RegExp {
  let pattern = (matchName ?? matchPattern ?? '').trim().toLowerCase();
  if (matchName === null && /^[*]+[.]?$/.test(pattern)) return new RegExp(`(^(${DNS_CHARS}+[.])+$)|(^[.]$)`);
  if (!pattern.endsWith('.')) pattern += '.';
  pattern = pattern.replaceAll('.', '[.]');
  pattern = pattern.replace(/^[*]{2,}\[\.\]/, DNS_WILDCARD_GROUP);
  pattern = pattern.replace(/[*]+/g, `${DNS_CHARS}*`);
  return new RegExp(`^${pattern}$`);
}

/** The endpoints selector Cilium matches, namespace confinement applied (getEndpointSelector). */
function confine(selector: LabelSelector, policyNamespace: string, subjectSelectsInit: boolean): LabelSelector {
  if (selectorHasSource(selector, 'reserved')) return selector;
  if (selectorHasKey(selector, POD_NAMESPACE_KEY)) return selector;
  if (policyNamespace === '') {
    if (subjectSelectsInit) return selector;
    return { matchLabels: selector.matchLabels, matchExpressions: [...selector.matchExpressions, { key: `k8s:${POD_NAMESPACE_KEY}`, operator: 'Exists', values: [] }] };
  }
  if (selectorHasKeyPrefix(selector, NAMESPACE_LABELS_PREFIX)) return selector;
  return { matchLabels: { ...selector.matchLabels, [`k8s:${POD_NAMESPACE_KEY}`]: policyNamespace }, matchExpressions: selector.matchExpressions };
}

function compilePeer(peer: CiliumPeer, policyNamespace: string, subjectSelectsInit: boolean, slots: SlotCounter): CompiledPeer {
  const base = { slot: -1, policyNamespace, namespaceSelector: null, podSelector: null, cidr: null, except: [], endpoints: null, entity: null, fqdn: null };
  switch (peer.kind) {
    case 'endpoints':
      return { ...base, kind: 'endpoints', slot: slots.next++, endpoints: compileCiliumSelector(confine(peer.selector, policyNamespace, subjectSelectsInit)) };
    case 'entity':
      return { ...base, kind: 'entity', entity: peer.entity };
    case 'cidr':
      return { ...base, kind: 'ipBlock', cidr: compileRanges(peer.cidr), except: peer.except.map(compileRanges) };
    case 'fqdn':
      return { ...base, kind: 'fqdn', fqdn: fqdnRegex(peer.matchName, peer.matchPattern) };
  }
}

function compileRule(rule: CiliumRule, policyNamespace: string, subjectSelectsInit: boolean, slots: SlotCounter): CompiledRule {
  const anyPort = rule.ports === null;
  return {
    // No peer field: every peer, but only together with ports (an empty rule admits nothing).
    anyPeer: rule.peerMode === 'any' && !anyPort,
    noPeer: rule.peerMode === 'none' || (rule.peerMode === 'any' && anyPort),
    anyPort,
    peers: rule.peers.map((p) => compilePeer(p, policyNamespace, subjectSelectsInit, slots)),
    ports: (rule.ports ?? []).map((p) => ({
      protocol: p.protocol,
      port: typeof p.port === 'number' ? p.port : 0,
      endPort: typeof p.port === 'number' ? (p.endPort ?? p.port) : 0,
      name: typeof p.port === 'string' ? p.port : null,
    })),
  };
}

function withoutKey(labels: Readonly<Record<string, string>>, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (k !== key) out[k] = v;
  return out;
}

export function compileCiliumSpec(policy: CiliumPolicy, spec: CiliumSpec, membership: Membership, slots: SlotCounter): CompiledPolicy {
  const ns = policy.namespace;
  const subjectSelectsInit = Object.keys(spec.endpointSelector.matchLabels).concat(spec.endpointSelector.matchExpressions.map((e) => e.key)).includes('reserved:init');
  // A CNP's subject always lives in its namespace: Cilium sets `k8s:io.kubernetes.pod.namespace`
  // to it, replacing a value the user wrote under that exact key (ParseToCiliumRule AddMatch).
  const own = ns === '' ? spec.endpointSelector : { matchLabels: withoutKey(spec.endpointSelector.matchLabels, `k8s:${POD_NAMESPACE_KEY}`), matchExpressions: spec.endpointSelector.matchExpressions };
  const subject = compileCiliumSelector(own, ns === '' ? [] : [{ key: `k8s:${POD_NAMESPACE_KEY}`, op: 'In', values: [ns] }]);
  const rules = (list: readonly CiliumRule[]): CompiledRule[] => list.map((r) => compileRule(r, ns, subjectSelectsInit, slots));
  const ingressOn = spec.ingress.length + spec.ingressDeny.length > 0;
  const egressOn = spec.egress.length + spec.egressDeny.length > 0;
  const ingress = ingressOn ? rules(spec.ingress) : null;
  const egress = egressOn ? rules(spec.egress) : null;
  const ingressDeny = rules(spec.ingressDeny);
  const egressDeny = rules(spec.egressDeny);
  const empty = Object.keys(spec.endpointSelector.matchLabels).length === 0 && spec.endpointSelector.matchExpressions.length === 0;
  return {
    ref: policyRef(policy),
    namespace: ns,
    // Unused for Cilium specs (their subject is `subject`): an empty NetworkPolicy selector.
    podSelector: compileSelector({ matchLabels: {}, matchExpressions: [] }, true),
    subject,
    selectsAll: empty,
    ingress,
    egress,
    ingressDeny,
    egressDeny,
    isolatesIngress: ingressOn && spec.defaultDenyIngress,
    isolatesEgress: egressOn && spec.defaultDenyEgress,
    namedPortsIngress: hasNamed(ingress) || hasNamed(ingressDeny),
    namedPortsEgress: hasNamed(egress) || hasNamed(egressDeny),
    fqdn: spec.egress.some((r) => r.peers.some((p) => p.kind === 'fqdn')),
    inBefore: membership !== 'after',
    inAfter: membership !== 'before',
  };
}
