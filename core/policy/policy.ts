import type { Problem } from '../common/index.js';

/**
 * The policy model after parsing and defaulting: what the engine compiles. One set mixes
 * networking.k8s.io/v1 NetworkPolicies and cilium.io/v2 CiliumNetworkPolicies (CNP) and
 * CiliumClusterwideNetworkPolicies (CCNP); `kind` tells them apart (absent: NetworkPolicy).
 * Defaults are already applied here (effective policyTypes, protocol TCP), so no later stage
 * has to remember them. See ../shared/docs/netpol.md for the NetworkPolicy rules and
 * docs/cilium-policies.md for the Cilium ones.
 */

export type SelectorOperator = 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';

export interface SelectorRequirement {
  readonly key: string;
  readonly operator: SelectorOperator;
  readonly values: readonly string[];
}

/** An empty selector (no labels, no expressions) matches everything. */
export interface LabelSelector {
  readonly matchLabels: Readonly<Record<string, string>>;
  readonly matchExpressions: readonly SelectorRequirement[];
}

export type Peer =
  /**
   * Selector peer. `namespaceSelector: null` means the policy's own namespace;
   * `podSelector: null` means every pod of the selected namespaces.
   */
  | { readonly kind: 'selector'; readonly podSelector: LabelSelector | null; readonly namespaceSelector: LabelSelector | null }
  /** CIDRs in canonical form (host bits cleared) after parsing. */
  | { readonly kind: 'ipBlock'; readonly cidr: string; readonly except: readonly string[] };

export type PolicyProtocol = 'TCP' | 'UDP' | 'SCTP';

export interface PortMatch {
  readonly protocol: PolicyProtocol;
  /** null: every port of the protocol; a string: a named container port. */
  readonly port: number | string | null;
  /** Inclusive upper bound; only with a numeric port. */
  readonly endPort: number | null;
}

export interface PolicyRule {
  /** Empty: every peer (all pods in all namespaces and every external IP). */
  readonly peers: readonly Peer[];
  /** Empty: every port of every protocol. */
  readonly ports: readonly PortMatch[];
}

export type PolicyType = 'Ingress' | 'Egress';

export interface NetworkPolicy {
  readonly kind?: 'NetworkPolicy';
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  /** Effective policyTypes after defaulting (netpol.md rule 2). */
  readonly policyTypes: readonly PolicyType[];
  readonly ingress: readonly PolicyRule[];
  readonly egress: readonly PolicyRule[];
  /**
   * True when the manifest had no `metadata.namespace` and `default` was taken (netpol.md 3.4);
   * the caller warns. Absent on policies not built by `parseNetworkPolicy`.
   */
  readonly namespaceDefaulted?: boolean;
  /**
   * Non-fatal findings from parsing, with field paths: a defaulted namespace, a CIDR with host
   * bits set that was masked. Absent or empty when there were none.
   */
  readonly warnings?: readonly Problem[];
  /**
   * Rules of a direction missing from an explicit `policyTypes`: the upstream text ignores them
   * (they are not in `ingress`/`egress`), Cilium enforces them (netpol.md 4.1). Absent or empty
   * when there are none.
   */
  readonly unlistedIngress?: readonly PolicyRule[];
  readonly unlistedEgress?: readonly PolicyRule[];
}

export type PolicyKind = 'NetworkPolicy' | 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy';

/** The Cilium entities (cilium/cilium pkg/policy/api/entity.go, the CRD's enum). */
export const CILIUM_ENTITIES = [
  'all',
  'world',
  'world-ipv4',
  'world-ipv6',
  'cluster',
  'host',
  'init',
  'ingress',
  'unmanaged',
  'remote-node',
  'health',
  'none',
  'kube-apiserver',
] as const;
export type CiliumEntity = (typeof CILIUM_ENTITIES)[number];

/**
 * A peer of a Cilium rule. `endpoints` selectors keep their keys as written (`app`,
 * `k8s:app`, `io.kubernetes.pod.namespace`, `reserved:host`): the compiler applies Cilium's
 * namespace confinement, so the model stays what the user wrote.
 */
export type CiliumPeer =
  | { readonly kind: 'endpoints'; readonly selector: LabelSelector }
  | { readonly kind: 'entity'; readonly entity: CiliumEntity }
  /** fromCIDR/toCIDR (no except) and fromCIDRSet/toCIDRSet; canonical CIDRs. */
  | { readonly kind: 'cidr'; readonly cidr: string; readonly except: readonly string[] }
  /** toFQDNs: exactly one of the two is set. */
  | { readonly kind: 'fqdn'; readonly matchName: string | null; readonly matchPattern: string | null };

export type CiliumProtocol = PolicyProtocol | 'ANY' | 'ICMPv4' | 'ICMPv6';

export interface CiliumPort {
  readonly protocol: CiliumProtocol;
  /** null: every port of the protocol; a string: a named port; for ICMP the ICMP type. */
  readonly port: number | string | null;
  readonly endPort: number | null;
}

export interface CiliumRule {
  /**
   * `any`: no peer field at all (every peer when the rule has ports, nothing otherwise);
   * `none`: a peer field given as an empty list (selects nothing, as Cilium reads it);
   * `list`: the peers in `peers`.
   */
  readonly peerMode: 'any' | 'none' | 'list';
  readonly peers: readonly CiliumPeer[];
  /** null: no toPorts and no icmps (every protocol and port, ICMP included). */
  readonly ports: readonly CiliumPort[] | null;
  /** Some toPorts entry carries L7 rules: they admit at L4 (the proxy decides the request). */
  readonly l7: boolean;
}

/** One rule of `spec` or `specs[*]`: the endpoints it selects and its rules per direction. */
export interface CiliumSpec {
  /** `spec.endpointSelector` as written (keys with their source prefixes, if any). */
  readonly endpointSelector: LabelSelector;
  readonly ingress: readonly CiliumRule[];
  readonly ingressDeny: readonly CiliumRule[];
  readonly egress: readonly CiliumRule[];
  readonly egressDeny: readonly CiliumRule[];
  /** `enableDefaultDeny` per direction (default true). */
  readonly defaultDenyIngress: boolean;
  readonly defaultDenyEgress: boolean;
}

/** A CiliumNetworkPolicy (namespace set) or CiliumClusterwideNetworkPolicy (namespace ''). */
export interface CiliumPolicy {
  readonly kind: 'CiliumNetworkPolicy' | 'CiliumClusterwideNetworkPolicy';
  /** '' for a CiliumClusterwideNetworkPolicy. */
  readonly namespace: string;
  readonly name: string;
  readonly specs: readonly CiliumSpec[];
  readonly warnings?: readonly Problem[];
}

/** Any policy the engine judges. */
export type Policy = NetworkPolicy | CiliumPolicy;

export const policyKind = (p: Pick<Policy, 'kind'>): PolicyKind => p.kind ?? 'NetworkPolicy';

export const isCiliumPolicy = (p: Policy): p is CiliumPolicy => p.kind === 'CiliumNetworkPolicy' || p.kind === 'CiliumClusterwideNetworkPolicy';

/**
 * How verdicts name a policy: `namespace/name` for a NetworkPolicy (unchanged), `cnp:namespace/name`
 * for a CiliumNetworkPolicy, `ccnp:name` for a CiliumClusterwideNetworkPolicy.
 */
export const policyRef = (p: { readonly kind?: PolicyKind; readonly namespace: string; readonly name: string }): string => {
  switch (p.kind) {
    case 'CiliumNetworkPolicy':
      return `cnp:${p.namespace}/${p.name}`;
    case 'CiliumClusterwideNetworkPolicy':
      return `ccnp:${p.name}`;
    default:
      return `${p.namespace}/${p.name}`;
  }
};

/** The identity of a policy everywhere (kind/namespace/name; a CCNP has namespace ''). */
export const policyKey = (p: { readonly kind?: PolicyKind; readonly namespace: string; readonly name: string }): string => `${policyKind(p)}/${p.namespace}/${p.name}`;

/** A set split by kind, for the few consumers that read NetworkPolicy rules themselves (authoring). */
export function splitByKind(policies: readonly Policy[]): { readonly network: NetworkPolicy[]; readonly cilium: CiliumPolicy[] } {
  const network: NetworkPolicy[] = [];
  const cilium: CiliumPolicy[] = [];
  for (const p of policies) {
    if (isCiliumPolicy(p)) cilium.push(p);
    else network.push(p);
  }
  return { network, cilium };
}
