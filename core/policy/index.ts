/** core/policy: the NetworkPolicy model, its parser, and the compiled evaluator. */
export * from './policy.js';
export { parseNetworkPolicy, NETWORK_POLICY_API_VERSION, DEFAULT_NAMESPACE } from './parse.js';
export { compilePolicies, type CompiledPolicySet, type CompiledPolicy } from './compile.js';
export { evaluateConnection } from './evaluate.js';
export type { Evaluation, SideVerdict, NamedPortResolver, EvaluateOptions, EvaluatedSides } from './verdict.js';
export { parseCidr, parseIp, rangeContains, isStrictSubrange, type IpAddress, type IpRange, type ParsedCidr } from './cidr.js';
export { isFilteredIdentityLabel } from './selector.js';
