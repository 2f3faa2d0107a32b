/**
 * Which pods a percent stage enforces on. A pod's bucket is a stable hash of the contract
 * name and the pod's namespace/name, in [0, 100). A pod is enrolled at P% iff bucket < P,
 * so the set only grows as P grows: a pod in the 10% stays in the 50% (monotonic), and the
 * same pod gets the same answer in every process (agent, actuator, simulator).
 */
import { assertNever, fnv1a32 } from '../common/index.js';

export function enrollmentBucket(contract: string, namespace: string, podName: string): number {
  return (fnv1a32(`${contract}\u0000${namespace}/${podName}`) % 10_000) / 100;
}

export function isEnrolled(contract: string, namespace: string, podName: string, percent: number): boolean {
  if (percent >= 100) return true;
  if (percent <= 0) return false;
  return enrollmentBucket(contract, namespace, podName) < percent;
}

/**
 * What a stage enforces, in any of its shapes (the ContractSet's Enforcement, the actuator's
 * applied stage): percent stages on enrolled pods, namespace stages on their namespaces
 * (cumulative lists, already), monitor on none.
 */
export type EnforcementRule =
  | { readonly mode: 'monitor' }
  | {
      readonly mode: 'percent';
      readonly percent: number;
      /**
       * Kubernetes mode: the pod label (`enroll.rampart.dev/<contract>`, value `"true"`) that
       * marks enrolled pods, read from the Hubble identity; it wins over the hash. Absent:
       * enrolled pods are the enrollment hash's.
       */
      readonly enrollLabel?: string;
    }
  | { readonly mode: 'namespaces'; readonly namespaces: readonly string[] };

export interface EnforcedPod {
  readonly namespace: string;
  readonly name: string;
  /** The pod's labels, when known (needed only for label enrollment). */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * THE enforcement rule (product.md "Enforced pods"), shared by the agent (which drops are
 * actual denies), the actuator and the simulated datapath (which pods the policies apply to),
 * so the three can never disagree about a pod.
 */
export function stageEnforces(contract: string, rule: EnforcementRule, pod: EnforcedPod): boolean {
  switch (rule.mode) {
    case 'monitor':
      return false;
    case 'percent':
      if (rule.enrollLabel !== undefined && rule.enrollLabel !== '') return pod.labels?.[rule.enrollLabel] === 'true';
      return isEnrolled(contract, pod.namespace, pod.name, rule.percent);
    case 'namespaces':
      return rule.namespaces.includes(pod.namespace);
    default:
      return assertNever(rule, 'enforcement mode');
  }
}
