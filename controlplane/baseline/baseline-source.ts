import { manifestIdentity, type PolicyIdentity } from '../../core/policy/index.js';

/**
 * Where the baseline comes from: the NetworkPolicies already in force. File mode reads a
 * folder (--baseline <dir>); Kubernetes mode watches every NetworkPolicy. For a contract C
 * the baseline is every policy whose owner is not C (unmanaged ones and other contracts').
 */
export interface BaselinePolicy {
  /** namespace/name */
  readonly ref: string;
  /** The NetworkPolicy manifest as a plain object (parsed by core/policy). */
  readonly manifest: unknown;
  /** The `rampart.dev/contract` label's value, or null when no contract wrote it. */
  readonly owner: string | null;
}

export interface BaselineSnapshot {
  /** Changes whenever the set or any policy changes (a content hash or a counter). */
  readonly revision: string;
  /** Sorted by ref. */
  readonly policies: readonly BaselinePolicy[];
}

export interface BaselineSource {
  /** Loads the initial set, then keeps watching until the signal aborts. */
  start(signal: AbortSignal): Promise<void>;
  snapshot(): BaselineSnapshot;
  /** Called after the snapshot changed. */
  onChange(listener: () => void): void;
}

/** Which policy a baseline entry is (kind/namespace/name), read from its manifest. */
export const baselineIdentity = (p: BaselinePolicy): PolicyIdentity => manifestIdentity(p.manifest);

/** The baseline a contract is judged against: every policy it did not write. */
export function baselineFor(snapshot: BaselineSnapshot, contract: string): readonly BaselinePolicy[] {
  return snapshot.policies.filter((p) => p.owner !== contract);
}
