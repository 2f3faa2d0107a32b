/**
 * A pod's identity as the API server has it now. In Kubernetes mode (`rampart demo
 * --kubernetes`) pod labels change under the simulator (enrollment labels), and Cilium gives
 * a pod a new security identity per label set: the Hubble records then carry the live
 * labels and identity instead of the workload's static ones. Kept beside the pods (a
 * WeakMap keyed by the pod object), so several simulators in one process never mix.
 */
import { fnv1a32 } from '../core/common/index.js';
import type { SimPod } from './cluster.js';

export interface LiveIdentity {
  readonly identity: number;
  readonly labels: readonly string[];
  /** The pod labels behind `labels` (what selectors read). */
  readonly podLabels: Readonly<Record<string, string>>;
}

const live = new WeakMap<SimPod, LiveIdentity>();

/** Global identities live in 256..65535; the same label set always gets the same number. */
export function identityNumber(labels: readonly string[]): number {
  return 256 + (fnv1a32(labels.join(',')) % 65_000);
}

export function setLiveIdentity(pod: SimPod, identity: LiveIdentity): void {
  live.set(pod, identity);
}

export function liveIdentity(pod: SimPod): LiveIdentity | undefined {
  return live.get(pod);
}
