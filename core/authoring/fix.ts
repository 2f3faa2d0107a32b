/**
 * The smallest change that unblocks a contract (product.md "Authoring", authoring.md §4):
 * for each denied side of each given flow, one new rule in one new NetworkPolicy that admits
 * exactly that edge (workload → workload or /32 : port/protocol). Existing policies are never
 * edited, so no existing rule's peers × ports cross product is widened; a pod-to-pod flow
 * denied on both sides gets an egress and an ingress rule.
 *
 * A new policy must not isolate pods that were not isolated before (that would deny their
 * traffic). So its podSelector is the workload's selector AND the podSelector of a policy
 * that already isolates the pod in that direction: it only ever selects pods that were
 * isolated already, and adds allows to them.
 *
 * The fix is verified before it is returned: under policies ∪ fix every fixed flow is allowed,
 * and every flow given as `others` keeps its verdict unless it is on one of the fixed edges.
 */
import { err, ok, type Problem, type Result } from '../common/index.js';
import { flowEdge, workloadName, type Flow, type PodEndpoint } from '../flow/index.js';
import { isCiliumPolicy, parseNetworkPolicy, policyRef, selectorMatches, type LabelSelector, type NetworkPolicy, type Policy } from '../policy/index.js';
import { BOTH_SIDES, evaluatorFor } from './engine.js';
import { chooseSelectors, commonStableLabels } from './labels.js';
import { dnsLabel, rulesFor, type Manifest, type PeerNeed, type PortEntry } from './manifests.js';
import { hostCidr, ObservationSet, peerKey, type Direction, type PeerRef } from './observe.js';

export interface FixEdge {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  /** The side the new rule opens. */
  readonly side: Direction;
  /** The new policy that holds the rule (`ns/name`). */
  readonly policy: string;
  readonly flows: number;
}

export interface Unfixable {
  readonly edge: string;
  readonly reason: string;
}

export interface Fix {
  /** NetworkPolicies to add, as manifests. */
  readonly policies: readonly Manifest[];
  readonly parsed: readonly NetworkPolicy[];
  readonly edges: readonly FixEdge[];
  readonly unfixable: readonly Unfixable[];
  readonly verification: {
    /** Denied flows given. */
    readonly denied: number;
    /** Of them, allowed under policies ∪ fix. */
    readonly allowedAfter: number;
    /** Other flows checked for an unchanged verdict. */
    readonly othersChecked: number;
  };
}

type Obj = Readonly<Record<string, string>>;

const size = (s: LabelSelector): number => Object.keys(s.matchLabels).length + s.matchExpressions.length;

/** The podSelector of the simplest policy that isolates this pod in this direction, or null. */
function isolatingSelector(policies: readonly Policy[], pod: PodEndpoint, direction: Direction): LabelSelector | null {
  const type = direction === 'ingress' ? 'Ingress' : 'Egress';
  let best: LabelSelector | null = null;
  for (const p of policies) {
    if (isCiliumPolicy(p)) {
      // A CNP's endpointSelector serves as a podSelector when its keys are plain pod labels.
      if (p.namespace !== pod.namespace) continue;
      for (const spec of p.specs) {
        const sel = spec.endpointSelector;
        const keys = [...Object.keys(sel.matchLabels), ...sel.matchExpressions.map((e) => e.key)];
        const rules = direction === 'ingress' ? spec.ingress.length + spec.ingressDeny.length : spec.egress.length + spec.egressDeny.length;
        if (rules === 0 || keys.some((k) => k.includes(':') || k.startsWith('io.'))) continue;
        if (!selectorMatches(sel, pod.podLabels)) continue;
        if (best === null || size(sel) < size(best)) best = sel;
      }
      continue;
    }
    if (p.namespace !== pod.namespace || !p.policyTypes.includes(type) || !selectorMatches(p.podSelector, pod.podLabels)) continue;
    if (best === null || size(p.podSelector) < size(best)) best = p.podSelector;
  }
  return best;
}

function selectorManifest(workload: Obj, isolating: LabelSelector): Manifest {
  const matchLabels = { ...isolating.matchLabels, ...workload };
  const out: Manifest = {};
  if (Object.keys(matchLabels).length > 0) out['matchLabels'] = matchLabels;
  if (isolating.matchExpressions.length > 0) {
    out['matchExpressions'] = isolating.matchExpressions.map((r) => (r.operator === 'Exists' || r.operator === 'DoesNotExist' ? { key: r.key, operator: r.operator } : { key: r.key, operator: r.operator, values: [...r.values] }));
  }
  return out;
}

interface Group {
  readonly namespace: string;
  readonly workload: string;
  readonly direction: Direction;
  readonly podSelector: Manifest;
  readonly needs: Map<string, { peer: PeerRef; ports: Map<string, PortEntry> | null }>;
  readonly edges: Map<string, { from: string; to: string; port: number; protocol: string; flows: number }>;
}

export interface FixOptions {
  /**
   * The baseline inside `policies` (brownfield): a side the baseline alone already denies is
   * not the contract's doing, so it is left as it is (and listed as unfixable) rather than
   * opened, which would broaden access beyond what unblocks the contract.
   */
  readonly baseline?: readonly Policy[];
}

export function smallestFix(policies: readonly Policy[], denied: readonly Flow[], others: readonly Flow[] = [], options: FixOptions = {}): Result<Fix, Problem[]> {
  const before = evaluatorFor(policies);
  const baselineOnly = options.baseline === undefined ? null : evaluatorFor(options.baseline);
  // Workload selectors as edges name workloads. Where Hubble names the controller and its app
  // label is shared with siblings it does not name (bookinfo's reviews-v2 has app=reviews, like
  // reviews-v1), the fix uses every stable label the workload's pods share, so the siblings stay
  // closed; otherwise the workload is its app label, as in suggest.
  const obs = new ObservationSet();
  for (const f of [...denied, ...others]) obs.addConnection(f);
  const observed = [...obs.workloads.values()];
  const minimal = chooseSelectors(observed.map((w) => ({ key: w.key, namespace: w.namespace, labelSets: [...w.labelSets.values()] })));
  const selectors = new Map<string, Record<string, string>>();
  for (const w of observed) {
    const sel = minimal.get(w.key) ?? {};
    const common = commonStableLabels([...w.labelSets.values()]);
    const namedByController = w.kind !== '' && !Object.values(sel).includes(w.name);
    selectors.set(w.key, namedByController && Object.keys(common).length > 0 ? common : sel);
  }
  const workloadKey = (e: PodEndpoint): string => `${e.namespace}/${workloadName(e)}`;

  const groups = new Map<string, Group>();
  const unfixable: Unfixable[] = [];
  const fixedFlows: Flow[] = [];
  let deniedCount = 0;
  for (const flow of denied) {
    const e = before.evaluate(flow, BOTH_SIDES);
    if (e.verdict !== 'deny') continue;
    deniedCount++;
    const edge = flowEdge(flow);
    const edgeText = `${edge.from} → ${edge.to}:${edge.port}/${edge.protocol}`;
    let fixable = true;
    const l4 = flow.l4;
    const protocol = l4 !== null && (l4.protocol === 'TCP' || l4.protocol === 'UDP' || l4.protocol === 'SCTP') ? l4.protocol : null;
    const port = protocol === null ? 0 : l4!.destinationPort;
    const b = baselineOnly?.evaluate(flow, BOTH_SIDES) ?? null;
    for (const direction of ['egress', 'ingress'] as const) {
      if ((direction === 'egress' ? e.egress : e.ingress) !== 'deny') continue;
      if (b !== null && (direction === 'egress' ? b.egress : b.ingress) === 'deny') {
        unfixable.push({ edge: edgeText, reason: `${direction} side is already denied by the baseline alone: not this contract's doing, left as it is` });
        continue;
      }
      const self = direction === 'egress' ? flow.source : flow.destination;
      const peer = direction === 'egress' ? flow.destination : flow.source;
      const peerIp = direction === 'egress' ? flow.ip?.destination : flow.ip?.source;
      if (self.kind !== 'pod') {
        unfixable.push({ edge: edgeText, reason: `${direction} side: the pod's labels are unknown` });
        fixable = false;
        continue;
      }
      let ref: PeerRef;
      if (peer.kind === 'pod') ref = { kind: 'workload', workload: workloadKey(peer), namespace: peer.namespace };
      else if ((peer.kind === 'external' || (peer.kind === 'reserved' && peer.name === 'kube-apiserver')) && peerIp) ref = { kind: 'cidr', cidr: hostCidr(peerIp) };
      else if (peer.kind === 'reserved' && (peer.name === 'health' || peer.name === 'ingress')) ref = { kind: 'any', what: `reserved:${peer.name}` };
      else {
        unfixable.push({ edge: edgeText, reason: `${direction} side: the peer cannot be named by a selector or an ipBlock (${peer.kind === 'reserved' ? `reserved:${peer.name}` : peer.kind})` });
        fixable = false;
        continue;
      }
      const isolating = isolatingSelector(policies, self, direction);
      if (isolating === null) {
        unfixable.push({ edge: edgeText, reason: `${direction} side is denied but no policy of the set selects the pod: its labels are not what the policies read` });
        fixable = false;
        continue;
      }
      const wk = workloadKey(self);
      const podSelector = selectorManifest(selectors.get(wk) ?? {}, isolating);
      const gk = `${self.namespace}\u0000${direction}\u0000${JSON.stringify(podSelector)}`;
      let g = groups.get(gk);
      if (g === undefined) {
        g = { namespace: self.namespace, workload: wk.slice(self.namespace.length + 1), direction, podSelector, needs: new Map(), edges: new Map() };
        groups.set(gk, g);
      }
      const pk = peerKey(ref);
      let need = g.needs.get(pk);
      if (need === undefined) {
        need = { peer: ref, ports: new Map() };
        g.needs.set(pk, need);
      }
      if (protocol === null) need.ports = null;
      else if (need.ports !== null) need.ports.set(`${protocol}/${port}`, { protocol, port });
      const ek = `${edgeText}`;
      const ge = g.edges.get(ek);
      if (ge) ge.flows++;
      else g.edges.set(ek, { from: edge.from, to: edge.to, port: edge.port, protocol: edge.protocol, flows: 1 });
    }
    if (fixable) fixedFlows.push(flow);
  }

  const taken = new Set(policies.map(policyRef));
  const manifests: Manifest[] = [];
  const edges: FixEdge[] = [];
  const ordered = [...groups.values()].sort((a, b) => (a.namespace + a.workload + a.direction < b.namespace + b.workload + b.direction ? -1 : 1));
  for (const g of ordered) {
    let name = dnsLabel(`fix-${g.workload}-${g.direction}`);
    for (let i = 2; taken.has(`${g.namespace}/${name}`); i++) name = dnsLabel(`fix-${g.workload}-${g.direction}-${i}`);
    taken.add(`${g.namespace}/${name}`);
    const needs: PeerNeed[] = [...g.needs.values()].map((n) => ({ peer: n.peer, ports: n.ports === null ? null : [...n.ports.values()] }));
    const rules = rulesFor(g.direction, needs, g.namespace, (w) => selectors.get(w) ?? {});
    manifests.push({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: { name, namespace: g.namespace, annotations: { 'rampart.dev/fix-for': [...g.edges.keys()].join('; ').slice(0, 1000) } },
      spec: { podSelector: g.podSelector, policyTypes: [g.direction === 'ingress' ? 'Ingress' : 'Egress'], [g.direction]: rules },
    });
    for (const e of g.edges.values()) edges.push({ ...e, side: g.direction, policy: `${g.namespace}/${name}` });
  }

  const problems: Problem[] = [];
  const parsed: NetworkPolicy[] = [];
  manifests.forEach((m, i) => {
    const r = parseNetworkPolicy(m, `fix[${i}]`);
    if (r.ok) parsed.push(r.value);
    else problems.push(...r.error);
  });
  if (problems.length > 0) return err(problems);

  // Verify by re-evaluation: every fixed flow is allowed now.
  const after = evaluatorFor([...policies, ...parsed]);
  let allowedAfter = 0;
  for (const f of fixedFlows) {
    const e = after.evaluate(f, BOTH_SIDES);
    const b = baselineOnly?.evaluate(f, BOTH_SIDES) ?? null;
    // Sides the baseline alone denies stay denied on purpose; every other side must be allowed now.
    const ok = (['egress', 'ingress'] as const).every((d) => (d === 'egress' ? e.egress : e.ingress) !== 'deny' || (b !== null && (d === 'egress' ? b.egress : b.ingress) === 'deny'));
    if (e.verdict === 'allow' || (ok && b !== null)) allowedAfter++;
    else {
      const x = flowEdge(f);
      problems.push({ path: `${x.from} → ${x.to}:${x.port}/${x.protocol}`, message: `still ${e.verdict} after the fix (${e.reason}); this is a bug` });
    }
  }
  // ... and nothing else changed, except flows on the fixed edges.
  const fixedEdgeKeys = new Set(edges.map((e) => `${e.from}|${e.to}|${e.port}|${e.protocol}`));
  for (const f of others) {
    const a = before.evaluate(f, BOTH_SIDES);
    const b = after.evaluate(f, BOTH_SIDES);
    if (a.egress === b.egress && a.ingress === b.ingress) continue;
    const x = flowEdge(f);
    if (fixedEdgeKeys.has(`${x.from}|${x.to}|${x.port}|${x.protocol}`)) continue;
    problems.push({ path: `${x.from} → ${x.to}:${x.port}/${x.protocol}`, message: `the fix changes this flow's verdict (${a.verdict} → ${b.verdict}) though it is not one of the denied edges` });
  }
  if (problems.length > 0) return err(problems);
  return ok({ policies: manifests, parsed, edges, unfixable, verification: { denied: deniedCount, allowedAfter, othersChecked: others.length } });
}
