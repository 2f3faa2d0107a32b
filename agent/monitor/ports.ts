/**
 * What the pipeline needs from the outside, as interfaces: the Hubble event stream, the
 * connection classifier and the policy engine. main.ts wires the real ones (agent/hubble,
 * core/flow, core/policy); tests and the benchmark can feed an in-memory source.
 */
import type { Problem, Result } from '../../core/common/index.js';
import type { Flow } from '../../core/flow/index.js';
import type { PolicyIdentity } from '../../core/policy/index.js';

/** One item of the Hubble stream: agent/hubble's event union (flows, lost events, node status). */
export type { HubbleEvent } from '../hubble/events.js';
import type { HubbleEvent } from '../hubble/events.js';

/** A source that can also hand over events in the batches it received them (agent/hubble's client). */
export interface BatchedEvents {
  batches(): AsyncIterable<readonly HubbleEvent[]>;
}

/**
 * Live facts about the Hubble connection, read when a window closes and for /readyz
 * (agent/hubble's HubbleClientStats has this shape). Messages the client could not decode
 * or that were too large are losses on our side and are reported as such.
 */
export interface HubbleStatus {
  readonly connected: boolean;
  readonly reconnects: number;
  readonly malformed?: number;
  readonly oversized?: number;
}

export type Classification =
  | { readonly kind: 'skip'; readonly reason: string }
  | { readonly kind: 'connection'; readonly egress: boolean; readonly ingress: boolean };

export interface Classifier {
  classify(flow: Flow): Classification;
}

/**
 * One side's outcome for one contract. Judged against a baseline (product.md "the
 * baseline"): `deny` is newly denied (the contract's would-deny), `allow` allowed under both
 * sets, `already-denied` denied by the baseline alone too, `newly-allowed` denied by the
 * baseline alone but allowed with the contract. Without a baseline only the first four occur.
 */
export type SideResult = 'allow' | 'deny' | 'indeterminate' | 'none' | 'already-denied' | 'newly-allowed';

export interface ConnectionVerdict {
  readonly egress: SideResult;
  readonly ingress: SideResult;
}

/**
 * Compiles a contract's policies once (on top of the baseline it is judged against, the
 * manifests of every policy in force that it did not write, less the ones it replaces or
 * removes: `removed`); evaluates connection-sides against the result.
 */
export interface PolicyEngine<S> {
  compile(policies: readonly unknown[], baseline?: readonly unknown[], removed?: readonly PolicyIdentity[]): Result<S, Problem[]>;
  evaluate(set: S, flow: Flow, sides: { readonly egress: boolean; readonly ingress: boolean }): ConnectionVerdict;
}
