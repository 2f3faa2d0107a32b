/**
 * Deciding one side (the egress of the source or the ingress of the destination): which
 * policies isolate it, whether one of them admits the connection, with memoised results per
 * endpoint identity, peer and port, and a reason a person can act on.
 */
import type { Endpoint, Flow } from '../flow/index.js';
import { ciliumIndexOf, factsFor, MAX_RESULTS_PER_SIDE, noteResult, type EndpointFacts, type SideCandidates } from './cache.js';
import { EMPTY_INDEX, type CompiledPolicy } from './compiled.js';
import { endpointName, listRefs, portName } from './describe.js';
import { admitTrit, classifyPeer, denyTrit, maybe, PEER_EXTERNAL, PEER_INFRA, PEER_POD, PROTO_CODES, type Direction, type MatchContext } from './match.js';
import { matchSelector } from './selector.js';
import { MAYBE, NO, YES, type Trit } from './trit.js';
import type { SideResult, SideVerdict } from './verdict.js';

export const sideResult = (verdict: SideVerdict, policies: readonly string[], reason: string): SideResult => ({ verdict, policies, reason, alone: null });

/** Policy refs, each once (a Cilium policy with several specs is several candidates). */
function uniqueRefs(policies: readonly CompiledPolicy[], keep: (i: number) => boolean): string[] {
  const refs: string[] = [];
  for (let i = 0; i < policies.length; i++) if (keep(i) && !refs.includes(policies[i]!.ref)) refs.push(policies[i]!.ref);
  return refs;
}

/**
 * Decides one side from its candidate policies. `selected[i]` is whether policy i selects the
 * endpoint (YES, or MAYBE when that cannot be told). Cilium's order: a matching deny rule of a
 * selecting policy denies whatever allows it; else the side is denied when some selecting
 * policy isolates it and no selecting policy admits the connection; else allowed.
 * With Y the surely-selecting candidates and M the possibly-selecting ones: allowed for sure iff
 * no deny rule may match and (some policy in Y admits, or none in Y isolates and every
 * isolating policy in M admits); denied for sure iff a deny rule of Y matches, or some policy
 * in Y isolates and nothing in Y or M can admit.
 */
function decide(C: MatchContext, policies: readonly CompiledPolicy[], selected: readonly Trit[] | null, selfName: string, selfUnknown: boolean): SideResult {
  let anySureIso = false;
  let sureAdmits = false;
  let allMaybeIsoAdmit = true;
  let noneCanAdmit = true;
  let denySure = -1;
  let denyMaybe = false;
  let anyIso = false;
  const dir = C.dir;
  // Kept per policy so the explanation below never asks a resolver twice.
  if (C.admits.length < policies.length) C.admits = new Uint8Array(policies.length * 2);
  const admits = C.admits;
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i]!;
    const s = selected === null ? MAYBE : selected[i]!;
    const d = denyTrit(C, p);
    if (d !== NO) {
      const both = d < s ? d : s;
      if (both === YES) {
        if (denySure < 0) denySure = i;
      } else denyMaybe = true;
    }
    const a = admitTrit(C, p);
    admits[i] = a;
    const iso = dir === 'ingress' ? p.isolatesIngress : p.isolatesEgress;
    if (iso) anyIso = true;
    if (s === YES) {
      if (iso) anySureIso = true;
      if (a === YES) sureAdmits = true;
    } else if (iso && a !== YES) allMaybeIsoAdmit = false;
    if (a !== NO) noneCanAdmit = false;
  }
  if (!C.reasons) {
    // The same conditions as below, without the refs and reasons (and the explain pass).
    const only = C.verdictOnly[dir];
    if (denySure >= 0) return only.deny;
    if (!denyMaybe && (sureAdmits || (!anySureIso && allMaybeIsoAdmit))) return only.allow;
    if (anySureIso && noneCanAdmit) return only.deny;
    return only.indeterminate;
  }
  const peer = endpointName(C.peer, C.peerIpText);
  const toFrom = dir === 'egress' ? 'to' : 'from';
  if (denySure >= 0) {
    const refs = uniqueRefs(policies, (i) => (selected === null ? MAYBE : selected[i]!) === YES && policies[i]!.ref === policies[denySure]!.ref);
    return sideResult('deny', refs, `${dir} of ${selfName} denied by a deny rule of ${listRefs(refs)} ${toFrom} ${peer} on ${portName(C.flow)}`);
  }
  if (!denyMaybe && (sureAdmits || (!anySureIso && allMaybeIsoAdmit))) {
    const refs = uniqueRefs(policies, (i) => (sureAdmits ? (selected === null ? MAYBE : selected[i]!) === YES : true) && admits[i] === YES);
    if (refs.length === 0 && !anyIso) {
      return sideResult('allow', [], `${dir} of ${selfName} not isolated (the policies selecting it set enableDefaultDeny false for ${dir}) and no deny rule matches`);
    }
    return sideResult('allow', refs, sureAdmits ? `${dir} allowed by ${listRefs(refs)}` : `${dir} allowed: every policy that may isolate ${selfName} admits it (${listRefs(refs)})`);
  }
  if (anySureIso && noneCanAdmit && !denyMaybe) {
    const refs = uniqueRefs(policies, (i) => (selected === null ? MAYBE : selected[i]!) === YES && (dir === 'ingress' ? policies[i]!.isolatesIngress : policies[i]!.isolatesEgress));
    return sideResult('deny', refs, `${dir} of ${selfName} isolated by ${listRefs(refs)}; no rule admits ${toFrom} ${peer} on ${portName(C.flow)}`);
  }
  if (anySureIso && noneCanAdmit) {
    // A deny rule may or may not match, but nothing admits: denied either way.
    const refs = uniqueRefs(policies, (i) => (selected === null ? MAYBE : selected[i]!) === YES);
    return sideResult('deny', refs, `${dir} of ${selfName} isolated by ${listRefs(refs)}; no rule admits ${toFrom} ${peer} on ${portName(C.flow)}`);
  }
  // Undecided: run again in explain mode to find the first cause of doubt.
  C.explain = true;
  C.why = null;
  for (let i = 0; i < policies.length; i++) {
    const p = policies[i]!;
    const s = selected === null ? MAYBE : selected[i]!;
    if (s === MAYBE) {
      const key = p.subject === null ? p.podSelector.filteredKey : p.subject.filteredKey;
      maybe(
        C,
        selfUnknown
          ? `the identity labels of ${selfName} are unknown, so whether ${p.ref} selects it cannot be told`
          : `whether ${p.ref} selects ${selfName} cannot be told: selector key "${key}" is dropped from Cilium identity labels`,
      );
    }
    denyTrit(C, p);
    admitTrit(C, p);
  }
  C.explain = false;
  const refs = uniqueRefs(policies, () => true);
  return sideResult('indeterminate', refs, `${dir} of ${selfName} undecided: ${C.why ?? 'evidence is missing'} (${anySureIso ? 'isolated' : 'may be isolated'} by ${listRefs(refs)})`);
}

const NODE_ALLOWED: Readonly<Record<Direction, Readonly<Record<'host' | 'remote-node', SideResult>>>> = {
  egress: {
    host: sideResult('allow', [], 'egress to reserved:host is always allowed (traffic with the pod\'s node)'),
    'remote-node': sideResult('allow', [], 'egress to reserved:remote-node is always allowed (traffic with nodes)'),
  },
  ingress: {
    host: sideResult('allow', [], 'ingress from reserved:host is always allowed (traffic from the pod\'s node)'),
    'remote-node': sideResult('allow', [], 'ingress from reserved:remote-node is always allowed (traffic from nodes)'),
  },
};

function newCandidates(policies: readonly CompiledPolicy[], selected: readonly Trit[], dir: Direction, base: SideCandidates | null): SideCandidates {
  return {
    policies,
    selected,
    namedPorts: policies.some((p) => (dir === 'ingress' ? p.namedPortsIngress : p.namedPortsEgress)),
    fqdn: dir === 'egress' && policies.some((p) => p.fqdn),
    results: new Map(),
    resultCount: 0,
    notIsolated: null,
    base,
  };
}

function candidatesFor(C: MatchContext, facts: EndpointFacts, dir: Direction): SideCandidates {
  const known = dir === 'ingress' ? facts.ingress : facts.egress;
  if (known !== null) return known;
  const index = C.set.byNamespace.get(facts.namespace) ?? EMPTY_INDEX;
  const policies: CompiledPolicy[] = [];
  const selected: Trit[] = [];
  let changed = false;
  // Only policies of the pod's own namespace can select it (rule 1, pitfall 24), and the
  // cluster-wide ones (CCNP), whose selectors read every identity label.
  const consider = (p: CompiledPolicy): void => {
    const t = p.subject === null ? matchSelector(p.podSelector, facts.endpoint.podLabels) : matchSelector(p.subject, ciliumIndexOf(facts));
    if (t === NO) return;
    policies.push(p);
    selected.push(t);
    if (p.inBefore !== p.inAfter) changed = true;
  };
  for (const p of dir === 'ingress' ? index.ingress : index.egress) consider(p);
  for (const p of dir === 'ingress' ? C.set.clusterWide.ingress : C.set.clusterWide.egress) consider(p);
  // A change set: *after*'s candidates, and *before*'s in the same order when the change
  // touches this side (null: the side's verdict is the same under both).
  const c = changed
    ? newCandidates(
        policies.filter((p) => p.inAfter),
        selected.filter((_, i) => policies[i]!.inAfter),
        dir,
        newCandidates(policies.filter((p) => p.inBefore), selected.filter((_, i) => policies[i]!.inBefore), dir, null),
      )
    : newCandidates(policies, selected, dir, null);
  if (dir === 'ingress') facts.ingress = c;
  else facts.egress = c;
  return c;
}

/** The memo key of the peer for side results, or null when results must not be memoised. */
function peerKey(C: MatchContext): unknown {
  switch (C.peerClass) {
    case PEER_POD: {
      const f = C.peerFacts!;
      return f.identity > 0 && f.labels.length > 0 ? f : null;
    }
    case PEER_EXTERNAL:
      return C.peer.kind === 'external' ? C.peerIpText : null;
    case PEER_INFRA:
      return C.peer.kind === 'reserved' ? `reserved:${C.peer.name}` : null;
    default:
      return null;
  }
}

/** Points the matching context at the peer of this side. */
function setPeer(C: MatchContext, dir: Direction, peer: Endpoint, flow: Flow): void {
  C.dir = dir;
  C.peer = peer;
  C.peerClass = classifyPeer(peer);
  C.peerFacts = peer.kind === 'pod' ? factsFor(C.caches, peer) : null;
  C.peerIpText = flow.ip === null ? null : dir === 'egress' ? flow.ip.destination : flow.ip.source;
  C.peerIp = undefined;
}

/** One side's verdict, or null when that endpoint has no side (not a pod). */
export function evaluateSide(C: MatchContext, dir: Direction, self: Endpoint, peer: Endpoint, flow: Flow): SideResult | null {
  let facts: EndpointFacts | null = null;
  switch (self.kind) {
    case 'external':
      return null; // an external endpoint has no side (rule 6, netpol.md 3.7)
    case 'reserved':
      if (self.name !== 'init' && self.name !== 'unmanaged') return null; // not a pod: no policy selects it
      break;
    case 'pod':
      facts = factsFor(C.caches, self);
      break;
    case 'unknown':
      break;
  }
  if (peer.kind === 'reserved' && (peer.name === 'host' || peer.name === 'remote-node')) return C.reasons ? NODE_ALLOWED[dir][peer.name] : C.verdictOnly[dir].allow;

  if (facts !== null) {
    const cand = candidatesFor(C, facts, dir);
    const result = resultOf(C, cand, dir, self, peer, flow);
    if (C.set.brownfield) C.baseSide = cand.base === null ? result : resultOf(C, cand.base, dir, self, peer, flow);
    return result;
  }

  // A side whose pod labels are unknown: exact only where its labels cannot matter.
  const ns = self.kind === 'unknown' ? self.namespace : null;
  const index = ns === null ? C.set.all : (C.set.byNamespace.get(ns) ?? EMPTY_INDEX);
  const own = dir === 'ingress' ? index.ingress : index.egress;
  const list = ns === null ? own : [...own, ...(dir === 'ingress' ? C.set.clusterWide.ingress : C.set.clusterWide.egress)];
  if (!C.set.brownfield || list.every((p) => p.inBefore === p.inAfter)) {
    const result = unknownSide(C, list, ns, dir, self, peer, flow);
    C.baseSide = result;
    return result;
  }
  const result = unknownSide(C, list.filter((p) => p.inAfter), ns, dir, self, peer, flow);
  C.baseSide = unknownSide(C, list.filter((p) => p.inBefore), ns, dir, self, peer, flow);
  return result;
}

/** A pod side from its candidates: not isolated, memoised, or decided (and memoised). */
function resultOf(C: MatchContext, cand: SideCandidates, dir: Direction, self: Endpoint, peer: Endpoint, flow: Flow): SideResult {
  if (cand.policies.length === 0) {
    if (!C.reasons) return C.verdictOnly[dir].allow;
    return (cand.notIsolated ??= sideResult('allow', [], `${dir} of ${endpointName(self, null)} not isolated (no policy selects it for ${dir})`));
  }
  setPeer(C, dir, peer, flow);
  // Named ports depend on the resolver's answer for the destination pod; without a resolver
  // they are undecided for every pod alike, so memoising stays exact.
  // A budget of 0 memoises no side result (the endpoint facts and candidates are still kept).
  let key = C.caches.budget === 0 || (cand.namedPorts && (C.resolver !== undefined || C.clusterPorts !== undefined)) ? null : peerKey(C);
  // toFQDNs verdicts also depend on the flow's DNS names: they join the peer's key.
  if (key !== null && cand.fqdn && C.peerClass !== PEER_POD && flow.destinationNames !== undefined && flow.destinationNames.length > 0) {
    key = `${String(key)}\n${flow.destinationNames.join('\n')}`;
  }
  const portKey = C.port * 16 + (C.proto === null ? 0 : (PROTO_CODES[C.proto] ?? 8));
  let byPort: Map<number, SideResult> | undefined;
  if (key !== null) {
    byPort = cand.results.get(key);
    const hit = byPort?.get(portKey);
    if (hit !== undefined) return hit;
  }
  const result = decide(C, cand.policies, cand.selected, C.reasons ? endpointName(self, null) : '', false);
  if (key !== null) {
    if (cand.resultCount >= MAX_RESULTS_PER_SIDE) {
      cand.results.clear();
      cand.resultCount = 0;
      byPort = undefined;
    }
    if (byPort === undefined) {
      byPort = new Map();
      cand.results.set(key, byPort);
    }
    byPort.set(portKey, result);
    cand.resultCount++;
    noteResult(C.caches);
  }
  return result;
}

/** A side whose pod labels are unknown, decided from the policies that may isolate it (not memoised). */
function unknownSide(C: MatchContext, list: readonly CompiledPolicy[], ns: string | null, dir: Direction, self: Endpoint, peer: Endpoint, flow: Flow): SideResult {
  const name = endpointName(self, null);
  if (list.length === 0) {
    if (!C.reasons) return C.verdictOnly[dir].allow;
    return sideResult('allow', [], `${dir} of ${name} not isolated (no policy ${ns === null ? 'in the set' : `in namespace ${ns}`} isolates ${dir})`);
  }
  // An empty podSelector selects every pod of its namespace whatever the labels (rule 1).
  const selected: Trit[] = list.map((p) => ((ns !== null || p.namespace === '') && p.selectsAll ? YES : MAYBE));
  setPeer(C, dir, peer, flow);
  return decide(C, list, selected, name, true);
}
