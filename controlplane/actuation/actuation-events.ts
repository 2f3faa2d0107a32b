/**
 * Kubernetes Events about what the actuator did to the cluster (drift put back, a name
 * clash, a stage applied), regarding the RampContract, through the one Event writer
 * (event-writer.ts: in namespace `default`, where the API server accepts Events about a
 * cluster-scoped object). Best effort: written in the background, never holding up actuation.
 */
import type { ContractEvent, EventWriter } from './event-writer.js';

export type ActuationEvent = ContractEvent;

export interface ActuationEventSink {
  emit(event: ActuationEvent): void;
}

export class KubeEventRecorder implements ActuationEventSink {
  private readonly writer: EventWriter;
  /** Every Event asked for, newest last (bounded; for tests and the API). */
  readonly recent: ActuationEvent[] = [];

  constructor(writer: EventWriter) {
    this.writer = writer;
  }

  emit(event: ActuationEvent): void {
    this.recent.push(event);
    if (this.recent.length > 200) this.recent.shift();
    void this.writer.write(event);
  }
}
