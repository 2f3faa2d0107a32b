/**
 * Whether a contract's current stage enforces its policies on a pod (product.md "Enforced
 * pods"): percent stages by the enrollment label in the pod's Hubble identity when the
 * control plane names one (Kubernetes mode: the label is what the policies select on, so it
 * is the truth), else by core/contract's deterministic, monotonic enrollment hash;
 * namespace stages by the listed namespaces; monitor never. Only real policy drops on
 * enforced pods are actual denies for that contract.
 */
import { isEnrolled } from '../../core/contract/index.js';
import type { Endpoint } from '../../core/flow/index.js';
import type { Enforcement } from '../../core/summary/index.js';

export function isEnforcedOn(contract: string, enforcement: Enforcement, endpoint: Endpoint): boolean {
  if (endpoint.kind !== 'pod') return false;
  switch (enforcement.mode) {
    case 'monitor':
      return false;
    case 'percent':
      if (enforcement.enrollLabel) return endpoint.podLabels[enforcement.enrollLabel] === 'true';
      return isEnrolled(contract, endpoint.namespace, endpoint.podName, enforcement.percent);
    case 'namespaces':
      return enforcement.namespaces.includes(endpoint.namespace);
  }
}
