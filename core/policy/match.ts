/**
 * Matching one connection against rules: ports (protocol, range, named ports on the
 * destination pod), peers (selectors, ipBlock) and whole rules, each answered YES, NO or
 * MAYBE. The connection lives in one reused context object so the hot path allocates nothing.
 */
import type { Endpoint, Flow, PodEndpoint } from '../flow/index.js';
import { ciliumIndexOf, type EndpointFacts, type EvaluationCaches } from './cache.js';
import { compiledHasSource, identityLabels, type IdentityLabels } from './cilium-selector.js';
import { parseIp, rangeContains, type IpAddress } from '../common/index.js';
import type { CompiledPeer, CompiledPolicy, CompiledPolicySet, CompiledPort, CompiledRule } from './compiled.js';
import { endpointName } from './describe.js';
import { matchSelector, type CompiledSelector } from './selector.js';
import { MAYBE, NO, YES, type Trit } from './trit.js';
import type { ClusterNamedPortResolver, Evaluation, NamedPortResolver, SideResult, SideVerdict } from './verdict.js';

export type Direction = 'ingress' | 'egress';

// How a peer endpoint can be matched.
export const PEER_POD = 0; // selectors on its labels
export const PEER_EXTERNAL = 1; // ipBlock on its IP (reserved:world, cidr:, kube-apiserver)
export const PEER_NODE = 2; // host / remote-node: always allowed
export const PEER_INFRA = 3; // health / ingress: only "every peer" rules
const PEER_UNKNOWN = 4; // reserved:unknown or no labels: might be anything
const PEER_OPAQUE_POD = 5; // init / unmanaged: a pod whose labels are unknown
export type PeerClass = 0 | 1 | 2 | 3 | 4 | 5;

export function classifyPeer(e: Endpoint): PeerClass {
  switch (e.kind) {
    case 'pod':
      return PEER_POD;
    case 'external':
      return PEER_EXTERNAL;
    case 'unknown':
      return PEER_UNKNOWN;
    case 'reserved':
      switch (e.name) {
        case 'host':
        case 'remote-node':
          return PEER_NODE;
        case 'kube-apiserver':
          return PEER_EXTERNAL;
        case 'health':
        case 'ingress':
          return PEER_INFRA;
        case 'init':
        case 'unmanaged':
          return PEER_OPAQUE_POD;
      }
  }
}

export const PROTO_CODES: Readonly<Record<string, number>> = { TCP: 1, UDP: 2, SCTP: 3, ICMPv4: 4, ICMPv6: 5, VRRP: 6, IGMP: 7 };

/**
 * The connection being evaluated, in one reused object per evaluator so the hot path
 * allocates nothing. Each evaluator owns its context (and its caches): two evaluators never
 * share state. NOTE: evaluation is synchronous and never re-entered (a resolver must not call
 * back into the same evaluator), so one context per evaluator is safe.
 */
export interface MatchContext {
  readonly set: CompiledPolicySet;
  /** Memo tables of this evaluator (endpoint facts, side results, pairs). */
  readonly caches: EvaluationCaches;
  /** Parsed peer IPs by text, bounded. */
  readonly ipCache: Map<string, IpAddress | null>;
  /** Scratch space for `decide`: the admit answer of each candidate policy. */
  admits: Uint8Array;
  flow: Flow;
  dir: Direction;
  proto: string | null;
  /** The destination port, or the ICMP type for ICMP flows. */
  port: number;
  peer: Endpoint;
  peerClass: PeerClass;
  peerFacts: EndpointFacts | null;
  peerIpText: string | null;
  peerIp: IpAddress | null | undefined;
  destination: Endpoint;
  resolver: NamedPortResolver | undefined;
  /** Egress named ports resolved over every pod of the cluster, as Cilium does (netpol.md 4.3). */
  clusterPorts: ClusterNamedPortResolver | undefined;
  /** Explain pass: caches are bypassed and the first cause of doubt is recorded in `why`. */
  explain: boolean;
  why: string | null;
  /** Change sets: the last side's verdict under *before* (set by evaluateSide). */
  baseSide: SideResult | null;
  /** Change sets: the last evaluation under *before* (set by evaluateWith). */
  baseEvaluation: Evaluation | null;
  /** False: side results are the verdict-only ones below (no policies, no reason). */
  readonly reasons: boolean;
  /** With `reasons` false, the one result per direction and verdict (per evaluator, as every memo is). */
  readonly verdictOnly: Readonly<Record<Direction, Readonly<Record<SideVerdict, SideResult>>>>;
}

const verdictOnly = (): Record<SideVerdict, SideResult> => ({
  allow: { verdict: 'allow', policies: [], reason: '', alone: null },
  deny: { verdict: 'deny', policies: [], reason: '', alone: null },
  indeterminate: { verdict: 'indeterminate', policies: [], reason: '', alone: null },
});

export function createMatchContext(set: CompiledPolicySet, caches: EvaluationCaches, reasons = true): MatchContext {
  return {
    reasons,
    verdictOnly: { egress: verdictOnly(), ingress: verdictOnly() },
    set,
    caches,
    ipCache: new Map(),
    admits: new Uint8Array(64),
    flow: null as unknown as Flow,
    dir: 'egress',
    proto: null,
    port: 0,
    peer: null as unknown as Endpoint,
    peerClass: PEER_POD,
    peerFacts: null,
    peerIpText: null,
    peerIp: undefined,
    destination: null as unknown as Endpoint,
    resolver: undefined,
    clusterPorts: undefined,
    explain: false,
    why: null,
    baseSide: null,
    baseEvaluation: null,
  };
}

export function maybe(C: MatchContext, why: string): Trit {
  if (C.explain && C.why === null) C.why = why;
  return MAYBE;
}

const IP_CACHE_MAX = 8192;

function peerIp(C: MatchContext): IpAddress | null {
  if (C.peerIp === undefined) {
    const text = C.peerIpText;
    if (text === null) C.peerIp = null;
    else {
      const ipCache = C.ipCache;
      let ip = ipCache.get(text);
      if (ip === undefined) {
        ip = parseIp(text);
        if (ipCache.size >= IP_CACHE_MAX) ipCache.clear();
        ipCache.set(text, ip);
      }
      C.peerIp = ip;
    }
  }
  return C.peerIp;
}

function ipBlockTrit(C: MatchContext, peer: CompiledPeer): Trit {
  const ip = peerIp(C);
  if (ip === null) return maybe(C, 'the flow carries no usable peer IP address for ipBlock matching');
  if (!rangeContains(peer.cidr!, ip)) return NO;
  // `except` carves only its own ipBlock (pitfall 17): another peer may still admit the address.
  for (const range of peer.except) if (rangeContains(range, ip)) return NO;
  return YES;
}

function podSelectorTrit(C: MatchContext, selector: CompiledSelector, pod: PodEndpoint): Trit {
  const t = matchSelector(selector, pod.podLabels);
  if (t === MAYBE) maybe(C, `selector key "${selector.filteredKey}" is dropped from Cilium identity labels, so it cannot be read from the flow`);
  return t;
}

function selectorPeerTrit(C: MatchContext, peer: CompiledPeer, facts: EndpointFacts): Trit {
  let ns: Trit;
  const nsSel = peer.namespaceSelector;
  if (nsSel === null) ns = facts.namespace === peer.policyNamespace ? YES : NO; // rule 11
  else if (nsSel.empty) ns = YES; // `{}`: every namespace (rule 12), pods only (rule 14)
  else if (facts.namespaceLabelsMissing) ns = maybe(C, `the flow carries no namespace labels for ${facts.namespace}, so a namespaceSelector cannot be matched`);
  else ns = matchSelector(nsSel, facts.endpoint.namespaceLabels);
  if (ns === NO) return NO;
  const pod = peer.podSelector === null ? YES : podSelectorTrit(C, peer.podSelector, facts.endpoint);
  return pod < ns ? pod : ns; // same item: AND (rule 13)
}

/** A Cilium entity against the current peer (pkg/policy/api/entity.go EntitySelectorMapping). */
function entityTrit(C: MatchContext, peer: CompiledPeer): Trit {
  const entity = peer.entity!;
  if (entity === 'all') return YES;
  if (entity === 'none') return NO;
  const p = C.peer;
  switch (p.kind) {
    case 'pod':
      return entity === 'cluster' ? YES : NO;
    case 'external': {
      if (entity === 'world') return YES;
      const ip = peerIp(C);
      if (entity === 'world-ipv4') return ip === null ? maybe(C, 'the flow carries no peer IP, so world-ipv4 cannot be told') : ip.version === 4 ? YES : NO;
      if (entity === 'world-ipv6') return ip === null ? maybe(C, 'the flow carries no peer IP, so world-ipv6 cannot be told') : ip.version === 6 ? YES : NO;
      return NO;
    }
    case 'reserved':
      // Every reserved identity but world is part of the cluster entity.
      return entity === p.name || entity === 'cluster' ? YES : NO;
    case 'unknown':
      return maybe(C, `the peer identity is unknown, so whether it is the ${entity} entity cannot be told`);
  }
}

function fqdnTrit(C: MatchContext, peer: CompiledPeer): Trit {
  // toFQDNs selects the IPs a name resolved to: never a pod or a reserved identity.
  if (C.peer.kind === 'pod' || C.peer.kind === 'reserved' || C.dir !== 'egress') return NO;
  const names = C.flow.destinationNames;
  if (names === undefined || names.length === 0) return maybe(C, 'the flow carries no DNS names for its destination (destination_names), so toFQDNs cannot be matched');
  for (const name of names) {
    const n = name.toLowerCase();
    if (peer.fqdn!.test(n.endsWith('.') ? n : `${n}.`)) return YES;
  }
  return NO;
}

/** Label indexes of non-pod peers, by their (shared, per-identity) label arrays. */
const NON_POD_INDEXES = new WeakMap<readonly string[], IdentityLabels>();
const WORLD_LABELS: readonly string[] = ['reserved:world'];

function nonPodIndex(p: Endpoint): IdentityLabels {
  const labels = p.labels.length > 0 ? p.labels : p.kind === 'reserved' ? [`reserved:${p.name}`] : WORLD_LABELS;
  let index = NON_POD_INDEXES.get(labels);
  if (index === undefined) NON_POD_INDEXES.set(labels, (index = identityLabels(labels, null)));
  return index;
}

function endpointsTrit(C: MatchContext, peer: CompiledPeer): Trit {
  const p = C.peer;
  switch (p.kind) {
    case 'pod': {
      const facts = C.peerFacts!;
      const t = matchSelector(peer.endpoints!, ciliumIndexOf(facts));
      if (t === MAYBE) maybe(C, `selector key "${peer.endpoints!.filteredKey}" is dropped from Cilium identity labels, so it cannot be read from the flow`);
      return t;
    }
    case 'external':
    case 'reserved': {
      if ((p.kind === 'reserved' && (p.name === 'init' || p.name === 'unmanaged')) && !compiledHasSource(peer.endpoints!, 'reserved')) {
        return maybe(C, `the peer ${endpointName(p, C.peerIpText)} is a pod whose labels Cilium does not know yet`);
      }
      return matchSelector(peer.endpoints!, nonPodIndex(p)) === YES ? YES : NO;
    }
    case 'unknown':
      return maybe(C, 'the peer identity is unknown, so its labels cannot be matched');
  }
}

function ciliumPeerTrit(C: MatchContext, peer: CompiledPeer): Trit {
  switch (peer.kind) {
    case 'entity':
      return entityTrit(C, peer);
    case 'fqdn':
      return fqdnTrit(C, peer);
    default: {
      // endpoints: memoised per pod identity like NetworkPolicy selector peers.
      if (C.peerClass !== PEER_POD || C.explain) return endpointsTrit(C, peer);
      const facts = C.peerFacts!;
      let memo = facts.peerMatches;
      if (memo === null || memo.length !== C.set.selectorPeerCount) memo = facts.peerMatches = new Uint8Array(C.set.selectorPeerCount).fill(255);
      const known = memo[peer.slot]!;
      if (known !== 255) return known as Trit;
      const t = endpointsTrit(C, peer);
      memo[peer.slot] = t;
      return t;
    }
  }
}

function peerTrit(C: MatchContext, peer: CompiledPeer): Trit {
  if (peer.kind !== 'selector' && peer.kind !== 'ipBlock') {
    // Traffic with nodes is decided before any rule (always allowed); a Cilium rule cannot change it.
    if (C.peerClass === PEER_NODE) return YES;
    return ciliumPeerTrit(C, peer);
  }
  switch (C.peerClass) {
    case PEER_POD: {
      // Rampart follows Cilium: an ipBlock never matches a pod IP (netpol.md 3.1).
      if (peer.kind === 'ipBlock') return NO;
      const facts = C.peerFacts!;
      if (C.explain) return selectorPeerTrit(C, peer, facts);
      let memo = facts.peerMatches;
      if (memo === null || memo.length !== C.set.selectorPeerCount) {
        memo = facts.peerMatches = new Uint8Array(C.set.selectorPeerCount).fill(255);
      }
      const known = memo[peer.slot]!;
      if (known !== 255) return known as Trit;
      const t = selectorPeerTrit(C, peer, facts);
      memo[peer.slot] = t;
      return t;
    }
    case PEER_EXTERNAL:
      // Selector peers never match external IPs, `namespaceSelector: {}` included (pitfall 7).
      return peer.kind === 'ipBlock' ? ipBlockTrit(C, peer) : NO;
    case PEER_NODE:
      return YES;
    case PEER_INFRA:
      return NO;
    case PEER_OPAQUE_POD:
      return peer.kind === 'ipBlock' ? NO : maybe(C, `the peer ${endpointName(C.peer, C.peerIpText)} is a pod whose labels Cilium does not know yet`);
    case PEER_UNKNOWN: {
      if (peer.kind === 'ipBlock') {
        // It may be external: only an address inside the block leaves the question open.
        return ipBlockTrit(C, peer) === NO ? NO : maybe(C, 'the peer identity is unknown, so whether it is external cannot be told');
      }
      const peerNs = C.peer.kind === 'unknown' ? C.peer.namespace : null;
      if (peer.namespaceSelector === null && peerNs !== null && peerNs !== peer.policyNamespace) return NO;
      return maybe(C, 'the peer identity is unknown, so its labels cannot be matched');
    }
  }
}

function namedPortTrit(C: MatchContext, entry: CompiledPort, protocol: string): Trit {
  // Egress: Cilium resolves the name over every pod it knows, not on the destination
  // (pkg/endpoint/policy.go GetNamedPort; netpol.md 4.3): one number opens it toward every peer,
  // several numbers (or none) open nothing.
  if (C.dir === 'egress') {
    if (C.clusterPorts === undefined) return maybe(C, `named port "${entry.name}" in an egress rule: Cilium resolves it over every pod of the cluster, and the pods' container ports were not supplied`);
    let n: number | null | undefined;
    try {
      n = C.clusterPorts(entry.name!, protocol);
    } catch {
      return maybe(C, `named port "${entry.name}": the cluster port resolver failed`);
    }
    if (n === undefined) return maybe(C, `named port "${entry.name}": the cluster's container ports are not known`);
    return n === C.port ? YES : NO;
  }
  // Ingress: the name is looked up on the destination pod (the selected one), with the protocol.
  const d = C.destination;
  switch (d.kind) {
    case 'pod': {
      if (C.resolver === undefined || d.podName === '') {
        return maybe(C, `named port "${entry.name}" needs the container ports of the destination pod (not supplied)`);
      }
      let n: number | null | undefined;
      try {
        n = C.resolver(d.namespace, d.podName, entry.name!, protocol as 'TCP' | 'UDP' | 'SCTP');
      } catch {
        // A failing resolver is missing evidence, not a reason to crash the evaluation.
        return maybe(C, `named port "${entry.name}": the port resolver failed for ${d.namespace}/${d.podName}`);
      }
      if (n === undefined) return maybe(C, `named port "${entry.name}": pod ${d.namespace}/${d.podName} is unknown to the port resolver`);
      return n === C.port ? YES : NO;
    }
    case 'external':
      return NO; // nothing to resolve it on (pitfall 16)
    case 'reserved':
      return d.name === 'init' || d.name === 'unmanaged' ? maybe(C, `named port "${entry.name}" on a pod Cilium does not know yet`) : NO;
    case 'unknown':
      return maybe(C, `named port "${entry.name}" on a destination of unknown identity`);
  }
}

function portsTrit(C: MatchContext, ports: readonly CompiledPort[]): Trit {
  const proto = C.proto;
  const l4 = proto === 'TCP' || proto === 'UDP' || proto === 'SCTP';
  const icmp = proto === 'ICMPv4' || proto === 'ICMPv6';
  // Other protocols are admitted only by rules without ports (netpol.md 3.5).
  if (!l4 && !icmp) return NO;
  let best: Trit = NO;
  for (let i = 0; i < ports.length; i++) {
    const p = ports[i]!;
    if (p.protocol === 'ANY') {
      if (!l4) continue; // ANY is TCP, UDP and SCTP (Cilium's mergeL4Filter), never ICMP
    } else if (p.protocol !== proto) continue;
    if (icmp) {
      // ICMP type 0 (EchoReply) becomes port 0 in Cilium's map, which is every type of the
      // family (pkg/policy/api icmp.go → PortProtocol "0"): found by the differential test.
      if (p.port === 0 || C.port === p.port) return YES;
      continue;
    }
    if (p.name === null) {
      if (p.port === 0 || (C.port >= p.port && C.port <= p.endPort)) return YES; // endPort inclusive
      continue;
    }
    const t = namedPortTrit(C, p, proto!);
    if (t === YES) return YES;
    if (t > best) best = t;
  }
  return best;
}

/** Whether some rule of the list admits the peer on the port. */
export function rulesTrit(C: MatchContext, rules: readonly CompiledRule[]): Trit {
  let best: Trit = NO;
  for (let r = 0; r < rules.length; r++) {
    const rule = rules[r]!;
    if (rule.noPeer) continue;
    const ports = rule.anyPort ? YES : portsTrit(C, rule.ports);
    if (ports === NO) continue;
    let peers: Trit = YES;
    if (!rule.anyPeer) {
      peers = NO;
      const list = rule.peers;
      for (let p = 0; p < list.length; p++) {
        const t = peerTrit(C, list[p]!);
        if (t > peers) peers = t;
        if (peers === YES) break;
      }
    }
    const t = ports < peers ? ports : peers; // ports AND peers (rule 8)
    if (t === YES) return YES;
    if (t > best) best = t;
  }
  return best;
}

/** Whether some allow rule of the policy (in the current direction) admits the peer on the port. */
export function admitTrit(C: MatchContext, policy: CompiledPolicy): Trit {
  return rulesTrit(C, C.dir === 'ingress' ? policy.ingress! : policy.egress!);
}

/** Whether some deny rule of the policy (in the current direction) matches the connection. */
export function denyTrit(C: MatchContext, policy: CompiledPolicy): Trit {
  const rules = C.dir === 'ingress' ? policy.ingressDeny : policy.egressDeny;
  return rules.length === 0 ? NO : rulesTrit(C, rules);
}
