/**
 * Applies a contract's current stage to the cluster. The embedded mode records it
 * (local-actuator.ts) so the simulator and the agents know what is enforced; a Kubernetes
 * actuator (applying NetworkPolicies to the enrolled pods) implements the same interface later.
 */
import { assertNever } from '../../core/common/index.js';
import type { Contract, Stage } from '../../core/contract/index.js';
import type { Enforcement } from '../../core/summary/index.js';

/** What one stage of a contract enforces. */
export interface AppliedStage {
  readonly contract: string;
  readonly revision: number;
  readonly stageIndex: number;
  readonly stageName: string;
  readonly mode: 'monitor' | 'percent' | 'namespaces';
  /** percent mode: pods enrolled by core/contract `isEnrolled` (0 otherwise). */
  readonly percent: number;
  /** namespaces mode: this stage's namespaces and every earlier stage's. */
  readonly namespaces: readonly string[];
  /** The NetworkPolicy manifests as written; enforced only where the mode says. */
  readonly policies: readonly unknown[];
}

export interface Actuator {
  apply(stage: AppliedStage): Promise<void>;
  remove(contract: string): Promise<void>;
}

/** What a stage enforces: percent stages by the enrollment hash, namespace stages cumulatively. */
export function enforcementOf(stages: readonly Stage[], stageIndex: number): Enforcement {
  const stage = stages[stageIndex];
  if (!stage) return { mode: 'monitor' };
  switch (stage.kind) {
    case 'monitor':
      return { mode: 'monitor' };
    case 'percent':
      return { mode: 'percent', percent: stage.percent };
    case 'namespaces': {
      const namespaces = new Set<string>();
      for (const s of stages.slice(0, stageIndex + 1)) if (s.kind === 'namespaces') for (const n of s.namespaces) namespaces.add(n);
      return { mode: 'namespaces', namespaces: [...namespaces].sort() };
    }
    default:
      return assertNever(stage, 'stage');
  }
}

export function appliedStageOf(contract: Contract, revision: number, stageIndex: number): AppliedStage {
  const e = enforcementOf(contract.spec.stages, stageIndex);
  return {
    contract: contract.name,
    revision,
    stageIndex,
    stageName: contract.spec.stages[stageIndex]?.name ?? '',
    mode: e.mode,
    percent: e.mode === 'percent' ? e.percent : 0,
    namespaces: e.mode === 'namespaces' ? e.namespaces : [],
    policies: contract.spec.rawPolicies,
  };
}
