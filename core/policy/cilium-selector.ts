/**
 * Cilium endpoint selectors, compiled once and matched against an endpoint's identity labels
 * (`k8s:app=web`, `k8s:io.kubernetes.pod.namespace=shop`, `reserved:world`). A selector key
 * may name its label source (`k8s:app`, `reserved:host`); a key without one matches a label of
 * any source, as Cilium reads it (pkg/policy/api NewESFromK8sLabelSelector with source "").
 *
 * The namespace confinement Cilium applies to CNP/CCNP peers and subjects is done here too
 * (pkg/k8s/apis/cilium.io/utils/utils.go getEndpointSelector and ParseToCiliumRule), so the
 * compiled selector is the one the agent matches.
 *
 * Keys that Cilium's identity-label filter drops (selector.ts) cannot be read from a flow: a
 * requirement on one that the labels lack answers MAYBE, never a guessed yes or no.
 */
import { isFilteredIdentityLabel } from './selector.js';
import type { LabelSelector, SelectorOperator } from './policy.js';
import { MAYBE, NO, YES, type Trit } from './trit.js';

export const POD_NAMESPACE_KEY = 'io.kubernetes.pod.namespace';
export const NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';

interface CiliumRequirement {
  /** 'any' when the selector key named no source. */
  readonly source: string;
  readonly key: string;
  readonly op: SelectorOperator;
  readonly values: ReadonlySet<string>;
  readonly filtered: boolean;
}

export interface CompiledCiliumSelector {
  readonly requirements: readonly CiliumRequirement[];
  /** Matches every label set. */
  readonly empty: boolean;
  /** The first key identity labels may lack (for explanations), or null. */
  readonly filteredKey: string | null;
}

/** One identity label: its source and value, by key. */
export type LabelIndex = ReadonlyMap<string, ReadonlyArray<{ readonly source: string; readonly value: string }>>;

const SOURCE = /^([a-z][a-z0-9-]*):(.*)$/s;

/** Splits a selector key or label into source and rest (`any` when no source is named). */
export function splitSource(text: string): { source: string; rest: string } {
  const m = SOURCE.exec(text);
  return m === null ? { source: 'any', rest: text } : { source: m[1]!, rest: m[2]! };
}

/** The label index of an identity's labels; `namespace` fills in the pod namespace label when absent. */
export function labelIndex(labels: readonly string[], namespace: string | null): LabelIndex {
  const index = new Map<string, { source: string; value: string }[]>();
  for (const label of labels) {
    const { source, rest } = splitSource(label);
    const eq = rest.indexOf('=');
    const key = eq < 0 ? rest : rest.slice(0, eq);
    const value = eq < 0 ? '' : rest.slice(eq + 1);
    let list = index.get(key);
    if (list === undefined) index.set(key, (list = []));
    list.push({ source, value });
  }
  if (namespace !== null && !index.has(POD_NAMESPACE_KEY)) index.set(POD_NAMESPACE_KEY, [{ source: 'k8s', value: namespace }]);
  return index;
}

function requirement(source: string, key: string, op: SelectorOperator, values: readonly string[]): CiliumRequirement {
  // Only labels Cilium reads from Kubernetes can be filtered out of an identity; its own
  // namespace and policy labels are always kept.
  const filtered = (source === 'k8s' || source === 'any') && key !== POD_NAMESPACE_KEY && !key.startsWith('io.cilium.k8s.') && isFilteredIdentityLabel(key);
  return { source, key, op, values: new Set(values), filtered };
}

export function compileCiliumSelector(selector: LabelSelector, extra: ReadonlyArray<{ key: string; op: SelectorOperator; values: readonly string[] }> = []): CompiledCiliumSelector {
  const reqs: CiliumRequirement[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels)) {
    const { source, rest } = splitSource(k);
    reqs.push(requirement(source, rest, 'In', [v]));
  }
  for (const r of selector.matchExpressions) {
    const { source, rest } = splitSource(r.key);
    reqs.push(requirement(source, rest, r.operator, r.values));
  }
  for (const e of extra) {
    const { source, rest } = splitSource(e.key);
    reqs.push(requirement(source, rest, e.op, e.values));
  }
  const firstFiltered = reqs.find((r) => r.filtered);
  return { requirements: reqs, empty: reqs.length === 0, filteredKey: firstFiltered ? firstFiltered.key : null };
}

/** Whether a selector names a key (any of its sources), as Cilium's EndpointSelector.HasKey reads `k8s:` and `any:`. */
export function selectorHasKey(selector: LabelSelector, key: string): boolean {
  const keys = [...Object.keys(selector.matchLabels), ...selector.matchExpressions.map((e) => e.key)];
  return keys.some((k) => {
    const { source, rest } = splitSource(k);
    return rest === key && (source === 'k8s' || source === 'any');
  });
}

/** Whether a selector has a key starting with `prefix` (`k8s:`/`any:` sources), or, with `reservedSource`, any `reserved:` key. */
export function selectorHasKeyPrefix(selector: LabelSelector, prefix: string): boolean {
  const keys = [...Object.keys(selector.matchLabels), ...selector.matchExpressions.map((e) => e.key)];
  return keys.some((k) => {
    const { source, rest } = splitSource(k);
    return rest.startsWith(prefix) && (source === 'k8s' || source === 'any');
  });
}

export function selectorHasSource(selector: LabelSelector, wanted: string): boolean {
  const keys = [...Object.keys(selector.matchLabels), ...selector.matchExpressions.map((e) => e.key)];
  return keys.some((k) => splitSource(k).source === wanted);
}

function valuesOf(index: LabelIndex, r: CiliumRequirement): ReadonlyArray<{ readonly source: string; readonly value: string }> | null {
  const all = index.get(r.key);
  if (all === undefined) return null;
  if (r.source === 'any') return all;
  const some = all.filter((l) => l.source === r.source);
  return some.length === 0 ? null : some;
}

/** Matches a compiled selector against an identity's labels: YES, NO, or MAYBE where a filtered key is missing. */
export function matchCiliumSelector(selector: CompiledCiliumSelector, index: LabelIndex): Trit {
  if (selector.empty) return YES;
  let result: Trit = YES;
  for (const r of selector.requirements) {
    const found = valuesOf(index, r);
    if (found === null) {
      if (r.filtered) {
        result = MAYBE;
        continue;
      }
      if (r.op === 'In' || r.op === 'Exists') return NO;
      continue;
    }
    switch (r.op) {
      case 'In':
        if (!found.some((l) => r.values.has(l.value))) return NO;
        break;
      case 'NotIn':
        if (found.some((l) => r.values.has(l.value))) return NO;
        break;
      case 'Exists':
        break;
      case 'DoesNotExist':
        return NO;
    }
  }
  return result;
}

/**
 * Whether a Cilium endpointSelector (keys as written, e.g. `app` or `k8s:app`) selects a pod
 * given by its namespace and Kubernetes labels; `policyNamespace` adds the CNP's namespace
 * requirement (null for a CCNP). MAYBE where the selector reads what pod labels do not carry
 * (namespace labels).
 */
export function endpointSelectorSelects(selector: LabelSelector, policyNamespace: string | null, podNamespace: string, podLabels: Readonly<Record<string, string>>): Trit {
  const extra = policyNamespace === null ? [] : [{ key: `k8s:${POD_NAMESPACE_KEY}`, op: 'In' as const, values: [policyNamespace] }];
  const compiled = compileCiliumSelector(selector, extra);
  const index = labelIndex(Object.entries(podLabels).map(([k, v]) => `k8s:${k}=${v}`), podNamespace);
  const t = matchCiliumSelector(compiled, index);
  if (t !== NO) return t;
  // Namespace labels are not among a pod's labels: a requirement on them is unknown, not false.
  return compiled.requirements.some((r) => r.key.startsWith(NAMESPACE_LABELS_PREFIX)) ? MAYBE : NO;
}
