/**
 * `rampart audit` of CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies: over-broad
 * and unused allow rules, with the narrower rules that admit the same traffic written as
 * Cilium rules (the policy's own kind), and the narrowing contract that `replaces` each edited
 * policy with its narrowed text (`audit --contract`).
 *
 * A rule is broad when it admits every peer (no L3 field, the `all`/`world` entities, a /0
 * CIDR, a `*` FQDN pattern), every endpoint of the cluster (`cluster`, an empty selector in a
 * CCNP), every pod of the namespace (an empty selector in a CNP), or every port. Deny rules
 * only take away, so they are never over-broad. Which flows a rule admits is decided by the
 * engine, the rule compiled alone in a policy with its spec's endpointSelector (as
 * rule-usage.ts does for NetworkPolicies).
 */
import type { Flow } from '../flow/index.js';
import { policyRef, type CiliumPeer, type CiliumPolicy, type CiliumRule, type CiliumSpec, type LabelSelector } from '../policy/index.js';
import { narrowerRules, type Finding, type Severity } from './audit.js';
import { asCiliumPolicies, dnsNamesByIp } from './cilium-format.js';
import { evaluatorFor } from './engine.js';
import type { Manifest } from './manifests.js';
import { narrowedRules, replacingContract } from './narrowing-contract.js';

type Direction = 'ingress' | 'egress';

const SAMPLES = 2000;
const isEmpty = (s: LabelSelector): boolean => Object.keys(s.matchLabels).length === 0 && s.matchExpressions.length === 0;

/** What makes a Cilium allow rule broad, in words; empty when it is not. */
export function ciliumRuleBreadth(rule: CiliumRule, clusterWide: boolean): { what: string[]; severity: Severity } {
  const what: string[] = [];
  let severity: Severity = 'medium';
  const high = (text: string): void => {
    what.push(text);
    severity = 'high';
  };
  if (rule.peerMode === 'any' && rule.ports !== null) high('any peer (no L3 field: every endpoint and every IP)');
  for (const p of rule.peers) {
    if (p.kind === 'entity') {
      if (p.entity === 'all') high('the all entity (every endpoint and every IP)');
      else if (p.entity === 'world' || p.entity === 'world-ipv4' || p.entity === 'world-ipv6') high(`the ${p.entity} entity (every address outside the cluster)`);
      else if (p.entity === 'cluster') what.push('the cluster entity (every endpoint of the cluster)');
    } else if (p.kind === 'cidr' && p.cidr.endsWith('/0')) high(`CIDR ${p.cidr} (every address${p.except.length > 0 ? ` but ${p.except.length} excepted range${p.except.length === 1 ? '' : 's'}` : ''})`);
    else if (p.kind === 'fqdn' && p.matchPattern !== null && /^[*]+[.]?$/.test(p.matchPattern.trim())) high(`FQDN pattern ${p.matchPattern} (every DNS name)`);
    else if (p.kind === 'endpoints' && isEmpty(p.selector)) what.push(clusterWide ? 'every endpoint of the cluster (an empty selector)' : 'every pod of the namespace (an empty selector)');
  }
  if (rule.ports === null) what.push('all ports');
  else if (rule.ports.some((q) => (q.port === null || q.port === 0) && !q.protocol.startsWith('ICMP'))) what.push('all ports of a protocol');
  else if (rule.ports.some((q) => typeof q.port === 'number' && q.endPort !== null && q.endPort - q.port >= 1000)) what.push('a port range of 1000 or more');
  return { what, severity };
}

/** Where a rule is in the policy: `ingress[0]` under `spec`, `specs[1].ingress[0]` when there are several. */
const rulePath = (p: CiliumPolicy, k: number, d: Direction, i: number): string => (p.specs.length === 1 ? `${d}[${i}]` : `specs[${k}].${d}[${i}]`);

/** The flows a rule admits: its spec's endpointSelector with that one rule, alone. */
function usage(p: CiliumPolicy, spec: CiliumSpec, d: Direction, rule: CiliumRule, flows: readonly Flow[]): { count: number; samples: Flow[] } {
  const alone: CiliumPolicy = {
    kind: p.kind,
    namespace: p.namespace,
    name: p.name,
    specs: [{ endpointSelector: spec.endpointSelector, ingress: d === 'ingress' ? [rule] : [], egress: d === 'egress' ? [rule] : [], ingressDeny: [], egressDeny: [], defaultDenyIngress: true, defaultDenyEgress: true }],
  };
  const ev = evaluatorFor([alone]);
  const ref = policyRef(p);
  const sides = { egress: d === 'egress', ingress: d === 'ingress' };
  const out = { count: 0, samples: [] as Flow[] };
  for (const f of flows) {
    const e = ev.evaluate(f, sides);
    if (e.verdict === 'allow' && e.policies.includes(ref)) {
      out.count++;
      if (out.samples.length < SAMPLES) out.samples.push(f);
    }
  }
  return out;
}

/** The narrower rules as Cilium rules (toFQDNs from the names Hubble attached, where it did). */
function narrowerCiliumRules(p: CiliumPolicy, d: Direction, samples: readonly Flow[]): Manifest[] {
  const rules = narrowerRules(p, d, samples);
  if (rules.length === 0) return [];
  const np = { metadata: { name: p.name, namespace: p.namespace }, spec: { podSelector: {}, policyTypes: [d === 'ingress' ? 'Ingress' : 'Egress'], [d]: rules } };
  const [cnp] = asCiliumPolicies([np], dnsNamesByIp(samples));
  return ((cnp?.['spec'] as Manifest | undefined)?.[d] as Manifest[] | undefined) ?? [];
}

const hasL7 = (p: CiliumPolicy): boolean => p.specs.some((s) => [...s.ingress, ...s.egress, ...s.ingressDeny, ...s.egressDeny].some((r) => r.l7));

/** Over-broad and unused allow rules of the Cilium policies (those of audited namespaces, and every CCNP). */
export function auditCiliumPolicies(policies: readonly CiliumPolicy[], flows: readonly Flow[] | null): Finding[] {
  const findings: Finding[] = [];
  for (const p of policies) {
    const ref = policyRef(p);
    const clusterWide = p.kind === 'CiliumClusterwideNetworkPolicy';
    p.specs.forEach((spec, k) => {
      for (const d of ['ingress', 'egress'] as const) {
        spec[d].forEach((rule, i) => {
          const at = rulePath(p, k, d, i);
          const b = ciliumRuleBreadth(rule, clusterWide);
          const u = flows === null || rule.peerMode === 'none' ? null : usage(p, spec, d, rule, flows);
          if (b.what.length === 0) {
            if (u !== null && u.count === 0) findings.push({ kind: 'unused-rule', severity: 'low', namespace: p.namespace, policy: ref, rule: at, message: `admits none of the ${flows!.length} connections given (over a longer capture it may be used)` });
            return;
          }
          const base = `admits ${b.what.join(', ')}`;
          if (u === null) {
            findings.push({ kind: 'over-broad-rule', severity: b.severity, namespace: p.namespace, policy: ref, rule: at, message: `${base}; pass --flows to get the narrower rule that admits the same traffic` });
            return;
          }
          // Narrower rules are written per namespace (a cluster-wide policy's callers span them), and
          // a policy is rewritten from the model, which keeps no L7 rule: such a policy is left as it is.
          const keptBecause = clusterWide ? 'no narrower rule is written for a cluster-wide policy' : hasL7(p) ? 'no narrower rule is written for a policy with L7 rules, which a rewrite would lose' : null;
          if (keptBecause !== null) {
            findings.push({ kind: 'over-broad-rule', severity: b.severity, namespace: p.namespace, policy: ref, rule: at, message: `${base}; ${u.count} of the ${flows!.length} connections given used it (${keptBecause})` });
            return;
          }
          const narrower = u.count === 0 ? [] : narrowerCiliumRules(p, d, u.samples);
          const used = u.count === 0 ? `none of the ${flows!.length} connections given used it: remove it (over a longer capture it may be used)` : `the ${u.count} connection${u.count === 1 ? '' : 's'} it admitted need only ${narrower.length} narrower rule${narrower.length === 1 ? '' : 's'}`;
          findings.push({ kind: 'over-broad-rule', severity: b.severity, namespace: p.namespace, policy: ref, rule: at, message: `${base}; ${used}`, narrower });
        });
      }
    });
  }
  return findings;
}

// The policy back as a manifest, as written (the model keeps every field the engine reads).
function selector(s: LabelSelector): Manifest {
  return { ...(Object.keys(s.matchLabels).length > 0 ? { matchLabels: { ...s.matchLabels } } : {}), ...(s.matchExpressions.length > 0 ? { matchExpressions: s.matchExpressions.map((e) => (e.operator === 'Exists' || e.operator === 'DoesNotExist' ? { key: e.key, operator: e.operator } : { key: e.key, operator: e.operator, values: [...e.values] })) } : {}) };
}

function peerFields(peers: readonly CiliumPeer[], d: Direction): Manifest {
  const from = d === 'ingress' ? 'from' : 'to';
  const out: Record<string, unknown[]> = {};
  const add = (key: string, v: unknown): void => void (out[key] ??= []).push(v);
  for (const q of peers) {
    if (q.kind === 'endpoints') add(`${from}Endpoints`, selector(q.selector));
    else if (q.kind === 'entity') add(`${from}Entities`, q.entity);
    else if (q.kind === 'cidr') add(`${from}CIDRSet`, { cidr: q.cidr, ...(q.except.length > 0 ? { except: [...q.except] } : {}) });
    else add('toFQDNs', q.matchName !== null ? { matchName: q.matchName } : { matchPattern: q.matchPattern });
  }
  return out;
}

function ruleManifest(r: CiliumRule, d: Direction): Manifest {
  const out: Manifest = r.peerMode === 'none' ? { [`${d === 'ingress' ? 'from' : 'to'}Endpoints`]: [] } : peerFields(r.peers, d);
  const l4 = (r.ports ?? []).filter((q) => !q.protocol.startsWith('ICMP'));
  const icmp = (r.ports ?? []).filter((q) => q.protocol.startsWith('ICMP'));
  if (l4.length > 0) out['toPorts'] = [{ ports: l4.map((q) => ({ port: String(q.port ?? 0), protocol: q.protocol, ...(q.endPort !== null ? { endPort: q.endPort } : {}) })) }];
  if (icmp.length > 0) out['icmps'] = [{ fields: icmp.map((q) => ({ type: q.port, family: q.protocol === 'ICMPv6' ? 'IPv6' : 'IPv4' })) }];
  return out;
}

/** One spec back as a manifest, with the rules of `narrowed` (by rule path) swapped for their replacements. */
function specManifest(p: CiliumPolicy, spec: CiliumSpec, k: number, narrowed: ReadonlyMap<string, readonly Manifest[]>): Manifest {
  const rules = (d: Direction): Manifest[] => spec[d].flatMap((r, i) => narrowed.get(rulePath(p, k, d, i)) ?? [ruleManifest(r, d)]);
  const out: Manifest = { endpointSelector: selector(spec.endpointSelector) };
  // A direction whose every rule was removed stays isolated: a rule that admits nothing.
  for (const d of ['ingress', 'egress'] as const) if (spec[d].length > 0) out[d] = rules(d).length > 0 ? rules(d) : [{}];
  if (spec.ingressDeny.length > 0) out['ingressDeny'] = spec.ingressDeny.map((r) => ruleManifest(r, 'ingress'));
  if (spec.egressDeny.length > 0) out['egressDeny'] = spec.egressDeny.map((r) => ruleManifest(r, 'egress'));
  if (!spec.defaultDenyIngress || !spec.defaultDenyEgress) out['enableDefaultDeny'] = { ingress: spec.defaultDenyIngress, egress: spec.defaultDenyEgress };
  return out;
}

/**
 * The narrowing contract for the Cilium findings, in the policies' own kind: each policy with
 * a narrowed rule gets its new text and is named in `spec.replaces`; null when none has one.
 */
export function ciliumNarrowingContract(name: string, policies: readonly CiliumPolicy[], findings: readonly Finding[]): Manifest | null {
  const byPolicy = narrowedRules(findings);
  const edited = policies.filter((p) => byPolicy.has(policyRef(p)));
  if (edited.length === 0) return null;
  const texts = edited.map((p) => {
    const specs = p.specs.map((s, k) => specManifest(p, s, k, byPolicy.get(policyRef(p))!));
    const metadata = p.namespace === '' ? { name: p.name } : { name: p.name, namespace: p.namespace };
    return { apiVersion: 'cilium.io/v2', kind: p.kind, metadata, ...(specs.length === 1 ? { spec: specs[0] } : { specs }) };
  });
  return replacingContract(name, texts, edited.map((p) => ({ kind: p.kind, ...(p.namespace === '' ? {} : { namespace: p.namespace }), name: p.name })));
}
