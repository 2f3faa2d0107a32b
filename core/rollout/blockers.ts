/**
 * What blocks a stage besides its gates, pure: the actuator's problems (a name clash) and an
 * enrollment label that does not reach the Hubble identities fail the stage like a gate.
 */
import type { Problem } from '../common/index.js';
import type { Contract } from '../contract/index.js';
import type { StageAssessment } from './assess-stage.js';
import type { StageEvidence } from './evidence.js';
import type { RampState } from './ramp.js';

/**
 * The actuator's problems (a name clash, a label that does not reach the identities) fail the
 * stage like a gate: the contract is Blocked with them. Real denies still roll back.
 */
export function blockedByActuator(a: StageAssessment, problems: readonly Problem[]): StageAssessment {
  if (problems.length === 0 || a.decision === 'rollback') return a;
  return { ...a, phase: 'failed', decision: 'hold', reasons: [...problems.map((p) => p.message), ...a.reasons] };
}

/**
 * What holds a contract besides its document, each problem once: the change check against the
 * baseline (a name in force that the contract does not replace) and the actuator's own clash
 * check (which also reads names the baseline may not hold yet) see the same collision under
 * the same path; the actuator's is left out where the change check names that path already.
 */
export function actuationProblems(change: readonly Problem[], actuator: readonly Problem[], enrollment: readonly Problem[]): Problem[] {
  const named = new Set(change.map((p) => p.path));
  return [...change, ...actuator.filter((p) => !named.has(p.path)), ...enrollment];
}

/**
 * Kubernetes mode: enrolled pods show up in Hubble without the enrollment label (and no pod
 * with it), so Cilium's identity-label filter drops it and the stage enforces nothing: the
 * drops it should count cannot happen. Blocked with that reason rather than judged.
 */
export function enrollmentProblems(contract: Contract, state: RampState, e: StageEvidence, label: string | undefined): Problem[] {
  const stage = contract.spec.stages[state.stageIndex];
  if (!label || stage?.kind !== 'percent' || state.phase === 'Complete') return [];
  const missing = e.enrollment?.missing ?? 0;
  if (missing === 0 || (e.enrollment?.seen ?? 0) > 0) return [];
  return [
    {
      path: `spec.rollout.stages[${state.stageIndex}]`,
      message: `enrollment label ${label} does not reach the Hubble identities: ${missing} connection-sides on enrolled pods lack it and none carries it (Cilium's identity-label filter, the \`labels\` option, drops it?); the stage would enforce nothing`,
    },
  ];
}
