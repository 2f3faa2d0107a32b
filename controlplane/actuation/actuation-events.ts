/**
 * Kubernetes Events about what the actuator did to the cluster (drift put back, a name
 * clash, a stage applied), as `events.k8s.io/v1` Events regarding the RampContract, in the
 * control plane's namespace (a cluster-scoped object's events need one). Events are
 * best-effort: a failed write is logged, never retried, and never holds up actuation.
 */
import { EventsV1Api, V1MicroTime, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../core/common/index.js';
import { CONTRACT_API_VERSION, CONTRACT_KIND } from '../contracts/labels.js';

export interface ActuationEvent {
  readonly contract: string;
  /** The contract's uid, when known (Events point at the object). */
  readonly uid?: string;
  readonly type: 'Normal' | 'Warning';
  /** CamelCase, low cardinality: DriftCorrected, NameClash, StageApplied, PoliciesRemoved. */
  readonly reason: string;
  /** What was done: Apply, Delete, Label. */
  readonly action: string;
  readonly note: string;
}

export interface ActuationEventSink {
  emit(event: ActuationEvent): void;
}

const MAX_NOTE = 1024;

export class KubeEventRecorder implements ActuationEventSink {
  private readonly api: EventsV1Api;
  private readonly namespace: string;
  private readonly instance: string;
  private readonly log: Logger;
  /** Every Event asked for, newest last (bounded; for tests and the API). */
  readonly recent: ActuationEvent[] = [];

  constructor(opts: { kc: KubeConfig; namespace: string; instance: string; log: Logger }) {
    this.api = opts.kc.makeApiClient(EventsV1Api);
    this.namespace = opts.namespace;
    this.instance = opts.instance.slice(0, 128);
    this.log = opts.log;
  }

  emit(event: ActuationEvent): void {
    this.recent.push(event);
    if (this.recent.length > 200) this.recent.shift();
    const note = event.note.length > MAX_NOTE ? `${event.note.slice(0, MAX_NOTE - 1)}…` : event.note;
    this.api
      .createNamespacedEvent({
        namespace: this.namespace,
        body: {
          apiVersion: 'events.k8s.io/v1',
          kind: 'Event',
          metadata: { generateName: `${event.contract.slice(0, 200)}.`, namespace: this.namespace },
          eventTime: new V1MicroTime(),
          reportingController: 'rampart.dev/controlplane',
          reportingInstance: this.instance,
          action: event.action,
          reason: event.reason,
          type: event.type,
          note,
          regarding: { apiVersion: CONTRACT_API_VERSION, kind: CONTRACT_KIND, name: event.contract, ...(event.uid ? { uid: event.uid } : {}) },
        },
      })
      .catch((e: unknown) => {
        this.log.warn('event not recorded', { contract: event.contract, reason: event.reason, err: { message: e instanceof Error ? e.message : String(e) } });
      });
  }
}
