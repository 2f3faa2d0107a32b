/** core/policy: the NetworkPolicy model, its parser, and the evaluators. */
export * from './policy.js';
export { parseNetworkPolicy, NETWORK_POLICY_API_VERSION, DEFAULT_NAMESPACE } from './parse.js';
export { parseCiliumPolicy, isCiliumManifest, isHostPolicyManifest, CILIUM_API_VERSION, CILIUM_KINDS } from './cilium-parse.js';
export { parsePolicy } from './parse-any.js';
export { ciliumDepartures } from './departures.js';
export { createEvaluator, type PolicyEvaluator, type EvaluatorOptions } from './evaluator.js';
export { createChangeEvaluator, policiesAfter, sideChange, type ChangeEvaluator, type ChangeEvaluation, type PolicyChange, type Change, type SideChange } from './change.js';
export { NETWORK_POLICY_KIND, identityOf, identityKey, formatIdentity, manifestIdentity, type PolicyIdentity } from './identity.js';
export type { Evaluation, SideVerdict, NamedPortResolver, ClusterNamedPortResolver, EvaluateOptions, EvaluatedSides } from './verdict.js';
export { compileSelector, exactSelector, isFilteredIdentityLabel, matchLabelsMatch, matchSelector, selectorMatches, type CompiledSelector } from './selector.js';
export { endpointSelectorSelects } from './cilium-selector.js';
export { NO, MAYBE, YES, type Trit } from './trit.js';
