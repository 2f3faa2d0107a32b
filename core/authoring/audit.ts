/**
 * `rampart audit` (product.md "Authoring", authoring.md §3): what is wrong with the policies
 * already written, in NCA's vocabulary plus the traffic dimension:
 * - open namespaces: pods and no policy at all (high), or no isolation in one direction (medium);
 * - policies that select no pod (medium: usually a label typo);
 * - unused rules: admit none of the given flows (low; only as good as the capture's span);
 * - over-broad rules: any peer, any namespace, any pod, 0.0.0.0/0 or ::/0, all ports, each
 *   with the narrower rule that admits the same observed traffic (built the way suggest
 *   builds rules, from the flows the rule admitted);
 * - redundant policies: fully covered by another policy (same pods or fewer, its rules
 *   contained in the other's), or, over the given flows, removable without changing a verdict;
 * - public entry points (info, never a failure): world ingress on the serving ports of a
 *   workload behind a LoadBalancer/NodePort Service or an Ingress, kept on purpose.
 * Pods come from --pods, else the workloads of --manifests, else the flows; system namespaces
 * are left out unless named (their own pods run the cluster and are rarely locked down).
 */
import { flowEdge, type Flow } from '../flow/index.js';
import { endpointSelectorSelects, NO, policyRef, selectorMatches, type CiliumPolicy, type LabelSelector, type NetworkPolicy, type Peer, type PolicyRule, type PortMatch } from '../policy/index.js';
import { BOTH_SIDES, evaluatorFor } from './engine.js';
import { chooseSelectors, type Labels } from './labels.js';
import { needsByPeer, rulesFor, type Manifest } from './manifests.js';
import { ObservationSet, type Direction } from './observe.js';
import { WORLD_CIDRS, type PublicEntryPoint } from './from-manifests.js';
import { indexFlows, ruleUsage } from './rule-usage.js';
import { SYSTEM_NAMESPACES } from './suggest.js';

/** What `--fail-on` accepts; findings may also be `info`, which never fails a run. */
export const SEVERITIES = ['low', 'medium', 'high'] as const;
export type Severity = (typeof SEVERITIES)[number];
export type FindingSeverity = 'info' | Severity;

export type FindingKind = 'open-namespace' | 'open-direction' | 'selects-no-pod' | 'unused-rule' | 'over-broad-rule' | 'redundant-policy' | 'public-entry-point';

export interface Finding {
  readonly kind: FindingKind;
  readonly severity: FindingSeverity;
  readonly namespace: string;
  /** `ns/name`, or null for namespace findings. */
  readonly policy: string | null;
  /** `ingress[0]` / `egress[2]`, or null. */
  readonly rule: string | null;
  readonly message: string;
  /** For over-broad rules: the rules that admit the same observed traffic (empty: remove the rule). */
  readonly narrower?: readonly Manifest[];
}

export interface AuditPod {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Labels;
}

/** Where the pods of an audit came from. */
export type PodSource = 'pods' | 'manifests' | 'flows' | 'none';

export interface AuditInput {
  readonly policies: readonly NetworkPolicy[];
  /** Pods of the cluster (--pods, or one per workload of --manifests); null when unknown (then pods seen in the flows are used). */
  readonly pods: readonly AuditPod[] | null;
  /** What `pods` are: `pods` (default) or `manifests` (one stands for each workload). */
  readonly podSource?: 'pods' | 'manifests';
  /** Connection starts (--flows), or null. */
  readonly flows: readonly Flow[] | null;
  /** Namespaces to audit (--namespaces); default every one but SYSTEM_NAMESPACES. */
  readonly namespaces?: readonly string[] | null;
  /** Workloads the world or an ingress controller reaches (from --manifests). */
  readonly publicEntryPoints?: readonly PublicEntryPoint[];
  /** Cilium policies in force: they isolate pods too (their rules are audited by cilium-audit.ts). */
  readonly cilium?: readonly CiliumPolicy[];
}

/** Whether a Cilium policy may isolate the pod in that direction (a spec selecting it with rules there, default deny on). */
function ciliumIsolates(p: CiliumPolicy, pod: AuditPod, type: 'Ingress' | 'Egress'): boolean {
  if (p.namespace !== '' && p.namespace !== pod.namespace) return false;
  return p.specs.some((s) => {
    const on = type === 'Ingress' ? s.ingress.length + s.ingressDeny.length > 0 && s.defaultDenyIngress : s.egress.length + s.egressDeny.length > 0 && s.defaultDenyEgress;
    return on && endpointSelectorSelects(s.endpointSelector, p.namespace === '' ? null : p.namespace, pod.namespace, pod.labels) !== NO;
  });
}

export interface AuditReport {
  readonly findings: readonly Finding[];
  readonly policies: number;
  readonly namespaces: number;
  readonly pods: number;
  readonly podSource: PodSource;
  readonly flows: number;
  /** What was left out or could not be checked. */
  readonly notes: readonly string[];
}

const rank = (s: FindingSeverity): number => (s === 'info' ? -1 : SEVERITIES.indexOf(s));
export const atLeast = (s: FindingSeverity, threshold: Severity): boolean => rank(s) >= rank(threshold);

const isEmpty = (s: LabelSelector | null): boolean => s !== null && Object.keys(s.matchLabels).length === 0 && s.matchExpressions.length === 0;
const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/** What makes a rule broad, in words; empty when it is not. */
export function ruleBreadth(rule: PolicyRule): { what: string[]; severity: Severity } {
  const what: string[] = [];
  let severity: Severity = 'medium';
  if (rule.peers.length === 0) {
    what.push('any peer (every pod of every namespace and every IP)');
    severity = 'high';
  }
  for (const p of rule.peers) {
    if (p.kind === 'ipBlock') {
      if (p.cidr.endsWith('/0')) {
        what.push(`ipBlock ${p.cidr} (every address${p.except.length > 0 ? ` but ${p.except.length} excepted range${p.except.length === 1 ? '' : 's'}` : ''})`);
        severity = 'high';
      }
    } else if (isEmpty(p.namespaceSelector)) what.push(isEmpty(p.podSelector) || p.podSelector === null ? 'any pod of any namespace' : 'any namespace');
    else if (p.namespaceSelector === null && isEmpty(p.podSelector)) what.push('any pod of the namespace');
  }
  if (rule.ports.length === 0) what.push('all ports');
  else if (rule.ports.some((p) => p.port === null)) what.push('all ports of a protocol');
  else if (rule.ports.some((p) => typeof p.port === 'number' && p.endPort !== null && p.endPort - p.port >= 1000)) what.push('a port range of 1000 or more');
  return { what, severity };
}

function portContains(q: PortMatch, p: PortMatch): boolean {
  if (q.protocol !== p.protocol) return false;
  if (q.port === null) return true;
  if (p.port === null) return false;
  if (typeof q.port === 'string' || typeof p.port === 'string') return q.port === p.port && q.endPort === null && p.endPort === null;
  const qEnd = q.endPort ?? q.port;
  const pEnd = p.endPort ?? p.port;
  return q.port <= p.port && pEnd <= qEnd;
}

/** Sufficient (not necessary) containment of one rule in another: what q admits ⊇ what p admits. */
function ruleContains(q: PolicyRule, p: PolicyRule): boolean {
  const peersOk = q.peers.length === 0 || (p.peers.length > 0 && p.peers.every((pp: Peer) => q.peers.some((qp) => same(qp, pp))));
  const portsOk = q.ports.length === 0 || (p.ports.length > 0 && p.ports.every((pp) => q.ports.some((qp) => portContains(qp, pp))));
  return peersOk && portsOk;
}

/** q makes p redundant: q selects every pod p selects (empty or equal selector), isolates the same directions, and its rules contain p's. */
function covers(q: NetworkPolicy, p: NetworkPolicy): boolean {
  if (q.namespace !== p.namespace) return false;
  if (!(isEmpty(q.podSelector) || same(q.podSelector, p.podSelector))) return false;
  for (const t of p.policyTypes) if (!q.policyTypes.includes(t)) return false;
  const ok = (qs: readonly PolicyRule[], ps: readonly PolicyRule[]): boolean => ps.every((pr) => qs.some((qr) => ruleContains(qr, pr)));
  return ok(q.ingress, p.ingress) && ok(q.egress, p.egress);
}

/**
 * The rules that admit what `samples` used of a broad rule. World clients on ingress keep the
 * world (0.0.0.0/0, ::/0) on their ports: a public entry point pinned to the addresses of one
 * capture would lock the public out.
 */
export function narrowerRules(policy: { readonly namespace: string }, direction: Direction, samples: readonly Flow[]): Manifest[] {
  const obs = new ObservationSet();
  for (const f of samples) obs.addConnection(f, direction === 'ingress' && f.source.kind === 'external' ? { externalSourceCidrs: WORLD_CIDRS } : undefined);
  const selectors = chooseSelectors([...obs.workloads.values()].map((w) => ({ key: w.key, namespace: w.namespace, labelSets: [...w.labelSets.values()] })));
  const needs = [...needsByPeer([...obs.edges.values()].filter((e) => e.direction === direction && e.namespace === policy.namespace)).values()];
  return rulesFor(direction, needs, policy.namespace, (w) => selectors.get(w) ?? {});
}

/** Samples kept per rule to build its narrower replacement. */
const NARROWING_SAMPLES = 2000;

/** Most severe first, then by namespace and policy (in place). */
export function sortFindings(findings: Finding[]): Finding[] {
  return findings.sort((a, b) => rank(b.severity) - rank(a.severity) || (a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : 0) || ((a.policy ?? '') < (b.policy ?? '') ? -1 : 1));
}

export function audit(input: AuditInput): AuditReport {
  const findings: Finding[] = [];
  const notes: string[] = [];
  const explicit = input.namespaces != null && input.namespaces.length > 0;
  const audited = (ns: string): boolean => (explicit ? input.namespaces!.includes(ns) : !SYSTEM_NAMESPACES.includes(ns));
  const policies = [...input.policies].filter((p) => audited(p.namespace)).sort((a, b) => (policyRef(a) < policyRef(b) ? -1 : 1));
  const fromFlows = input.pods === null;
  const pods: AuditPod[] = [];
  if (input.pods !== null) pods.push(...input.pods);
  else if (input.flows !== null) {
    const seen = new Set<string>();
    for (const f of input.flows) {
      for (const e of [f.source, f.destination]) {
        if (e.kind !== 'pod') continue;
        const k = `${e.namespace}/${e.podName}/${e.labels.join(',')}`;
        if (seen.has(k)) continue;
        seen.add(k);
        pods.push({ namespace: e.namespace, name: e.podName, labels: e.podLabels });
      }
    }
  }
  const podSource: PodSource = input.pods !== null ? (input.podSource ?? 'pods') : input.flows !== null ? 'flows' : 'none';
  if (podSource === 'none') notes.push('no pods given (--pods, --manifests or --flows): open namespaces and policies that select no pod were not checked');
  const left = [...new Set([...pods.map((p) => p.namespace), ...input.policies.map((p) => p.namespace)])].filter((ns) => !audited(ns)).sort();
  if (left.length > 0) notes.push(explicit ? `left out ${left.join(', ')} (not in --namespaces)` : `left out ${left.filter((n) => SYSTEM_NAMESPACES.includes(n)).join(', ')}: system namespaces run the cluster's own services; name them with --namespaces to audit them`);
  const podsByNs = new Map<string, AuditPod[]>();
  for (const p of pods) if (audited(p.namespace)) podsByNs.set(p.namespace, [...(podsByNs.get(p.namespace) ?? []), p]);
  const policiesByNs = new Map<string, NetworkPolicy[]>();
  for (const p of policies) policiesByNs.set(p.namespace, [...(policiesByNs.get(p.namespace) ?? []), p]);
  const source = fromFlows ? ' seen in the flows' : '';
  const unit = (n: number): string => (podSource === 'manifests' ? `workload${n === 1 ? '' : 's'}` : `pod${n === 1 ? '' : 's'}`);

  // Open namespaces and directions.
  for (const ns of [...podsByNs.keys()].sort()) {
    const nsPods = podsByNs.get(ns)!;
    const nsPolicies = policiesByNs.get(ns) ?? [];
    const ciliumHere = (input.cilium ?? []).filter((p) => p.namespace === '' || p.namespace === ns);
    if (nsPolicies.length === 0 && ciliumHere.length === 0) {
      findings.push({ kind: 'open-namespace', severity: 'high', namespace: ns, policy: null, rule: null, message: `${nsPods.length} ${unit(nsPods.length)}${source} and no NetworkPolicy: every connection to and from them is allowed` });
      continue;
    }
    for (const type of ['Ingress', 'Egress'] as const) {
      const open = nsPods.filter((p) => !nsPolicies.some((q) => q.policyTypes.includes(type) && selectorMatches(q.podSelector, p.labels)) && !ciliumHere.some((q) => ciliumIsolates(q, p, type)));
      if (open.length > 0) {
        const names = open.slice(0, 3).map((p) => p.name || '(unnamed)').join(', ');
        findings.push({ kind: 'open-direction', severity: 'medium', namespace: ns, policy: null, rule: null, message: `${open.length} of ${nsPods.length} ${unit(nsPods.length)}${source} not isolated for ${type.toLowerCase()} (${names}${open.length > 3 ? ', …' : ''})` });
      }
    }
  }

  // Policies that select no pod.
  if (pods.length > 0) {
    for (const p of policies) {
      if (!(podsByNs.get(p.namespace) ?? []).some((x) => selectorMatches(p.podSelector, x.labels))) {
        findings.push({
          kind: 'selects-no-pod',
          severity: fromFlows ? 'low' : 'medium',
          namespace: p.namespace,
          policy: policyRef(p),
          rule: null,
          message: `its podSelector matches no pod${source} in ${p.namespace}: a label typo, or a workload that is gone`,
        });
      }
    }
  }

  // Rule usage over the flows: unused and over-broad rules.
  const usage = input.flows === null ? null : ruleUsage(policies, indexFlows(input.flows), NARROWING_SAMPLES);
  const usageOf = (ref: string, d: Direction, i: number) => usage?.find((u) => u.policy === ref && u.direction === d && u.index === i) ?? null;
  for (const p of policies) {
    const ref = policyRef(p);
    for (const d of ['ingress', 'egress'] as const) {
      (d === 'ingress' ? p.ingress : p.egress).forEach((rule, i) => {
        const u = usageOf(ref, d, i);
        const at = `${d}[${i}]`;
        const b = ruleBreadth(rule);
        const entry = d === 'ingress' ? publicEntryFor(p, rule, input.publicEntryPoints ?? []) : null;
        if (entry !== null) {
          findings.push({ kind: 'public-entry-point', severity: 'info', namespace: p.namespace, policy: ref, rule: at, message: `admits ${rule.peers.length === 0 ? 'any peer' : 'the world'} on ${entry.ports}: kept, because ${entry.reason} (a public entry point; pinning it to the clients of one capture would lock the public out)` });
          return;
        }
        // World ipBlocks on ports, used only by clients outside the cluster: already as narrow
        // as that traffic allows (pinning it to one capture's addresses locks the public out).
        const worldOnly = d === 'ingress' && rule.peers.length > 0 && rule.peers.every((x) => x.kind === 'ipBlock' && x.cidr.endsWith('/0') && x.except.length === 0) && rule.ports.length > 0 && rule.ports.every((q) => q.port !== null);
        if (worldOnly && u !== null && u.count > 0 && u.samples.every((f) => f.source.kind === 'external')) {
          const ports = rule.ports.map((q) => `${q.protocol}/${String(q.port)}${q.endPort !== null ? `-${q.endPort}` : ''}`).join(', ');
          findings.push({ kind: 'public-entry-point', severity: 'info', namespace: p.namespace, policy: ref, rule: at, message: `admits the world on ${ports}: kept, because only clients outside the cluster used it (${u.count} connection${u.count === 1 ? '' : 's'}): a public entry point (--manifests names the Service that exposes it)` });
          return;
        }
        if (b.what.length === 0) {
          if (u !== null && u.count === 0) findings.push({ kind: 'unused-rule', severity: 'low', namespace: p.namespace, policy: ref, rule: at, message: `admits none of the ${input.flows!.length} connections given (over a longer capture it may be used)` });
          return;
        }
        // One finding per rule: a broad rule that admitted nothing is over-broad and unused at once.
        const base = `admits ${b.what.join(', ')}`;
        if (u === null) {
          findings.push({ kind: 'over-broad-rule', severity: b.severity, namespace: p.namespace, policy: ref, rule: at, message: `${base}; pass --flows to get the narrower rule that admits the same traffic` });
          return;
        }
        const narrower = u.count === 0 ? [] : narrowerRules(p, d, u.samples);
        const world = d === 'ingress' && u.samples.some((f) => f.source.kind === 'external');
        const used =
          u.count === 0
            ? `none of the ${input.flows!.length} connections given used it: remove it (over a longer capture it may be used)`
            : `the ${u.count} connection${u.count === 1 ? '' : 's'} it admitted need only ${narrower.length} narrower rule${narrower.length === 1 ? '' : 's'}${u.count > u.samples.length ? ` (built from ${u.samples.length} of them)` : ''}${world ? '; clients outside the cluster used it, so the narrower rule keeps the world on those ports (a public entry point; pass --manifests to say which Service exposes it)' : ''}`;
        findings.push({ kind: 'over-broad-rule', severity: b.severity, namespace: p.namespace, policy: ref, rule: at, message: `${base}; ${used}`, narrower });
      });
    }
  }

  // Redundant policies: covered by another, or removable without changing a verdict over the flows.
  const redundant = new Set<string>();
  policies.forEach((p, i) => {
    const coverer = policies.find((q, j) => j !== i && covers(q, p) && !(covers(p, q) && j > i));
    if (coverer !== undefined) {
      redundant.add(policyRef(p));
      findings.push({ kind: 'redundant-policy', severity: 'low', namespace: p.namespace, policy: policyRef(p), rule: null, message: `fully covered by ${policyRef(coverer)}: it selects the same pods or more, and its rules contain every rule of this one` });
    }
  });
  if (input.flows !== null && input.flows.length > 0) {
    const all = evaluatorFor(policies);
    const verdicts = input.flows.map((f) => all.evaluate(f, BOTH_SIDES));
    for (const p of policies) {
      const ref = policyRef(p);
      if (redundant.has(ref)) continue;
      // A default-deny isolates pods the capture never showed (new ones too): never "redundant" by traffic.
      if (p.ingress.length === 0 && p.egress.length === 0) continue;
      // Removed together with every policy already found redundant, so they can all go at once.
      const without = evaluatorFor(policies.filter((q) => q !== p && !redundant.has(policyRef(q))));
      const changed = input.flows.findIndex((f, i) => {
        const e = without.evaluate(f, BOTH_SIDES);
        return e.egress !== verdicts[i]!.egress || e.ingress !== verdicts[i]!.ingress;
      });
      if (changed >= 0) continue;
      const selects = input.flows.some((f) => [f.source, f.destination].some((e) => e.kind === 'pod' && e.namespace === p.namespace && selectorMatches(p.podSelector, e.podLabels)));
      if (!selects) continue; // nothing of it was exercised: the unused and selects-no-pod findings say so
      redundant.add(ref);
      findings.push({ kind: 'redundant-policy', severity: 'low', namespace: p.namespace, policy: ref, rule: null, message: `removing it changes the verdict of none of the ${input.flows.length} connections given: other policies already decide them` });
    }
  }

  sortFindings(findings);
  return { findings, policies: policies.length, namespaces: new Set([...podsByNs.keys(), ...policiesByNs.keys()]).size, pods: [...podsByNs.values()].reduce((n, l) => n + l.length, 0), podSource, flows: input.flows?.length ?? 0, notes };
}

/**
 * The public entry point an ingress rule serves, when the rule's peers are the world (no
 * peers, or ipBlocks of /0) and its ports are the entry point's serving ports, on pods the
 * policy selects.
 */
function publicEntryFor(p: NetworkPolicy, rule: PolicyRule, entries: readonly PublicEntryPoint[]): { ports: string; reason: string } | null {
  if (rule.peers.some((x) => x.kind !== 'ipBlock' || !x.cidr.endsWith('/0'))) return null;
  if (rule.ports.length === 0) return null;
  for (const e of entries) {
    if (e.namespace !== p.namespace || !selectorMatches(p.podSelector, e.labels)) continue;
    const serves = rule.ports.every((q) => typeof q.port === 'number' && (q.endPort === null || q.endPort === q.port) && e.ports.some((s) => s.protocol === q.protocol && s.port === q.port));
    if (serves) return { ports: rule.ports.map((q) => `${q.protocol}/${String(q.port)}`).join(', '), reason: e.reason };
  }
  return null;
}

/** `ns/wl → ns/wl:port/proto` of a flow, for messages. */
export const edgeText = (f: Flow): string => {
  const e = flowEdge(f);
  return `${e.from} → ${e.to}:${e.port}/${e.protocol}`;
};
