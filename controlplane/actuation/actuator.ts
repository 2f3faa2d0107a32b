/**
 * Applies a contract's current stage to the cluster. The embedded mode records it
 * (local-actuator.ts) so the simulator and the agents know what is enforced; the Kubernetes
 * actuator (kubernetes-actuator.ts) applies real NetworkPolicies and enrollment labels.
 */
import type { Problem } from '../../core/common/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';

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
