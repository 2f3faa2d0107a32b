/**
 * The RampContract custom resource's identifiers (deploy/crds/rampcontracts.yaml), in one
 * place for the parser, the control plane's API calls and the demo's cluster set-up.
 */
const GROUP = 'rampart.dev';
const VERSION = 'v1alpha1';
const PLURAL = 'rampcontracts';

export const RAMPCONTRACT = Object.freeze({
  group: GROUP,
  version: VERSION,
  plural: PLURAL,
  kind: 'RampContract',
  apiVersion: `${GROUP}/${VERSION}`,
  /** Cluster-scoped: list and watch path. */
  path: `/apis/${GROUP}/${VERSION}/${PLURAL}`,
} as const);
