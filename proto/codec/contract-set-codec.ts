/**
 * ContractSet ⇄ proto `rampart.v1.ContractSet`, both directions. The implementation lives
 * beside the WindowReport codec in report-codec.ts (written with the agent, which decodes
 * what the control plane encodes); this module is the control plane's entry point to it,
 * so there is exactly one encoder and one validator for the pushed set.
 */
export { contractSetFromPb, contractSetToPb, type ActiveContractPb, type ContractSetPb } from './report-codec.js';
