/**
 * Bounded memo tables for the evaluator, one set per compiled policy set.
 *
 * Keyed by Cilium security identity: one identity stands for one label set (namespace labels
 * included), so which policies select an endpoint and which selector peers match it are
 * computed once per identity, not once per flow. Every hit is verified against the endpoint's
 * namespace and raw identity labels, so a reused or synthetic identity number can never return
 * another endpoint's answer. Tables are cleared when full: a pathological cluster costs
 * recomputation, never unbounded memory. Each evaluator (evaluator.ts) owns one set of
 * tables, with its own budget: nothing outside the evaluator clears them.
 */
import type { PodEndpoint } from '../flow/index.js';
import type { CompiledPolicy } from './compiled.js';
import { identityLabels, type IdentityLabels } from './cilium-selector.js';
import type { Trit } from './trit.js';
import type { Evaluation, SideResult } from './verdict.js';

/** Facts about one direction of one endpoint, computed on first use. */
export interface SideCandidates {
  /** Policies of the endpoint's namespace that isolate this direction and may select it. */
  readonly policies: readonly CompiledPolicy[];
  /** Selection of each candidate: YES, or MAYBE when a podSelector key is missing from identity labels. */
  readonly selected: readonly Trit[];
  readonly namedPorts: boolean;
  /** Some candidate has a toFQDNs egress peer. */
  readonly fqdn: boolean;
  /** Memoised side results by peer key then port/protocol key. */
  readonly results: Map<unknown, Map<number, SideResult>>;
  resultCount: number;
  notIsolated: SideResult | null;
  /**
   * Change sets (compile.ts `Membership`): `policies` are *after*'s candidates and `base`
   * *before*'s, or null when every candidate is in both (the change cannot touch this side:
   * its verdict is the same under both sets).
   */
  readonly base: SideCandidates | null;
}

export interface EndpointFacts {
  readonly identity: number;
  readonly namespace: string;
  readonly labels: readonly string[];
  readonly endpoint: PodEndpoint;
  /** True when the flow carried no `io.cilium.k8s.namespace.labels.*` label at all. */
  readonly namespaceLabelsMissing: boolean;
  /** The identity labels indexed for Cilium selectors, built on first use. */
  ciliumIndex: IdentityLabels | null;
  /** Selector-peer matches by peer slot; 255 = not computed yet. */
  peerMatches: Uint8Array | null;
  ingress: SideCandidates | null;
  egress: SideCandidates | null;
}

export interface EvaluationCaches {
  readonly endpoints: Map<number, EndpointFacts>;
  /** Side results memoised across all endpoints; over `budget` every memo is dropped. */
  results: number;
  /** Most side results held at once (the evaluator's `memoBudget`). */
  readonly budget: number;
  /** How often the budget made the evaluator drop every memo. */
  releases: number;
  /** Evaluations of an egress result combined with an ingress result. */
  readonly pairs: WeakMap<SideResult, Map<SideResult, Evaluation>>;
}

export const MAX_ENDPOINTS = 4096;
export const MAX_RESULTS_PER_SIDE = 2048;
export const MAX_RESULTS = 65_536;

export const createCaches = (budget: number = MAX_RESULTS): EvaluationCaches => ({ endpoints: new Map(), results: 0, budget, releases: 0, pairs: new WeakMap() });

/** Counts one memoised side result; over the budget, dropping the endpoint table releases every memo hanging off it. */
export function noteResult(caches: EvaluationCaches): void {
  if (++caches.results > caches.budget) {
    caches.endpoints.clear();
    caches.results = 0;
    caches.releases++;
  }
}

function sameLabels(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function hasNoKeys(record: Readonly<Record<string, string>>): boolean {
  for (const _ in record) return false;
  return true;
}

function newFacts(pod: PodEndpoint): EndpointFacts {
  return {
    identity: pod.identity,
    namespace: pod.namespace,
    labels: pod.labels,
    endpoint: pod,
    namespaceLabelsMissing: hasNoKeys(pod.namespaceLabels),
    ciliumIndex: null,
    peerMatches: null,
    ingress: null,
    egress: null,
  };
}

/**
 * The facts of a pod endpoint, memoised by identity when the identity is a real one (> 0) and
 * the raw labels are present to verify it; otherwise fresh facts for this call only.
 */
export function factsFor(caches: EvaluationCaches, pod: PodEndpoint): EndpointFacts {
  if (pod.identity <= 0 || pod.labels.length === 0) return newFacts(pod);
  const cached = caches.endpoints.get(pod.identity);
  if (cached !== undefined && cached.namespace === pod.namespace && sameLabels(cached.labels, pod.labels)) return cached;
  if (caches.endpoints.size >= MAX_ENDPOINTS) caches.endpoints.clear();
  const facts = newFacts(pod);
  caches.endpoints.set(pod.identity, facts);
  return facts;
}

/** The identity labels of a pod indexed for Cilium selectors, built once per identity. */
export function ciliumIndexOf(facts: EndpointFacts): IdentityLabels {
  if (facts.ciliumIndex !== null) return facts.ciliumIndex;
  // Raw identity labels first; the structured fields fill in what a hand-built or field-masked
  // endpoint lacks, so both readings of one pod agree.
  const pod = facts.endpoint;
  const extra: string[] = [];
  for (const [k, v] of Object.entries(pod.podLabels)) extra.push(`k8s:${k}=${v}`);
  for (const [k, v] of Object.entries(pod.namespaceLabels)) extra.push(`k8s:io.cilium.k8s.namespace.labels.${k}=${v}`);
  return (facts.ciliumIndex = identityLabels(pod.labels, facts.namespace, extra));
}
