/**
 * What evaluating a connection against a policy set yields. `indeterminate` means the flow
 * does not carry enough evidence to decide (unknown identity, unresolved named port, missing
 * namespace labels): it is never guessed into `allow` or `deny`.
 */
import type { PolicyProtocol } from './policy.js';

export type SideVerdict = 'allow' | 'deny' | 'indeterminate';

export interface Evaluation {
  /** deny if any evaluated side denies; else indeterminate if any is; else allow. */
  readonly verdict: SideVerdict;
  /** `none`: not requested, or the source has no side (external, node, other non-pod identities). */
  readonly egress: SideVerdict | 'none';
  readonly ingress: SideVerdict | 'none';
  /**
   * `namespace/name` of the policies that admitted the connection; when denied, the policies
   * that isolate the denying side; when indeterminate, those that may isolate the undecided side.
   */
  readonly policies: readonly string[];
  /** One line a person can act on, e.g. `egress allowed by shop/allow-dns`. */
  readonly reason: string;
}

/**
 * Resolves a named container port on a pod: the port number, `null` when the pod is known and
 * has no such port for that protocol, `undefined` when the pod is unknown (→ indeterminate).
 */
export type NamedPortResolver = (namespace: string, podName: string, portName: string, protocol: PolicyProtocol) => number | null | undefined;

/**
 * Resolves a named port the way Cilium resolves egress named ports (netpol.md 4.3): over the
 * container ports of every pod of the cluster. The number when exactly one number carries that
 * name and protocol, `null` when none or several do (Cilium then opens nothing), `undefined`
 * when the cluster's ports are not known (→ indeterminate).
 */
export type ClusterNamedPortResolver = (portName: string, protocol: string) => number | null | undefined;

export interface EvaluateOptions {
  readonly namedPorts?: NamedPortResolver;
  readonly clusterNamedPorts?: ClusterNamedPortResolver;
}

/** Which sides this node evaluates: egress where `source.ID` is set, ingress where `destination.ID` is. */
export interface EvaluatedSides {
  readonly egress: boolean;
  readonly ingress: boolean;
}

/** The verdict of one side, memoised and shared between evaluations (immutable). */
export interface SideResult {
  readonly verdict: SideVerdict;
  readonly policies: readonly string[];
  readonly reason: string;
  /** This side alone as a whole evaluation (the other side `none`), built on first use. */
  alone: Evaluation | null;
}
