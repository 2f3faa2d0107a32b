/**
 * The ContractSet pushed to agents, derived from the reconciler's views: each valid contract
 * at its stage with the enforcement agents judge by, and the baseline in force. The key tells
 * the reconciler whether anything agents see changed (a new generation only then).
 */
import { canonicalJson } from '../../core/common/index.js';
import type { ContractView } from '../../core/rollout/index.js';
import type { ActiveContract, ContractSet, Enforcement } from '../../core/summary/index.js';
import { enforcementOf } from '../../core/rollout/index.js';
import type { BaselineSnapshot } from '../baseline/baseline-source.js';

export interface ContractSetContent {
  readonly contracts: readonly ActiveContract[];
  readonly baseline?: ContractSet['baseline'];
  /** Equal keys: agents would see the same set (no new generation). */
  readonly key: string;
}

/** What agents are told, from the views; `enrollLabel` is the actuator's pod label for a contract (Kubernetes mode). */
export function contractSetContent(
  views: Iterable<ContractView>,
  enrollLabel: (contract: string) => string | undefined,
  snapshot: BaselineSnapshot | undefined,
): ContractSetContent {
  const contracts = [];
  for (const view of views) {
    if (!view.contract || !view.state) continue;
    contracts.push({
      name: view.name,
      revision: view.state.revision,
      stageIndex: view.state.stageIndex,
      stageName: view.contract.spec.stages[view.state.stageIndex]?.name ?? '',
      policies: view.contract.spec.rawPolicies,
      // Agents judge *after* without these (product.md "Changes to what is enforced").
      ...(view.contract.spec.replaces.length > 0 ? { replaces: view.contract.spec.replaces } : {}),
      ...(view.contract.spec.removes.length > 0 ? { removes: view.contract.spec.removes } : {}),
      enforcement: withEnrollLabel(
        enforcementOf(view.contract.spec.stages, view.state.stageIndex),
        // At Complete the labels are gone and every selected pod is enforced.
        view.state.phase === 'Complete' ? undefined : enrollLabel(view.name),
      ),
    });
  }
  const baseline = snapshot === undefined || snapshot.revision === '' ? undefined : { revision: snapshot.revision, policies: snapshot.policies };
  const judged = baseline === undefined ? contracts : contracts.map((c) => ({ ...c, baselineRevision: baseline.revision }));
  const key = `${baseline?.revision ?? ''}\u0000${canonicalJson(contracts)}`;
  return { contracts: judged, key, ...(baseline === undefined ? {} : { baseline }) };
}

/** Percent stages enforced by a pod label: agents classify enforced pods by it (Kubernetes mode). */
function withEnrollLabel(e: Enforcement, enrollLabel: string | undefined): Enforcement {
  return e.mode === 'percent' && enrollLabel ? { ...e, enrollLabel } : e;
}
