/** The RampContract resource (deploy/crds/rampcontracts.yaml), as the API paths name it. */
export const RAMPCONTRACT = Object.freeze({
  group: 'rampart.dev',
  version: 'v1alpha1',
  plural: 'rampcontracts',
  kind: 'RampContract',
  apiVersion: 'rampart.dev/v1alpha1',
  /** Cluster-scoped: list and watch path. */
  path: '/apis/rampart.dev/v1alpha1/rampcontracts',
});

/** The parts of a RampContract object the control plane reads besides spec. */
export interface RampContractObject {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata?: {
    readonly name?: string;
    readonly uid?: string;
    readonly generation?: number;
    readonly resourceVersion?: string;
    readonly creationTimestamp?: string;
    readonly deletionTimestamp?: string;
  };
  readonly spec?: unknown;
  readonly status?: Record<string, unknown>;
}
