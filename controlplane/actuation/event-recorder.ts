/**
 * One Kubernetes Event per ramp transition, about the RampContract, through the one Event
 * writer (event-writer.ts: namespace, retries, names).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock, Logger } from '../../core/common/index.js';
import type { HistoryEntry } from '../state/journal.js';
import { EventWriter } from './event-writer.js';

export interface EventRecorderOptions {
  readonly kc: KubeConfig;
  readonly identity: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** uid of the contract object (regarding.uid), when known. */
  readonly uidOf: (contract: string) => string | undefined;
  /** Fencing: no Event once this replica no longer leads (see EventWriter). */
  readonly isLeader?: () => boolean;
}

/** The reason (one CamelCase word) of a transition. */
export function eventReason(e: Pick<HistoryEntry, 'kind' | 'decision' | 'from' | 'to'>): string {
  switch (e.kind) {
    case 'revision':
      return e.from === null ? 'Registered' : 'NewRevision';
    case 'approve':
      return 'Approved';
    case 'pause':
      return 'Paused';
    case 'resume':
      return 'Resumed';
    case 'rollback':
      return 'RolledBack';
    case 'reconcile':
      if (e.decision === 'rollback') return 'RolledBack';
      if (e.to.phase === 'Complete') return 'Completed';
      if (e.decision === 'advance') return 'Advanced';
      return e.to.phase;
    default:
      return 'Transition';
  }
}

export class EventRecorder {
  private readonly writer: EventWriter;
  private readonly o: EventRecorderOptions;

  constructor(options: EventRecorderOptions) {
    this.o = options;
    this.writer = new EventWriter({ kc: options.kc, identity: options.identity, clock: options.clock, log: options.log, ...(options.isLeader ? { isLeader: options.isLeader } : {}) });
  }

  stats(): { created: number; failed: number } {
    return this.writer.stats();
  }

  transition(e: HistoryEntry): Promise<void> {
    const warning = e.decision === 'rollback' || e.to.phase === 'Blocked' || e.to.phase === 'RolledBack';
    const from = e.from ? `${e.from.stageName}/${e.from.phase}` : '(new)';
    return this.writer.write({
      contract: e.contract,
      uid: this.o.uidOf(e.contract),
      type: warning ? 'Warning' : 'Normal',
      reason: eventReason(e),
      action: e.kind === 'reconcile' ? (e.decision === 'advance' ? 'Advance' : e.decision === 'rollback' ? 'Rollback' : 'Hold') : e.kind[0]!.toUpperCase() + e.kind.slice(1),
      note: `${from} → ${e.to.stageName}/${e.to.phase} (revision ${e.revision}, by ${e.actor}): ${e.reasons.join('; ')}`,
    });
  }
}
