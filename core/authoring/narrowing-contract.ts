/**
 * `rampart audit --contract <name>` (issue 19): the RampContract that narrows every over-broad
 * rule the audit reports. Each policy with such a rule gets a new text, the policy as it is
 * with each over-broad rule replaced by its narrower rules (none when the rule admitted
 * nothing), and is named in `spec.replaces`: ramped like any change, judged as before = the
 * policies in force, after = those with the new texts (product.md "Changes to what is enforced").
 */
import { policyRef, type LabelSelector, type NetworkPolicy, type Peer, type PolicyRule, type PortMatch } from '../policy/index.js';
import type { Finding } from './audit.js';
import { contractDocument } from './contract-doc.js';
import type { Manifest } from './manifests.js';

function selector(s: LabelSelector): Manifest {
  const out: Manifest = {};
  if (Object.keys(s.matchLabels).length > 0) out['matchLabels'] = { ...s.matchLabels };
  if (s.matchExpressions.length > 0) out['matchExpressions'] = s.matchExpressions.map((e) => (e.operator === 'Exists' || e.operator === 'DoesNotExist' ? { key: e.key, operator: e.operator } : { key: e.key, operator: e.operator, values: [...e.values] }));
  return out;
}

function peer(p: Peer): Manifest {
  if (p.kind === 'ipBlock') return { ipBlock: { cidr: p.cidr, ...(p.except.length > 0 ? { except: [...p.except] } : {}) } };
  return { ...(p.podSelector === null ? {} : { podSelector: selector(p.podSelector) }), ...(p.namespaceSelector === null ? {} : { namespaceSelector: selector(p.namespaceSelector) }) };
}

function port(p: PortMatch): Manifest {
  return { protocol: p.protocol, ...(p.port === null ? {} : { port: p.port }), ...(p.endPort === null ? {} : { endPort: p.endPort }) };
}

function rule(r: PolicyRule, direction: 'ingress' | 'egress'): Manifest {
  return { ...(r.peers.length > 0 ? { [direction === 'ingress' ? 'from' : 'to']: r.peers.map(peer) } : {}), ...(r.ports.length > 0 ? { ports: r.ports.map(port) } : {}) };
}

/** The policy as a manifest, with the rules of `narrowed` (by `ingress[i]`/`egress[i]`) swapped for their replacements. */
function narrowedManifest(p: NetworkPolicy, narrowed: ReadonlyMap<string, readonly Manifest[]>): Manifest {
  const rules = (direction: 'ingress' | 'egress'): Manifest[] => (direction === 'ingress' ? p.ingress : p.egress).flatMap((r, i) => narrowed.get(`${direction}[${i}]`) ?? [rule(r, direction)]);
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: p.name, namespace: p.namespace },
    spec: {
      podSelector: selector(p.podSelector),
      // Explicit, so removing every rule of a direction keeps it isolated.
      policyTypes: [...p.policyTypes],
      ...(p.policyTypes.includes('Ingress') ? { ingress: rules('ingress') } : {}),
      ...(p.policyTypes.includes('Egress') ? { egress: rules('egress') } : {}),
    },
  };
}

/**
 * The narrowing contract for an audit's findings, or null when no over-broad rule has a
 * narrower replacement (the audit had no flows to build one from).
 */
export function narrowingContract(name: string, policies: readonly NetworkPolicy[], findings: readonly Finding[]): Manifest | null {
  const byPolicy = narrowedRules(findings);
  const edited = policies.filter((p) => byPolicy.has(policyRef(p)));
  if (edited.length === 0) return null;
  return replacingContract(
    name,
    edited.map((p) => narrowedManifest(p, byPolicy.get(policyRef(p))!)),
    edited.map((p) => ({ namespace: p.namespace, name: p.name })),
  );
}

/** The narrower rules of the over-broad findings that have them, by policy ref then rule path. */
export function narrowedRules(findings: readonly Finding[]): Map<string, Map<string, readonly Manifest[]>> {
  const byPolicy = new Map<string, Map<string, readonly Manifest[]>>();
  for (const f of findings) {
    if (f.kind !== 'over-broad-rule' || f.narrower === undefined || f.policy === null || f.rule === null) continue;
    let rules = byPolicy.get(f.policy);
    if (rules === undefined) byPolicy.set(f.policy, (rules = new Map()));
    rules.set(f.rule, f.narrower);
  }
  return byPolicy;
}

/** A contract of the new texts, naming the policies they replace (spec.replaces right after spec.policies). */
export function replacingContract(name: string, texts: readonly Manifest[], replaces: readonly Manifest[]): Manifest {
  const doc = contractDocument(texts, { name });
  const spec = doc['spec'] as Manifest;
  return { ...doc, spec: { policies: spec['policies'], replaces: [...replaces], ...Object.fromEntries(Object.entries(spec).filter(([k]) => k !== 'policies')) } };
}
