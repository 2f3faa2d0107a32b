/** core/policy: the NetworkPolicy model, its parser, and the evaluators. */
export * from './policy.js';
export { parseNetworkPolicy, NETWORK_POLICY_API_VERSION, DEFAULT_NAMESPACE } from './parse.js';
export { createEvaluator, type PolicyEvaluator, type EvaluatorOptions } from './evaluator.js';
export { createChangeEvaluator, policiesAfter, sideChange, type ChangeEvaluator, type ChangeEvaluation, type PolicyChange, type Change, type SideChange } from './change.js';
export { NETWORK_POLICY_KIND, identityOf, identityKey, formatIdentity, manifestIdentity, type PolicyIdentity } from './identity.js';
export type { Evaluation, SideVerdict, NamedPortResolver, EvaluateOptions, EvaluatedSides } from './verdict.js';
export { exactSelector, isFilteredIdentityLabel, matchLabelsMatch, selectorMatches } from './selector.js';
