/**
 * The seam where Kubernetes mode gets its actuator. Until the Kubernetes actuator lands
 * (server-side apply of each stage's NetworkPolicies, enrollment labels, …), this returns
 * the embedded LocalActuator, which records stages and enforces nothing. Whatever it
 * returns is called only while this replica leads, and only after the stage it is asked to
 * apply is in the contract's status (status-first-actuator.ts).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock, Logger } from '../../core/common/index.js';
import type { Actuator } from '../actuator/actuator.js';
import { LocalActuator } from '../actuator/local-actuator.js';
import type { RampContractObject } from './rampcontract-gvr.js';

export interface KubernetesActuatorContext {
  readonly kc: KubeConfig;
  /** --namespace (Lease, Events, agent identity). */
  readonly namespace: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** The RampContract object as last watched (uid for ownerReferences), or null. */
  readonly contractObject: (name: string) => RampContractObject | null;
  /** True while this replica leads; an actuator must not write when it is false. */
  readonly isLeader: () => boolean;
}

export function createKubernetesActuator(context: KubernetesActuatorContext): Actuator {
  void context;
  return new LocalActuator();
}
