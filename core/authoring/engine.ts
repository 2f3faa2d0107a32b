/**
 * The one place authoring reaches the policy engine: an evaluator per policy set
 * (core/policy createEvaluator, which owns its memo tables).
 */
import type { Flow } from '../flow/index.js';
import { createEvaluator, type EvaluateOptions, type EvaluatedSides, type Evaluation, type Policy } from '../policy/index.js';

export interface AuthoringEvaluator {
  readonly policies: readonly Policy[];
  evaluate(flow: Flow, sides: EvaluatedSides, options?: EvaluateOptions): Evaluation;
}

export function evaluatorFor(policies: readonly Policy[]): AuthoringEvaluator {
  const evaluator = createEvaluator(policies);
  return { policies, evaluate: (flow, sides, options) => evaluator.evaluate(flow, sides, options) };
}

/** Both sides, whatever node saw the flow: what a connection needs to get through end to end. */
export const BOTH_SIDES: EvaluatedSides = Object.freeze({ egress: true, ingress: true });
