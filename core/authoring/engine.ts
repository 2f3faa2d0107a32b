/**
 * The one place authoring reaches the policy engine: an evaluator per policy set. The `core`
 * helper is adding `createEvaluator` (core/policy/evaluator.ts); until it lands this adapter
 * wraps `compilePolicies` + `evaluateConnection`, so switching is this file alone.
 */
import type { Flow } from '../flow/index.js';
import { compilePolicies, evaluateConnection, type EvaluateOptions, type EvaluatedSides, type Evaluation, type NetworkPolicy } from '../policy/index.js';

export interface AuthoringEvaluator {
  readonly policies: readonly NetworkPolicy[];
  evaluate(flow: Flow, sides: EvaluatedSides, options?: EvaluateOptions): Evaluation;
}

export function evaluatorFor(policies: readonly NetworkPolicy[]): AuthoringEvaluator {
  const set = compilePolicies(policies);
  return { policies, evaluate: (flow, sides, options) => evaluateConnection(set, flow, sides, options) };
}

/** Both sides, whatever node saw the flow: what a connection needs to get through end to end. */
export const BOTH_SIDES: EvaluatedSides = Object.freeze({ egress: true, ingress: true });
