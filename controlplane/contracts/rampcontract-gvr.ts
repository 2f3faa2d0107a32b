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
