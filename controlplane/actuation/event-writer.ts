/**
 * The control plane's one writer of Kubernetes Events (events.k8s.io/v1) about a
 * RampContract (`regarding`): the ramp's transitions (event-recorder.ts) and what the
 * actuator did to the cluster (actuation-events.ts). The API server accepts Events about a
 * cluster-scoped object only in namespace `default` or `kube-system` (legacyValidateEvent),
 * so they go to `default`, as client-go's recorder puts them. Events are best effort (they
 * expire after an hour; the history in status is the record): a failed create is retried a
 * few times, then logged and counted, and never holds up the caller. The event time and name
 * come from the injected clock; the name is fixed before the first attempt, so a retry of a
 * create that had in fact succeeded answers 409 and is not written twice.
 */
import { EventsV1Api, V1MicroTime, type KubeConfig } from '@kubernetes/client-node';
import type { Clock, Logger } from '../../core/common/index.js';
import { RAMPCONTRACT } from '../../core/contract/index.js';
import { describeApiError, isConflict } from '../../io/kube/api-error.js';
import { isFenced } from '../../io/kube/write-fence.js';

export const EVENT_NAMESPACE = 'default';
export const REPORTING_CONTROLLER = 'rampart.dev/controlplane';
const NOTE_MAX = 1024;
const ATTEMPTS = 3;
const RETRY_DELAY_MS = 200;

/** One Event about a contract. */
export interface ContractEvent {
  readonly contract: string;
  /** The contract's uid, when known (Events point at the object). */
  readonly uid?: string;
  readonly type: 'Normal' | 'Warning';
  /** CamelCase, low cardinality (Advanced, RolledBack, DriftCorrected, NameClash, …). */
  readonly reason: string;
  /** What was done: Advance, Hold, Apply, Delete, Label, … */
  readonly action: string;
  readonly note: string;
}

export interface EventWriterOptions {
  readonly kc: KubeConfig;
  /** reportingInstance: who writes (the elector's identity). */
  readonly identity: string;
  readonly clock: Clock;
  readonly log: Logger;
  /**
   * Fencing: checked before every attempt, so a leader paused past its Lease (an attempt
   * queued or retried across the pause) writes nothing once another replica leads. A request
   * already under way is fenced by the client (io/kube/write-fence.ts: `kc` of the leader's
   * writes) and dropped, not retried.
   */
  readonly isLeader?: () => boolean;
}

export class EventWriter {
  private readonly api: EventsV1Api;
  private readonly o: EventWriterOptions;
  private seq = 0;
  private created = 0;
  private failed = 0;

  constructor(options: EventWriterOptions) {
    this.o = options;
    this.api = options.kc.makeApiClient(EventsV1Api);
  }

  stats(): { created: number; failed: number } {
    return { created: this.created, failed: this.failed };
  }

  /** Resolves when the Event is written or given up on (never rejects). */
  async write(e: ContractEvent): Promise<void> {
    const nowMs = this.o.clock.nowMs();
    const body = {
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      // A name is at most 253 characters; so is a contract's, hence the cut.
      metadata: { name: `${e.contract.slice(0, 200)}.${nowMs.toString(16)}${(this.seq++ % 4096).toString(16).padStart(3, '0')}`, namespace: EVENT_NAMESPACE },
      eventTime: new V1MicroTime(nowMs),
      reportingController: REPORTING_CONTROLLER,
      reportingInstance: this.o.identity.slice(0, 128),
      action: e.action,
      reason: e.reason,
      type: e.type,
      note: e.note.length <= NOTE_MAX ? e.note : `${e.note.slice(0, NOTE_MAX - 1)}…`,
      regarding: { apiVersion: RAMPCONTRACT.apiVersion, kind: RAMPCONTRACT.kind, name: e.contract, ...(e.uid ? { uid: e.uid } : {}) },
    };
    for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
      if (this.o.isLeader !== undefined && !this.o.isLeader()) {
        this.o.log.info('event dropped: this replica no longer leads', { contract: e.contract, reason: e.reason });
        return;
      }
      try {
        await this.api.createNamespacedEvent({ namespace: EVENT_NAMESPACE, body });
        this.created++;
        return;
      } catch (err) {
        if (isFenced(err)) {
          // Leadership ended between the check above and the wire (the client's fence).
          this.o.log.info('event dropped: this replica no longer leads', { contract: e.contract, reason: e.reason });
          return;
        }
        if (attempt > 1 && isConflict(err)) {
          this.created++; // an earlier attempt got through after all
          return;
        }
        if (attempt === ATTEMPTS) {
          this.failed++;
          this.o.log.warn('event not recorded', { contract: e.contract, reason: e.reason, err: { message: describeApiError(err) } });
          return;
        }
        await new Promise((r) => setTimeout(r, RETRY_DELAY_MS * attempt));
      }
    }
  }
}
