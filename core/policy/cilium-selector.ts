/**
 * Cilium endpoint selectors, matched by the one label-selector matcher (selector.ts) after a
 * key normaliser. Identity labels name their source (`k8s:app=web`,
 * `k8s:io.kubernetes.pod.namespace=shop`, `reserved:world`); a selector key may name one too
 * (`k8s:app`, `reserved:host`), and a key without one, or with `any:`, matches a label of any
 * source (pkg/labels LabelArray.Has/Get: `any.foo` finds `k8s.foo`, not the reverse). So an
 * identity becomes one label record holding each label twice, under `source:key` and under
 * its bare key (the first label of a key wins, as Cilium's lookup returns the first), and a
 * selector key becomes `source:key` when it names a source and the bare key when it does not.
 *
 * The namespace confinement Cilium applies to CNP/CCNP peers and subjects is added by the
 * caller (cilium-compile.ts) as extra requirements.
 *
 * Keys that Cilium's identity-label filter drops (selector.ts) cannot be read from a flow: a
 * requirement on one that the labels lack answers MAYBE, never a guessed yes or no.
 */
import { compileSelector, isFilteredIdentityLabel, matchSelector, type CompiledSelector } from './selector.js';
import type { LabelSelector, SelectorOperator, SelectorRequirement } from './policy.js';
import { MAYBE, NO, type Trit } from './trit.js';

export const POD_NAMESPACE_KEY = 'io.kubernetes.pod.namespace';
export const NAMESPACE_LABELS_PREFIX = 'io.cilium.k8s.namespace.labels.';

/** An identity's labels as the matcher reads them: `source:key` and bare `key`, each to its value. */
export type IdentityLabels = Readonly<Record<string, string>>;

const SOURCE = /^([a-z][a-z0-9-]*):(.*)$/s;

/** Splits a selector key or label into source and rest (`any` when no source is named). */
export function splitSource(text: string): { source: string; rest: string } {
  const m = SOURCE.exec(text);
  return m === null ? { source: 'any', rest: text } : { source: m[1]!, rest: m[2]! };
}

/** The key a selector requirement is looked up by in an identity's label record. */
function normaliseKey(key: string): string {
  const { source, rest } = splitSource(key);
  return source === 'any' ? rest : `${source}:${rest}`;
}

/** Adds `source:key=value` under both keys, unless a label of that key is there already. */
function addLabel(record: Record<string, string>, label: string): void {
  const { source, rest } = splitSource(label);
  const eq = rest.indexOf('=');
  const key = eq < 0 ? rest : rest.slice(0, eq);
  const value = eq < 0 ? '' : rest.slice(eq + 1);
  if (record[key] === undefined) record[key] = value;
  const sourced = `${source}:${key}`;
  if (source !== 'any' && record[sourced] === undefined) record[sourced] = value;
}

/**
 * The label record of an identity's labels. `namespace` fills in the pod namespace label when
 * absent; `fill` adds labels (same form) whose key the identity labels do not have.
 */
export function identityLabels(labels: readonly string[], namespace: string | null, fill: readonly string[] = []): IdentityLabels {
  // No prototype: a label key such as `__proto__` or `constructor` is only ever a label.
  const record = Object.create(null) as Record<string, string>;
  for (const label of labels) addLabel(record, label);
  if (namespace !== null && record[POD_NAMESPACE_KEY] === undefined) addLabel(record, `k8s:${POD_NAMESPACE_KEY}=${namespace}`);
  for (const label of fill) {
    const { rest } = splitSource(label);
    const eq = rest.indexOf('=');
    if (record[eq < 0 ? rest : rest.slice(0, eq)] === undefined) addLabel(record, label);
  }
  return record;
}

/**
 * Only labels Cilium reads from Kubernetes can be filtered out of an identity; its own
 * namespace and policy labels, and other sources, are always kept.
 */
function filteredFromIdentity(normalised: string): boolean {
  const { source, rest } = splitSource(normalised);
  return (source === 'k8s' || source === 'any') && rest !== POD_NAMESPACE_KEY && !rest.startsWith('io.cilium.k8s.') && isFilteredIdentityLabel(rest);
}

/** A Cilium endpoint selector (plus `extra` requirements), compiled for `matchSelector` against `identityLabels`. */
export function compileCiliumSelector(selector: LabelSelector, extra: ReadonlyArray<{ key: string; op: SelectorOperator; values: readonly string[] }> = []): CompiledSelector {
  const matchLabels = Object.create(null) as Record<string, string>;
  const matchExpressions: SelectorRequirement[] = [];
  for (const [k, v] of Object.entries(selector.matchLabels)) {
    const key = normaliseKey(k);
    // `app` and `any:app` are one key after normalising: both must hold, so a clash is an expression.
    if (Object.hasOwn(matchLabels, key)) matchExpressions.push({ key, operator: 'In', values: [v] });
    else matchLabels[key] = v;
  }
  for (const r of selector.matchExpressions) matchExpressions.push({ key: normaliseKey(r.key), operator: r.operator, values: r.values });
  for (const e of extra) matchExpressions.push({ key: normaliseKey(e.key), operator: e.op, values: e.values });
  return compileSelector({ matchLabels, matchExpressions }, filteredFromIdentity);
}

/** Whether a selector names a key (any of its sources), as Cilium's EndpointSelector.HasKey reads `k8s:` and `any:`. */
export function selectorHasKey(selector: LabelSelector, key: string): boolean {
  return selectorKeys(selector).some((k) => {
    const { source, rest } = splitSource(k);
    return rest === key && (source === 'k8s' || source === 'any');
  });
}

/** Whether a selector has a key starting with `prefix` (`k8s:`/`any:` sources). */
export function selectorHasKeyPrefix(selector: LabelSelector, prefix: string): boolean {
  return selectorKeys(selector).some((k) => {
    const { source, rest } = splitSource(k);
    return rest.startsWith(prefix) && (source === 'k8s' || source === 'any');
  });
}

export function selectorHasSource(selector: LabelSelector, wanted: string): boolean {
  return selectorKeys(selector).some((k) => splitSource(k).source === wanted);
}

/** Whether a compiled Cilium selector has a requirement on a label of `source`. */
export function compiledHasSource(selector: CompiledSelector, source: string): boolean {
  return selector.requirements.some((r) => r.key.startsWith(`${source}:`));
}

const selectorKeys = (selector: LabelSelector): string[] => [...Object.keys(selector.matchLabels), ...selector.matchExpressions.map((e) => e.key)];

/**
 * Whether a Cilium endpointSelector (keys as written, e.g. `app` or `k8s:app`) selects a pod
 * given by its namespace and Kubernetes labels; `policyNamespace` adds the CNP's namespace
 * requirement (null for a CCNP). MAYBE where the selector reads what pod labels do not carry
 * (namespace labels).
 */
export function endpointSelectorSelects(selector: LabelSelector, policyNamespace: string | null, podNamespace: string, podLabels: Readonly<Record<string, string>>): Trit {
  const extra = policyNamespace === null ? [] : [{ key: `k8s:${POD_NAMESPACE_KEY}`, op: 'In' as const, values: [policyNamespace] }];
  const compiled = compileCiliumSelector(selector, extra);
  const t = matchSelector(compiled, identityLabels(Object.entries(podLabels).map(([k, v]) => `k8s:${k}=${v}`), podNamespace));
  if (t !== NO) return t;
  // Namespace labels are not among a pod's labels: a requirement on them is unknown, not false.
  return compiled.requirements.some((r) => splitSource(r.key).rest.startsWith(NAMESPACE_LABELS_PREFIX)) ? MAYBE : NO;
}
