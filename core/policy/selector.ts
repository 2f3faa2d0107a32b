/**
 * Label selectors (netpol.md rules 19–21), compiled once and matched against plain label
 * records. Semantics follow apimachinery's `Requirement.Matches`: matchLabels and every
 * requirement are ANDed; `NotIn` and `DoesNotExist` match when the key is absent (pitfall 4).
 *
 * Pod labels in flows are Cilium identity labels, and Cilium's default identity-label filter
 * drops some keys (hubble.md 4.1: `pod-template-hash`, `kubernetes.io/*`, …). A requirement on
 * such a key that the flow does not carry cannot be settled from the flow: it answers MAYBE,
 * never a guessed yes or no.
 */
import type { LabelSelector, SelectorOperator, SelectorRequirement } from './policy.js';
import { MAYBE, NO, YES, type Trit } from './trit.js';

const OP_IN = 0;
const OP_NOT_IN = 1;
const OP_EXISTS = 2;
const OP_DOES_NOT_EXIST = 3;
type OpCode = typeof OP_IN | typeof OP_NOT_IN | typeof OP_EXISTS | typeof OP_DOES_NOT_EXIST;

interface CompiledRequirement {
  readonly key: string;
  readonly op: OpCode;
  readonly values: ReadonlySet<string>;
  /** The key may be missing from identity labels because Cilium's filter drops it. */
  readonly filtered: boolean;
}

export interface CompiledSelector {
  /** `{}`: matches every label set, including an empty or missing one. */
  readonly empty: boolean;
  readonly requirements: readonly CompiledRequirement[];
  /** The selector's first key that identity labels may lack (for explanations), or null. */
  readonly filteredKey: string | null;
}

/**
 * Keys dropped by Cilium's default identity-label filter (cilium/cilium pkg/labelsfilter,
 * summarised in hubble.md 4.1), minus the ones it keeps explicitly (`app.kubernetes.io/*`).
 */
const FILTERED_EXACT = new Set([
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'batch.kubernetes.io/job-completion-index',
  'batch.kubernetes.io/controller-uid',
  'pod-template-generation',
  'pod-template-hash',
  'controller-revision-hash',
  'controller-uid',
  'etcd_node',
]);

export function isFilteredIdentityLabel(key: string): boolean {
  if (FILTERED_EXACT.has(key)) return true;
  if (key.startsWith('app.kubernetes.io/')) return false;
  return (
    key.startsWith('io.kubernetes') ||
    key.startsWith('kubernetes.io') ||
    key.includes('beta.kubernetes.io') ||
    key.startsWith('k8s.io') ||
    key.startsWith('topology.kubernetes.io') ||
    key.startsWith('annotation.')
  );
}

const OP_CODES = { In: OP_IN, NotIn: OP_NOT_IN, Exists: OP_EXISTS, DoesNotExist: OP_DOES_NOT_EXIST } as const;

/**
 * @param identityLabels true for selectors read against pod identity labels (podSelector),
 *   where filtered keys may be missing; false for namespace labels, which Cilium keeps whole;
 *   or the test itself, for selectors whose keys say their label source (cilium-selector.ts).
 */
export function compileSelector(selector: LabelSelector, identityLabels: boolean | ((key: string) => boolean)): CompiledSelector {
  const filtered = typeof identityLabels === 'function' ? identityLabels : identityLabels ? isFilteredIdentityLabel : (): boolean => false;
  const requirements: CompiledRequirement[] = [];
  // matchLabels {k: v} is the requirement `k In (v)` (apimachinery LabelSelectorAsSelector).
  for (const [key, value] of Object.entries(selector.matchLabels)) {
    requirements.push({ key, op: OP_IN, values: new Set([value]), filtered: filtered(key) });
  }
  for (const r of selector.matchExpressions) {
    requirements.push({ key: r.key, op: OP_CODES[r.operator], values: new Set(r.values), filtered: filtered(r.key) });
  }
  const firstFiltered = requirements.find((r) => r.filtered);
  return { empty: requirements.length === 0, requirements, filteredKey: firstFiltered ? firstFiltered.key : null };
}

/** Matches a selector against a label record: YES, NO, or MAYBE when a filtered key is missing. */
export function matchSelector(selector: CompiledSelector, labels: Readonly<Record<string, string>>): Trit {
  if (selector.empty) return YES;
  let result: Trit = YES;
  const reqs = selector.requirements;
  for (let i = 0; i < reqs.length; i++) {
    const r = reqs[i]!;
    // NOTE: typeof guards against inherited members (`constructor` is a valid label key).
    const value: unknown = labels[r.key];
    if (typeof value !== 'string') {
      if (r.filtered) {
        result = MAYBE;
        continue;
      }
      if (r.op === OP_IN || r.op === OP_EXISTS) return NO;
      continue; // NotIn / DoesNotExist hold when the key is absent.
    }
    switch (r.op) {
      case OP_IN:
        if (!r.values.has(value)) return NO;
        break;
      case OP_NOT_IN:
        if (r.values.has(value)) return NO;
        break;
      case OP_EXISTS:
        break;
      case OP_DOES_NOT_EXIST:
        return NO;
    }
  }
  return result;
}

/**
 * Exact matching, as the API server matches (every label known, so no MAYBE): the one
 * matcher for pods read from the cluster or from manifests (the actuator, the agent's
 * enrollment check, the authoring commands). `selector` is a LabelSelector or the same as
 * plain JSON (a manifest's `podSelector`); anything else matches nothing. Where it runs per
 * pod, compile once with `exactSelector`.
 */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean {
  return exactSelector(selector)(labels);
}

/** `selectorMatches`, compiled once. */
export function exactSelector(selector: unknown): (labels: Readonly<Record<string, string>>) => boolean {
  const parsed = labelSelectorOf(selector);
  if (parsed === null) return () => false;
  const compiled = compileSelector(parsed, false);
  return (labels) => matchSelector(compiled, labels) === YES;
}

/** `matchLabels` alone: every pair present and equal. */
export const matchLabelsMatch = (matchLabels: Readonly<Record<string, string>>, labels: Readonly<Record<string, string>>): boolean =>
  selectorMatches({ matchLabels }, labels);

const OPERATORS: ReadonlySet<string> = new Set(['In', 'NotIn', 'Exists', 'DoesNotExist']);
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A metav1.LabelSelector as plain JSON (or already parsed), or null when it is not one. An
 * absent `matchLabels` or `matchExpressions` is empty; `{}` matches everything.
 */
function labelSelectorOf(raw: unknown): LabelSelector | null {
  if (!isObj(raw)) return null;
  const matchLabels: Record<string, string> = {};
  if (isObj(raw['matchLabels'])) {
    for (const [k, v] of Object.entries(raw['matchLabels'])) {
      if (typeof v !== 'string') return null;
      matchLabels[k] = v;
    }
  }
  const matchExpressions: SelectorRequirement[] = [];
  for (const e of Array.isArray(raw['matchExpressions']) ? (raw['matchExpressions'] as unknown[]) : []) {
    if (!isObj(e) || typeof e['key'] !== 'string' || typeof e['operator'] !== 'string' || !OPERATORS.has(e['operator'])) return null;
    const values = Array.isArray(e['values']) ? (e['values'] as unknown[]).filter((v): v is string => typeof v === 'string') : [];
    matchExpressions.push({ key: e['key'], operator: e['operator'] as SelectorOperator, values });
  }
  return { matchLabels, matchExpressions };
}
