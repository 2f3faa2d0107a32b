/**
 * The seam where Kubernetes mode gets its actuator and baseline: the Kubernetes actuator
 * (kubernetes-actuator.ts: server-side apply of each stage's NetworkPolicies, enrollment
 * labels, clash and drift handling) and the baseline source (every NetworkPolicy), sharing
 * one NetworkPolicy watch. The actuator is called only while this replica leads, and only
 * after the stage it is asked to apply is in the contract's status (status-first-actuator.ts).
 */
import { CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Clock, Logger } from '../../core/common/index.js';
import type { BaselineSource } from '../baseline/baseline-source.js';
import { KubeEventRecorder } from './actuation-events.js';
import { WatchedCollection } from '../../io/kube/list-watch.js';
import { CILIUM_POLICY_APIS, NETWORK_POLICY_API, policyWatch } from '../../io/kube/policy-kinds.js';
import { createMultiKindActuator } from './multi-kind-actuator.js';
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
  const policies = policyWatch(context.kc, context.log, NETWORK_POLICY_API);
  const core = context.kc.makeApiClient(CoreV1Api);
  // One Pod watch for every kind's actuator (only the NetworkPolicy one writes labels).
  const pods = new WatchedCollection<V1Pod>({ kc: context.kc, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces(), log: context.log });
  const events = new KubeEventRecorder(new EventWriter({ kc: context.kc, identity: context.identity ?? 'rampart', clock: context.clock, log: context.log, isLeader: context.isLeader }));
  // The watched object's uid: a contract not (yet) in the watch gets nothing applied until it is.
  const owner = async (name: string): Promise<{ name: string; uid: string } | null> => {
    const uid = context.contractObject(name)?.metadata?.uid;
    return uid ? { name, uid } : null;
  };
  const common = { kc: context.kc, log: context.log, isLeader: context.isLeader, pods, events, owner, resyncMs: context.resyncMs };
  const cilium = CILIUM_POLICY_APIS.map((api) => ({ api, actuator: createActuator({ ...common, kind: api, manageLabels: false }) }));
  // The NetworkPolicy actuator holds the labels and the finalizer for originals of every kind.
  const networkPolicies = createActuator({ ...common, policies, peers: cilium.map((c) => c.actuator.originals) });
  const actuator = createMultiKindActuator(context.kc, context.log, networkPolicies, cilium);
  const baseline = new KubernetesBaselineSource({ kc: context.kc, log: context.log, watch: policies });
  return {
    actuator,
    baseline,
    async start(signal: AbortSignal): Promise<void> {
      await Promise.all([policies.start(signal), pods.start(signal), actuator.start(signal)]);
    },
  };
}
