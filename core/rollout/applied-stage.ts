/**
 * What one stage of a contract enforces, as the reconciler hands it to an actuator and the
 * simulated datapath follows it: pure, so the simulator and the control plane share it.
 */
import { assertNever } from '../common/index.js';
import type { Contract, Stage } from '../contract/index.js';
import type { PolicyIdentity } from '../policy/index.js';
import type { Enforcement } from '../summary/index.js';

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
  /** The ramp is Complete: every policy as written, handed off to the cluster. */
  readonly complete?: boolean;
  /**
   * Policies in force the contract replaces (new text in `policies`) or removes: enrolled pods
   * stop being governed by them (product.md "Changes to what is enforced"). Absent: none.
   */
  readonly replaces?: readonly PolicyIdentity[];
  readonly removes?: readonly PolicyIdentity[];
}

/** The policies in force the stage takes away from enrolled pods: what it replaces or removes. */
export function takenOut(stage: Pick<AppliedStage, 'replaces' | 'removes'>): readonly PolicyIdentity[] {
  return [...(stage.replaces ?? []), ...(stage.removes ?? [])];
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

export function appliedStageOf(contract: Contract, revision: number, stageIndex: number, complete = false): AppliedStage {
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
    complete,
    ...(contract.spec.replaces.length > 0 ? { replaces: contract.spec.replaces } : {}),
    ...(contract.spec.removes.length > 0 ? { removes: contract.spec.removes } : {}),
  };
}
