/**
 * The percent ramp the actuator kube tests walk (monitor → 10% → 50% → 100%), as the
 * reconciler would hand each stage to an actuator, and as a RampContract's rollout.
 */
import type { PolicyIdentity } from '../../../core/policy/index.js';
import type { AppliedStage } from '../../../core/rollout/index.js';

export const RAMP_STAGES = [
  { name: 'monitor', mode: 'monitor', percent: 0 },
  { name: 'canary', mode: 'percent', percent: 10 },
  { name: 'half', mode: 'percent', percent: 50 },
  { name: 'full', mode: 'percent', percent: 100 },
] as const;

/** The `spec.rollout` of a contract with those stages. */
export const rampRollout = (): Record<string, unknown> => ({
  strategy: 'percent',
  stages: RAMP_STAGES.map((s) => ({ name: s.name, minDuration: '1s', ...(s.mode === 'percent' ? { percent: s.percent } : {}) })),
});

/** Stage `index` of revision 1 (Complete with `complete`), with the contract's replaces/removes if any. */
export function rampStage(
  contract: string,
  policies: readonly unknown[],
  index: number,
  o: { complete?: boolean; replaces?: readonly PolicyIdentity[]; removes?: readonly PolicyIdentity[] } = {},
): AppliedStage {
  const s = RAMP_STAGES[index]!;
  return {
    contract,
    revision: 1,
    stageIndex: index,
    stageName: s.name,
    mode: s.mode,
    percent: s.percent,
    namespaces: [],
    policies,
    complete: o.complete ?? false,
    ...(o.replaces ? { replaces: o.replaces } : {}),
    ...(o.removes ? { removes: o.removes } : {}),
  };
}
