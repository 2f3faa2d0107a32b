/**
 * Wraps the Kubernetes actuator so that a stage reaches the cluster only after the status
 * records it: apply(stage) first writes the contract's status (which names the stage), then
 * applies. A replica that dies in between leaves a status that is ahead of the cluster, and
 * its successor, starting from that status, applies the same stage again (idempotent);
 * never a cluster ahead of its status, which a successor would not know to undo. It also
 * records the outcome for the `Applied` condition, and refuses to act when not leading.
 */
import type { Problem } from '../../core/common/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import type { Actuator } from './actuator.js';
import type { ApplyState } from '../contracts/status-json.js';

export interface StatusFirstOptions {
  readonly inner: Actuator;
  readonly isLeader: () => boolean;
  /** Writes the contract's current status; rejects when it could not. */
  readonly writeStatus: (contract: string) => Promise<void>;
  /** Called after an apply finished or failed (the status writer then updates `Applied`). */
  readonly changed: (contract: string) => void;
}

export class StatusFirstActuator implements Actuator {
  private readonly o: StatusFirstOptions;
  private readonly states = new Map<string, ApplyState>();
  private applies = 0;

  constructor(options: StatusFirstOptions) {
    this.o = options;
  }

  applyState(contract: string): ApplyState | null {
    return this.states.get(contract) ?? null;
  }

  /** Stages handed to the inner actuator (tests: no stage is applied twice by one replica). */
  applyCount(): number {
    return this.applies;
  }

  async apply(stage: AppliedStage): Promise<void> {
    if (!this.o.isLeader()) throw new Error('not the leader: stage not applied');
    this.states.set(stage.contract, { state: 'pending', stage: stage.stageName, revision: stage.revision });
    // NOTE: the reconciler calls apply in the middle of a pass; the status it writes must
    // be the one after the pass, so yield once before reading it.
    await Promise.resolve();
    await this.o.writeStatus(stage.contract);
    if (!this.o.isLeader()) throw new Error('not the leader: stage not applied');
    try {
      this.applies++;
      await this.o.inner.apply(stage);
      this.states.set(stage.contract, { state: 'applied', stage: stage.stageName, revision: stage.revision });
    } catch (e) {
      this.states.set(stage.contract, { state: 'failed', stage: stage.stageName, revision: stage.revision, message: e instanceof Error ? e.message : String(e) });
      throw e;
    } finally {
      this.o.changed(stage.contract);
    }
  }

  /** The inner actuator's problems (a name clash…): the reconciler blocks the contract with them. */
  problems(contract: string): readonly Problem[] {
    return this.o.inner.problems?.(contract) ?? [];
  }

  enrollLabel(contract: string): string | undefined {
    return this.o.inner.enrollLabel?.(contract);
  }

  onChange(listener: () => void): void {
    this.o.inner.onChange?.(listener);
  }

  async remove(contract: string): Promise<void> {
    this.states.delete(contract);
    if (!this.o.isLeader()) throw new Error('not the leader: nothing removed');
    await this.o.inner.remove(contract);
  }
}
