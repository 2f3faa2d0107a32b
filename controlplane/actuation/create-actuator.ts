/**
 * The seam where Kubernetes mode gets its actuator and baseline: the Kubernetes actuator
 * (kubernetes-actuator.ts: server-side apply of each stage's NetworkPolicies, enrollment
 * labels, clash and drift handling) and the baseline source (every NetworkPolicy), sharing
 * one NetworkPolicy watch. The actuator is called only while this replica leads, and only
 * after the stage it is asked to apply is in the contract's status (status-first-actuator.ts).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Clock, Logger } from '../../core/common/index.js';
import type { BaselineSource } from '../baseline/baseline-source.js';
import { KubeEventRecorder } from './actuation-events.js';
import { networkPolicyWatch } from '../../io/kube/network-policies.js';
import { KubernetesBaselineSource } from '../baseline/kube-baseline-source.js';
import { EventWriter } from './event-writer.js';
import { createKubernetesActuator as createActuator, type KubernetesActuator } from './kubernetes-actuator.js';
import type { RampContractObject } from '../contracts/rampcontract-gvr.js';

export interface KubernetesActuatorContext {
  readonly kc: KubeConfig;
  /** --namespace (Lease, agent identity). Events go to `default` (event-writer.ts). */
  readonly namespace: string;
  readonly log: Logger;
  readonly clock: Clock;
  /** The RampContract object as last watched (uid for ownerReferences), or null. */
  readonly contractObject: (name: string) => RampContractObject | null;
  /** True while this replica leads; an actuator must not write when it is false. */
  readonly isLeader: () => boolean;
  /** Who reports Events (the elector's identity). */
  readonly identity?: string;
  /** How often every contract is re-checked for drift (default 10 s). */
  readonly resyncMs?: number;
}

export interface KubernetesActuation {
  readonly actuator: KubernetesActuator;
  readonly baseline: BaselineSource;
  /** Lists NetworkPolicies and Pods (resolves when both caches are filled), then keeps watching. */
  start(signal: AbortSignal): Promise<void>;
}

export function createKubernetesActuation(context: KubernetesActuatorContext): KubernetesActuation {
  const policies = networkPolicyWatch(context.kc, context.log);
  const actuator = createActuator({
    kc: context.kc,
    log: context.log,
    isLeader: context.isLeader,
    policies,
    events: new KubeEventRecorder(new EventWriter({ kc: context.kc, identity: context.identity ?? 'rampart', clock: context.clock, log: context.log, isLeader: context.isLeader })),
    // The watched object's uid: a contract not (yet) in the watch gets nothing applied until it is.
    owner: async (name) => {
      const uid = context.contractObject(name)?.metadata?.uid;
      return uid ? { name, uid } : null;
    },
    resyncMs: context.resyncMs,
  });
  const baseline = new KubernetesBaselineSource({ kc: context.kc, log: context.log, watch: policies });
  return {
    actuator,
    baseline,
    async start(signal: AbortSignal): Promise<void> {
      await Promise.all([policies.start(signal), actuator.start(signal)]);
    },
  };
}
