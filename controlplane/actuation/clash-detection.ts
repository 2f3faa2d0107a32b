/**
 * Who owns a NetworkPolicy on the cluster, and the clashes that block a contract: a policy of
 * the same name that Rampart does not manage, or that another contract manages, is never
 * written; the contract gets a problem naming it (the reconciler blocks it) until the clash
 * is gone. Pure: the caller hands in the live objects.
 */
import type { KubernetesObject } from '@kubernetes/client-node';
import { NETWORK_POLICY_API, type PolicyKindApi } from '../../io/kube/policy-kinds.js';
import { problem, type Problem } from '../../core/common/index.js';
import { RAMPCONTRACT } from '../../core/contract/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import { CONTRACT_LABEL, FIELD_MANAGER, MANAGED_BY_LABEL, MANAGED_BY_VALUE, contractLabelValue } from '../contracts/labels.js';
import { policyRefs } from './desired-state.js';

/** A watched policy object of any kind (plain JSON). */
export type V1NetworkPolicy = KubernetesObject & { spec?: unknown };

export type Labels = Readonly<Record<string, string>>;
export const refKey = (namespace: string, name: string): string => `${namespace}/${name}`;
export const labelsOf = (o: { metadata?: { labels?: Record<string, string> } }): Labels => o.metadata?.labels ?? {};

/** Whether Rampart wrote the object: its label, or its field manager in managedFields (survives a label edit). */
export function isRampartManaged(np: V1NetworkPolicy): boolean {
  if (labelsOf(np)[MANAGED_BY_LABEL] === MANAGED_BY_VALUE) return true;
  return (np.metadata?.managedFields ?? []).some((m) => m.manager === FIELD_MANAGER && m.operation === 'Apply');
}

/** The contract that wrote a managed policy: its label, else its ownerReference. */
export function writerOf(np: V1NetworkPolicy): string | null {
  const label = labelsOf(np)[CONTRACT_LABEL];
  if (label) return label;
  return np.metadata?.ownerReferences?.find((r) => r.kind === RAMPCONTRACT.kind)?.name ?? null;
}

/** Whether the contract wrote this policy (and Rampart manages it). */
export const writtenBy = (np: V1NetworkPolicy, contract: string): boolean => isRampartManaged(np) && writerOf(np) === contractLabelValue(contract);

export const hasOwnerRef = (np: V1NetworkPolicy, contract: string): boolean =>
  (np.metadata?.ownerReferences ?? []).some((r) => r.kind === RAMPCONTRACT.kind && r.name === contract);

/** The clashes for a contract's stage: names it would write that someone else holds. */
export function clashesOf(stage: AppliedStage, lookup: (name: string, namespace: string) => V1NetworkPolicy | undefined, api: PolicyKindApi = NETWORK_POLICY_API): Problem[] {
  const out: Problem[] = [];
  const mine = contractLabelValue(stage.contract);
  const what = (ref: { namespace: string; writes: string }): string => `${api.kind} ${api.namespaced ? `${ref.namespace}/` : ''}${ref.writes}`;
  for (const ref of policyRefs(stage, api.kind)) {
    // A replaced policy is written under its copy's name; the original is expected to exist.
    const live = lookup(ref.writes, ref.namespace);
    if (!live) continue;
    if (!isRampartManaged(live)) {
      out.push(problem(`spec.policies[${ref.index}]`, `${what(ref)} already exists and is not managed by Rampart; it is never overwritten (rename the contract's policy or remove the existing one)`));
      continue;
    }
    const writer = writerOf(live);
    if (writer !== null && writer !== mine) {
      out.push(problem(`spec.policies[${ref.index}]`, `${what(ref)} is managed by contract ${writer}; it is never overwritten`));
    }
  }
  return out;
}
