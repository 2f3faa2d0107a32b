/**
 * The names Rampart writes on cluster objects (product.md "Kubernetes mode"), in one place:
 * the field manager, the labels and annotations on applied NetworkPolicies, and the
 * per-contract enrollment label on pods.
 */
import { contentHash } from '../../core/common/index.js';

export const FIELD_MANAGER = 'rampart';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'rampart';
export const CONTRACT_LABEL = 'rampart.dev/contract';
export const REVISION_ANNOTATION = 'rampart.dev/revision';
export const STAGE_ANNOTATION = 'rampart.dev/stage';
export const ENROLL_PREFIX = 'enroll.rampart.dev/';

/** A label's name part is at most 63 characters (a contract name may be up to 253). */
const MAX_LABEL_NAME = 63;

/**
 * `enroll.rampart.dev/<contract>`; a contract name too long for a label's name part is cut
 * and given a hash suffix, so the key stays unique per contract and valid.
 */
export function enrollLabelKey(contract: string): string {
  if (contract.length <= MAX_LABEL_NAME) return `${ENROLL_PREFIX}${contract}`;
  const suffix = contentHash(contract).slice(0, 10);
  const head = contract.slice(0, MAX_LABEL_NAME - suffix.length - 1).replace(/[^a-z0-9]+$/, '');
  return `${ENROLL_PREFIX}${head}-${suffix}`;
}

/** The contract label's value (a label value is also limited to 63 characters). */
export function contractLabelValue(contract: string): string {
  return enrollLabelKey(contract).slice(ENROLL_PREFIX.length);
}
