import type { Problem } from '../common/index.js';

/**
 * The NetworkPolicy model (networking.k8s.io/v1) after parsing and defaulting: what the
 * engine compiles. Defaults are already applied here (effective policyTypes, protocol TCP),
 * so no later stage has to remember them. See ../shared/docs/netpol.md for the rules.
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
}

/** `namespace/name`, the way verdicts name policies. */
export const policyRef = (p: Pick<NetworkPolicy, 'namespace' | 'name'>): string => `${p.namespace}/${p.name}`;
