/**
 * The embedded mode's actuator: it records what each contract's stage enforces, for the
 * API (`applied` on each contract, polled by the simulator) and for the agents' ContractSet.
 * It enforces nothing itself; the simulator's datapath does, from this record.
 */
import { stageEnforces } from '../../core/contract/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import type { Actuator } from './actuator.js';

export class LocalActuator implements Actuator {
  private readonly stages = new Map<string, AppliedStage>();
  private applies = 0;

  apply(stage: AppliedStage): Promise<void> {
    this.stages.set(stage.contract, stage);
    this.applies++;
    return Promise.resolve();
  }

  remove(contract: string): Promise<void> {
    this.stages.delete(contract);
    return Promise.resolve();
  }

  applied(contract: string): AppliedStage | null {
    return this.stages.get(contract) ?? null;
  }

  /** How many times a stage was applied (for tests and metrics). */
  applyCount(): number {
    return this.applies;
  }

  /** Whether the contract's current stage enforces its policies on this pod. */
  enforces(contract: string, namespace: string, podName: string): boolean {
    const s = this.stages.get(contract);
    return s !== undefined && stageEnforces(contract, s, { namespace, name: podName });
  }
}
