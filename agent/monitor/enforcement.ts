/**
 * Whether a contract's current stage enforces its policies on a pod (product.md "Enforced
 * pods"): percent stages by core/contract's deterministic, monotonic enrollment hash,
 * namespace stages by the listed namespaces, monitor never. Only real policy drops on
 * enforced pods are actual denies for that contract.
 */
import { stageEnforces } from '../../core/contract/index.js';
import type { Endpoint } from '../../core/flow/index.js';
import type { Enforcement } from '../../core/summary/index.js';

export function isEnforcedOn(contract: string, enforcement: Enforcement, endpoint: Endpoint): boolean {
  if (endpoint.kind !== 'pod') return false;
  return stageEnforces(contract, enforcement, { namespace: endpoint.namespace, name: endpoint.podName, labels: endpoint.podLabels });
}
