/**
 * Compiles a parsed policy set once: selectors precompiled, CIDRs turned into numeric ranges,
 * policies indexed by namespace and direction, so evaluating a flow never re-parses anything
 * and only looks at the policies of the namespace of the pod whose side it decides.
 */
import { parseCidr, type IpRange } from '../common/index.js';
import { policyRef, type NetworkPolicy, type Peer, type PolicyProtocol, type PolicyRule } from './policy.js';
import { compileSelector, type CompiledSelector } from './selector.js';

export interface CompiledPort {
  readonly protocol: PolicyProtocol;
  /** 0: every port of the protocol. */
  readonly port: number;
  /** Inclusive upper bound; equals `port` for a single port. */
  readonly endPort: number;
  /** A named container port, resolved on the destination pod; null for numeric entries. */
  readonly name: string | null;
}

export interface CompiledPeer {
  readonly kind: 'selector' | 'ipBlock';
  /** Position among the set's selector peers, for the per-identity peer-match cache. */
  readonly slot: number;
  readonly policyNamespace: string;
  /** null: the policy's own namespace (rule 11). */
  readonly namespaceSelector: CompiledSelector | null;
  /** null: every pod of the selected namespaces (rule 12). */
  readonly podSelector: CompiledSelector | null;
  readonly cidr: IpRange | null;
  readonly except: readonly IpRange[];
}

export interface CompiledRule {
  /** Missing or empty `from`/`to`: every peer, pods and external IPs alike (rule 9). */
  readonly anyPeer: boolean;
  /** Missing or empty `ports`: every port of every protocol, ICMP included (rule 9, 3.5). */
  readonly anyPort: boolean;
  readonly peers: readonly CompiledPeer[];
  readonly ports: readonly CompiledPort[];
}

export interface CompiledPolicy {
  /** `namespace/name`. */
  readonly ref: string;
  readonly namespace: string;
  readonly podSelector: CompiledSelector;
  /** null when Ingress is not among the effective policyTypes (the policy does not isolate ingress). */
  readonly ingress: readonly CompiledRule[] | null;
  readonly egress: readonly CompiledRule[] | null;
  /** Some rule of the direction uses a named port (its verdicts depend on the resolver). */
  readonly namedPortsIngress: boolean;
  readonly namedPortsEgress: boolean;
  /**
   * Membership in a change set (product.md "Changes to what is enforced"): in *before* (the
   * enforced set B), in *after* ((B − R) ∪ P), or both. A plain set has every policy in both.
   */
  readonly inBefore: boolean;
  readonly inAfter: boolean;
}

/** The policies of one namespace that isolate each direction. */
export interface DirectionIndex {
  readonly ingress: readonly CompiledPolicy[];
  readonly egress: readonly CompiledPolicy[];
}

/** A policy set ready for an evaluator (evaluator.ts). Immutable: the memo tables live in the evaluator. */
export interface CompiledPolicySet {
  readonly policies: readonly CompiledPolicy[];
  readonly byNamespace: ReadonlyMap<string, DirectionIndex>;
  /** Every policy by direction: the candidates for an endpoint whose namespace is unknown. */
  readonly all: DirectionIndex;
  readonly selectorPeerCount: number;
  /** Some policy is in one side of the change only: each evaluation also yields *before*'s verdict. */
  readonly brownfield: boolean;
}

/** Where a policy of a change set belongs: before only (removed or replaced), after only (proposed), or both. */
export type Membership = 'both' | 'before' | 'after';

export const EMPTY_INDEX: DirectionIndex = { ingress: [], egress: [] };

function compileRanges(cidr: string): IpRange {
  const parsed = parseCidr(cidr);
  // parseNetworkPolicy has validated every CIDR; a hand-built model with a bad one is a bug.
  if (typeof parsed === 'string') throw new Error(`invalid CIDR in a parsed policy: ${cidr}: ${parsed}`);
  return parsed.range;
}

/**
 * Compiles parsed policies (from `parseNetworkPolicy`) into an immutable set; `createEvaluator`
 * does this once per policy set. `membership[i]` places policy i in a change set (absent:
 * every policy in both sides). Throws only on a hand-built model with an invalid CIDR.
 */
export function compilePolicies(policies: readonly NetworkPolicy[], membership?: readonly Membership[]): CompiledPolicySet {
  let slot = 0;
  const compilePeer = (peer: Peer, policyNamespace: string): CompiledPeer => {
    if (peer.kind === 'ipBlock') {
      return { kind: 'ipBlock', slot: -1, policyNamespace, namespaceSelector: null, podSelector: null, cidr: compileRanges(peer.cidr), except: peer.except.map(compileRanges) };
    }
    return {
      kind: 'selector',
      slot: slot++,
      policyNamespace,
      namespaceSelector: peer.namespaceSelector === null ? null : compileSelector(peer.namespaceSelector, false),
      podSelector: peer.podSelector === null ? null : compileSelector(peer.podSelector, true),
      cidr: null,
      except: [],
    };
  };
  const compileRule = (rule: PolicyRule, ns: string): CompiledRule => ({
    anyPeer: rule.peers.length === 0,
    anyPort: rule.ports.length === 0,
    peers: rule.peers.map((p) => compilePeer(p, ns)),
    ports: rule.ports.map((p) => ({
      protocol: p.protocol,
      port: typeof p.port === 'number' ? p.port : 0,
      endPort: typeof p.port === 'number' ? (p.endPort ?? p.port) : 0,
      name: typeof p.port === 'string' ? p.port : null,
    })),
  });
  const hasNamed = (rules: readonly CompiledRule[] | null): boolean => rules !== null && rules.some((r) => r.ports.some((p) => p.name !== null));

  const compiled: CompiledPolicy[] = policies.map((p, index) => {
    const ingress = p.policyTypes.includes('Ingress') ? p.ingress.map((r) => compileRule(r, p.namespace)) : null;
    const egress = p.policyTypes.includes('Egress') ? p.egress.map((r) => compileRule(r, p.namespace)) : null;
    return {
      ref: policyRef(p),
      namespace: p.namespace,
      podSelector: compileSelector(p.podSelector, true),
      ingress,
      egress,
      namedPortsIngress: hasNamed(ingress),
      namedPortsEgress: hasNamed(egress),
      inBefore: membership === undefined || membership[index] !== 'after',
      inAfter: membership === undefined || membership[index] !== 'before',
    };
  });

  const byNamespace = new Map<string, { ingress: CompiledPolicy[]; egress: CompiledPolicy[] }>();
  const all = { ingress: [] as CompiledPolicy[], egress: [] as CompiledPolicy[] };
  for (const p of compiled) {
    let index = byNamespace.get(p.namespace);
    if (index === undefined) {
      index = { ingress: [], egress: [] };
      byNamespace.set(p.namespace, index);
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
  return { policies: compiled, byNamespace, all, selectorPeerCount: slot, brownfield: compiled.some((p) => p.inBefore !== p.inAfter) };
}
