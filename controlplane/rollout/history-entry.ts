/**
 * A ramp transition as the history records it: the stages by index and name, the phase on
 * each side, the decision with its reasons and evidence, and who acted.
 */
import type { Contract } from '../../core/contract/index.js';
import type { EvidenceSnapshot, RampState, Step } from '../../core/rollout/index.js';
import type { HistoryEntry } from '../state/journal.js';

/** The journal entry of `step` (which has a transition) taken from `prev` (null: the contract is new). */
export function historyEntryOf(contract: Contract, prev: RampState | null, step: Step, evidence: EvidenceSnapshot | null, nowMs: number): Omit<HistoryEntry, 'id'> {
  const t = step.transition!;
  const next = step.next;
  const stageName = (i: number): string => contract.spec.stages[i]?.name ?? '';
  return {
    atMs: nowMs,
    contract: contract.name,
    revision: next.revision,
    policiesHash: next.policiesHash,
    kind: t.kind,
    from: prev ? { stageIndex: prev.stageIndex, stageName: stageName(prev.stageIndex), phase: prev.phase } : null,
    to: { stageIndex: next.stageIndex, stageName: stageName(next.stageIndex), phase: next.phase },
    stageEnteredAtMs: next.stageEnteredAtMs,
    pausedFrom: next.pausedFrom,
    decision: t.decision,
    reasons: t.reasons,
    evidence,
    actor: t.actor,
  };
}
