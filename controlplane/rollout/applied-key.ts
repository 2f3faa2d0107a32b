/**
 * What the actuator was last asked to hold, as a comparable string: the reconciler asks again
 * only when it differs (level-triggered actuation without a write per pass).
 */
import { canonicalJson } from '../../core/common/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';

/**
 * Canonical JSON of each contract's policy manifests, by array identity: the manifests are the
 * parsed contract's (immutable) and come back as the same array every pass, so the reconcile
 * loop does not serialise every contract's policies on every pass just to learn that nothing
 * changed.
 */
const policiesJson = new WeakMap<readonly unknown[], string>();

export function appliedKeyOf(stage: AppliedStage): string {
  const { policies, ...rest } = stage;
  let json = policiesJson.get(policies);
  if (json === undefined) {
    json = canonicalJson(policies);
    policiesJson.set(policies, json);
  }
  return `${canonicalJson(rest)}\u0000${json}`;
}
