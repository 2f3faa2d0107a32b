/** core/policy: the NetworkPolicy model, its parser, and the evaluators. */
export * from './policy.js';
export { parseNetworkPolicy, NETWORK_POLICY_API_VERSION, DEFAULT_NAMESPACE } from './parse.js';
export { createEvaluator, type PolicyEvaluator, type EvaluatorOptions } from './evaluator.js';
export { createBaselineEvaluator, sideChange, type BaselineEvaluator, type BaselineEvaluation, type Change, type SideChange } from './baseline.js';
export type { Evaluation, SideVerdict, NamedPortResolver, EvaluateOptions, EvaluatedSides } from './verdict.js';
export { compileSelector, exactSelector, isFilteredIdentityLabel, matchLabelsMatch, matchSelector, selectorMatches, type CompiledSelector } from './selector.js';
export { NO, MAYBE, YES, type Trit } from './trit.js';
