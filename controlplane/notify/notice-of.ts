/** A recorded transition (a history entry) as the notifier sends it. */
import type { HistoryEntry } from '../state/journal.js';
import type { TransitionNotice } from './message.js';

export function noticeOf(e: HistoryEntry): TransitionNotice {
  return {
    // The journal id is unique within one leader's term; with the revision and the time it
    // stays unique across leaders, so a receiver can dedupe on it.
    id: `${e.contract}/${e.revision}/${e.atMs}/${e.id}`,
    atMs: e.atMs,
    contract: e.contract,
    revision: e.revision,
    stage: { index: e.to.stageIndex, name: e.to.stageName },
    phase: e.to.phase,
    from: e.from ? { stage: e.from.stageName, phase: e.from.phase } : null,
    decision: e.decision,
    reasons: e.reasons,
    topEdges: e.evidence?.topEdges ?? [],
    actor: e.actor,
  };
}
