/**
 * Which pods a percent stage enforces on. A pod's bucket is a stable hash of the contract
 * name and the pod's namespace/name, in [0, 100). A pod is enrolled at P% iff bucket < P,
 * so the set only grows as P grows: a pod in the 10% stays in the 50% (monotonic), and the
 * same pod gets the same answer in every process (agent, actuator, simulator).
 */
import { fnv1a32 } from '../common/hash.js';

export function enrollmentBucket(contract: string, namespace: string, podName: string): number {
  return (fnv1a32(`${contract}\u0000${namespace}/${podName}`) % 10_000) / 100;
}

export function isEnrolled(contract: string, namespace: string, podName: string, percent: number): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return enrollmentBucket(contract, namespace, podName) < percent;
}
