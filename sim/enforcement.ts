/**
 * The simulated datapath's view of what is enforced: the contracts' applied stages (the
 * control plane's AppliedStage, as its API's `applied` field reports them) turned into, per pod, the set of NetworkPolicies
 * that really apply to it. A percent stage applies a contract's policies to the pods
 * `isEnrolled` picks; a namespaces stage to every pod of the listed namespaces.
 */
import { stageEnforces } from '../core/contract/index.js';
import { identityKey, manifestIdentity } from '../core/policy/index.js';
import type { SimPod } from './cluster.js';
import type { Connection } from './connection.js';
import { takenOut, type AppliedStage } from '../core/rollout/index.js';

/** One side of a connection under the policies applied to that side's pod. */
export interface SideDecision {
  /** A policy isolates the pod in this direction: Cilium emits policy-verdict events. */
  readonly enforced: boolean;
  /** Not isolated, or some rule admits the connection. */
  readonly allowed: boolean;
}

export const NOT_ENFORCED: SideDecision = { enforced: false, allowed: true };

/**
 * Decides one side of a connection under a set of policies with NetworkPolicy semantics.
 * `setKey` identifies the policy set so an implementation can compile it once.
 */
export interface PolicyJudge {
  decide(setKey: string, policies: readonly unknown[], conn: Connection, side: 'egress' | 'ingress'): SideDecision;
}

export class Enforcement {
  private applied: readonly AppliedStage[] = [];
  private readonly judge: PolicyJudge;
  /** The policies in force before any contract (the cluster spec's `policies`): always enforced. */
  private readonly baseline: readonly unknown[];

  constructor(judge: PolicyJudge, baseline: readonly unknown[] = []) {
    this.judge = judge;
    this.baseline = baseline;
  }

  /**
   * Kubernetes mode: every NetworkPolicy in the API server, whoever wrote it. When set, it is
   * exactly what the datapath enforces; pods are selected by their live labels (enrollment
   * labels included), as Cilium does, and the contracts' `applied` records are not used.
   */
  private cluster: { readonly key: string; readonly policies: readonly unknown[] } | null = null;

  setClusterPolicies(key: string, policies: readonly unknown[]): void {
    this.cluster = { key, policies };
  }

  setApplied(contracts: readonly AppliedStage[]): void {
    this.applied = contracts;
  }

  current(): readonly AppliedStage[] {
    return this.applied;
  }

  /** Contracts whose current stage enforces on this pod. */
  contractsEnforcing(pod: SimPod): AppliedStage[] {
    return this.applied.filter((c) => stageEnforces(c.contract, c, { namespace: pod.namespace, name: pod.name }));
  }

  /**
   * The egress side is the source pod's, the ingress side the destination pod's. A pod's
   * effective policies are the pre-existing ones plus those of every contract enforcing it:
   * NetworkPolicies are additive, so the union (not each contract alone) is what the datapath
   * would enforce.
   */
  decide(conn: Connection, side: 'egress' | 'ingress'): SideDecision {
    const peer = side === 'egress' ? conn.src : conn.dst;
    if (peer.kind !== 'pod') return NOT_ENFORCED;
    // Kubernetes semantics: traffic from the pod's own node is always allowed in.
    if (side === 'ingress' && conn.src.kind === 'host') return NOT_ENFORCED;
    if (this.cluster) return this.cluster.policies.length === 0 ? NOT_ENFORCED : this.judge.decide(this.cluster.key, this.cluster.policies, conn, side);
    const contracts = this.contractsEnforcing(peer.pod);
    if (contracts.length === 0 && this.baseline.length === 0) return NOT_ENFORCED;
    // What a contract enforcing this pod replaces or removes no longer governs it (product.md
    // "Changes to what is enforced": enrolled pods get (baseline − R) ∪ P, the others the baseline).
    const gone = new Set(contracts.flatMap((c) => takenOut(c).map(identityKey)));
    const key = ['baseline', ...contracts.map((c) => `${c.contract}@${c.revision}`), ...[...gone].sort().map((g) => `-${g}`)].join('+');
    const baseline = gone.size === 0 ? this.baseline : this.baseline.filter((raw) => !gone.has(identityKey(manifestIdentity(raw))));
    return this.judge.decide(key, [...baseline, ...contracts.flatMap((c) => c.policies)], conn, side);
  }
}
