/**
 * Applies a contract's current stage to the cluster. The embedded mode records it
 * (local-actuator.ts) so the simulator and the agents know what is enforced; the Kubernetes
 * actuator (controlplane/kubernetes/) applies real NetworkPolicies and enrollment labels.
 */
import { assertNever, type Problem } from '../../core/common/index.js';
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
  /** The ramp is Complete: every policy as written, handed off to the cluster. */
  readonly complete?: boolean;
}

export interface Actuator {
  apply(stage: AppliedStage): Promise<void>;
  remove(contract: string): Promise<void>;
  /**
   * Why the actuator cannot hold the contract's stage (a name clash with a policy it does not
   * manage, …). The reconciler blocks the contract with these, whatever the evidence says.
   */
  problems?(contract: string): readonly Problem[];
  /** The pod label that marks enrolled pods, when percent stages enroll by label (Kubernetes mode). */
  enrollLabel?(contract: string): string | undefined;
  /** Called when `problems` may have changed (so the reconciler can run a pass soon). */
  onChange?(listener: () => void): void;
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
  };
}
