/**
 * One events.k8s.io/v1 Event per ramp transition, about the RampContract (`regarding`). The
 * API server accepts Events about a cluster-scoped object only in namespace `default` or
 * `kube-system` (legacyValidateEvent), so they go to `default`, as client-go's recorder puts
 * them. Events are best effort (they expire after an hour; the history in status is the
 * record): a failed create is retried a few times, then logged.
 */
import { EventsV1Api, V1MicroTime, type KubeConfig } from '@kubernetes/client-node';
import type { Clock, Logger } from '../../core/common/index.js';
import type { HistoryEntry } from '../state/journal.js';
import { describe } from '../contracts/kube-contract-source.js';
import { RAMPCONTRACT } from '../contracts/rampcontract-gvr.js';

export const EVENT_NAMESPACE = 'default';
export const REPORTING_CONTROLLER = 'rampart.dev/controlplane';
const NOTE_MAX = 1024;
const ATTEMPTS = 3;

export interface EventRecorderOptions {
  readonly kc: KubeConfig;
  readonly identity: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** uid of the contract object (regarding.uid), when known. */
  readonly uidOf: (contract: string) => string | undefined;
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
  private readonly api: EventsV1Api;
  private readonly o: EventRecorderOptions;
  private seq = 0;
  private created = 0;
  private failed = 0;

  constructor(options: EventRecorderOptions) {
    this.o = options;
    this.api = options.kc.makeApiClient(EventsV1Api);
  }

  stats(): { created: number; failed: number } {
    return { created: this.created, failed: this.failed };
  }

  async transition(e: HistoryEntry): Promise<void> {
    const reason = eventReason(e);
    const warning = e.decision === 'rollback' || e.to.phase === 'Blocked' || e.to.phase === 'RolledBack';
    const from = e.from ? `${e.from.stageName}/${e.from.phase}` : '(new)';
    const note = `${from} → ${e.to.stageName}/${e.to.phase} (revision ${e.revision}, by ${e.actor}): ${e.reasons.join('; ')}`;
    const nowMs = this.o.clock.nowMs();
    const uid = this.o.uidOf(e.contract);
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: `${e.contract}.${nowMs.toString(16)}${(this.seq++ % 4096).toString(16).padStart(3, '0')}`, namespace: EVENT_NAMESPACE },
      eventTime: new V1MicroTime(nowMs),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.o.identity.slice(0, 128),
      action: e.kind === 'reconcile' ? (e.decision === 'advance' ? 'Advance' : e.decision === 'rollback' ? 'Rollback' : 'Hold') : e.kind[0]!.toUpperCase() + e.kind.slice(1),
      reason,
      type: warning ? 'Warning' : 'Normal',
      note: note.length <= NOTE_MAX ? note : `${note.slice(0, NOTE_MAX - 1)}…`,
      regarding: { apiVersion: RAMPCONTRACT.apiVersion, kind: RAMPCONTRACT.kind, name: e.contract, ...(uid ? { uid } : {}) },
    };
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      try {
        await this.api.createNamespacedEvent({ namespace: EVENT_NAMESPACE, body });
        this.created++;
        return;
      } catch (err) {
        if (attempt === ATTEMPTS) {
          this.failed++;
          this.o.log.warn('event not recorded', { contract: e.contract, reason, err: { message: describe(err) } });
          return;
        }
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }
}
