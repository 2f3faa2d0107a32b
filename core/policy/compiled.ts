/**
 * The compiled form of a policy set (what compile.ts and cilium-compile.ts produce and the
 * matcher reads): immutable, with selectors precompiled and CIDRs as numeric ranges.
 */
import { parseCidr, type IpRange } from '../common/index.js';
import type { CiliumEntity, CiliumProtocol } from './policy.js';
import type { CompiledSelector } from './selector.js';

export interface CompiledPort {
  /** `ANY`: TCP, UDP and SCTP (not ICMP); ICMPv4/ICMPv6 entries carry the ICMP type in `port`. */
  readonly protocol: CiliumProtocol;
  /** 0: every port of the protocol (never for ICMP entries). */
  readonly port: number;
  /** Inclusive upper bound; equals `port` for a single port. */
  readonly endPort: number;
  /** A named container port, resolved on the destination pod; null for numeric entries. */
  readonly name: string | null;
}

export interface CompiledPeer {
  /** NetworkPolicy `selector`/`ipBlock`; Cilium `endpoints`, `entity`, `fqdn` (CIDRs are `ipBlock`). */
  readonly kind: 'selector' | 'ipBlock' | 'endpoints' | 'entity' | 'fqdn';
  /** Position among the set's selector and endpoints peers, for the per-identity peer-match cache. */
  readonly slot: number;
  readonly policyNamespace: string;
  /** null: the policy's own namespace (rule 11). */
  readonly namespaceSelector: CompiledSelector | null;
  /** null: every pod of the selected namespaces (rule 12). */
  readonly podSelector: CompiledSelector | null;
  readonly cidr: IpRange | null;
  readonly except: readonly IpRange[];
  /** Cilium endpoints peers, namespace confinement applied. */
  readonly endpoints: CompiledSelector | null;
  readonly entity: CiliumEntity | null;
  /** toFQDNs, as a regular expression over lowercase names without the trailing dot. */
  readonly fqdn: RegExp | null;
}

export interface CompiledRule {
  /** Missing or empty `from`/`to`: every peer, pods and external IPs alike (rule 9). */
  readonly anyPeer: boolean;
  /** The rule admits nothing (a Cilium peer field given as an empty list, or no peers and no ports). */
  readonly noPeer: boolean;
  /** Missing or empty `ports`: every port of every protocol, ICMP included (rule 9, 3.5). */
  readonly anyPort: boolean;
  readonly peers: readonly CompiledPeer[];
  readonly ports: readonly CompiledPort[];
}

export interface CompiledPolicy {
  /** `namespace/name` (NetworkPolicy), `cnp:namespace/name`, `ccnp:name`. */
  readonly ref: string;
  /** '' for a cluster-wide policy (it may select endpoints of every namespace). */
  readonly namespace: string;
  /** NetworkPolicy: the podSelector (pods of `namespace`). */
  readonly podSelector: CompiledSelector;
  /** Cilium specs: the endpointSelector with the namespace requirement Cilium adds; null for a NetworkPolicy. */
  readonly subject: CompiledSelector | null;
  /**
   * Selects every pod of its namespace (NetworkPolicy/CNP) or every endpoint (CCNP) whatever
   * its labels: decides selection of an endpoint whose labels are unknown.
   */
  readonly selectsAll: boolean;
  /** Allow rules; null when the policy takes no part in that direction. */
  readonly ingress: readonly CompiledRule[] | null;
  readonly egress: readonly CompiledRule[] | null;
  /** Cilium deny rules (empty for NetworkPolicies): they win over every allow. */
  readonly ingressDeny: readonly CompiledRule[];
  readonly egressDeny: readonly CompiledRule[];
  /** Whether selecting an endpoint isolates that direction (Cilium `enableDefaultDeny: false` does not). */
  readonly isolatesIngress: boolean;
  readonly isolatesEgress: boolean;
  /** Some rule of the direction uses a named port (its verdicts depend on the resolver). */
  readonly namedPortsIngress: boolean;
  readonly namedPortsEgress: boolean;
  /** Some egress rule has a toFQDNs peer (its verdicts depend on the flow's DNS names). */
  readonly fqdn: boolean;
  /**
   * Membership in a change set (product.md "Changes to what is enforced"): in *before* (the
   * enforced set B), in *after* ((B − R) ∪ P), or both. A plain set has every policy in both.
   */
  readonly inBefore: boolean;
  readonly inAfter: boolean;
}

/** Where a policy of a change set belongs: before only (removed or replaced), after only (proposed), or both. */
export type Membership = 'both' | 'before' | 'after';

/** The policies of one namespace that isolate each direction. */
export interface DirectionIndex {
  readonly ingress: readonly CompiledPolicy[];
  readonly egress: readonly CompiledPolicy[];
}

/** A policy set ready for an evaluator (evaluator.ts). Immutable: the memo tables live in the evaluator. */
export interface CompiledPolicySet {
  readonly policies: readonly CompiledPolicy[];
  readonly byNamespace: ReadonlyMap<string, DirectionIndex>;
  /** Cluster-wide policies (CCNP): candidates for endpoints of every namespace. */
  readonly clusterWide: DirectionIndex;
  /** Every policy by direction: the candidates for an endpoint whose namespace is unknown. */
  readonly all: DirectionIndex;
  readonly selectorPeerCount: number;
  /** Some policy is in one side of the change only: each evaluation also yields *before*'s verdict. */
  readonly brownfield: boolean;
}

export const EMPTY_INDEX: DirectionIndex = { ingress: [], egress: [] };

export function compileRanges(cidr: string): IpRange {
  const parsed = parseCidr(cidr);
  // parseNetworkPolicy has validated every CIDR; a hand-built model with a bad one is a bug.
  if (typeof parsed === 'string') throw new Error(`invalid CIDR in a parsed policy: ${cidr}: ${parsed}`);
  return parsed.range;
}


/** Allocates the per-identity peer-match slots of one compiled set. */
export interface SlotCounter {
  next: number;
}

export const hasNamed = (rules: readonly CompiledRule[] | null): boolean => rules !== null && rules.some((r) => r.ports.some((p) => p.name !== null));
