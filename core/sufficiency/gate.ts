/**
 * The sufficiency gates' common result: the same shape (and phase words) as the stage gates
 * they join, so the assessment folds them with the others.
 */
export type SufficiencyGateName = 'history' | 'schedules' | 'minWorkloadCoverage' | 'maxInconclusive';

export interface SufficiencyGate {
  readonly gate: SufficiencyGateName;
  readonly phase: 'passed' | 'inconclusive' | 'failed';
  readonly message: string;
}

