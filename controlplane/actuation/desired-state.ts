/**
 * What a contract's stage means on the cluster, pure: the policy objects to apply
 * (NetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, each as written in the
 * contract, plus Rampart's labels, annotations, ownerReference and, for percent stages, the
 * enrollment requirement on `podSelector` / `endpointSelector` / `specs[*].endpointSelector`;
 * peers never change) and which pods carry the enrollment label. product.md "Kubernetes mode",
 * "Applying a stage", "Cilium policies", "Changes to what is enforced": a policy the contract
 * replaces is written under a copy's name (with the enrollment requirement) until Complete,
 * when its new text goes to the original (original-policies.ts); pods the originals select are
 * enrolled too.
 */
import { enrollmentBucket, RAMPCONTRACT } from '../../core/contract/index.js';
import { takenOut, type AppliedStage } from '../../core/rollout/index.js';
import { copyName } from '../contracts/originals.js';
import {
  CONTRACT_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  REVISION_ANNOTATION,
  STAGE_ANNOTATION,
  contractLabelValue,
  enrollLabelKey,
} from '../contracts/labels.js';
import { endpointSelectorSelects, NO, selectorMatches, type LabelSelector, type PolicyKind } from '../../core/policy/index.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ContractOwner {
  readonly name: string;
  readonly uid: string;
}

/** One policy as Rampart applies it. */
export interface DesiredPolicy {
  readonly kind: PolicyKind;
  /** '' for a CiliumClusterwideNetworkPolicy. */
  readonly namespace: string;
  readonly name: string;
  /** The full object for server-side apply. */
  readonly manifest: Obj;
}

export interface PolicyRef {
  readonly kind: PolicyKind;
  /** '' for a CiliumClusterwideNetworkPolicy. */
  readonly namespace: string;
  readonly name: string;
  /** Index in spec.policies (for problem paths). */
  readonly index: number;
  /** The object Rampart writes for it: `name`, or the managed copy's name for a replaced policy. */
  readonly writes: string;
  /** The contract replaces the policy in force of this kind/namespace/name (spec.replaces). */
  readonly replaced: boolean;
}

/** Whether the stage replaces or removes the policy kind/namespace/name. */
export function takesOut(stage: Pick<AppliedStage, 'replaces' | 'removes'>, kind: PolicyKind, namespace: string, name: string): boolean {
  return takenOut(stage).some((r) => r.kind === kind && r.namespace === namespace && r.name === name);
}

const KINDS: readonly PolicyKind[] = ['NetworkPolicy', 'CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'];
const kindOf = (raw: unknown): PolicyKind => {
  const k = isObj(raw) ? raw.kind : undefined;
  return (KINDS as readonly unknown[]).includes(k) ? (k as PolicyKind) : 'NetworkPolicy';
};

/** Every policy the contract would write, whatever the stage (clashes block in monitor already); `kind` keeps one kind. */
export function policyRefs(stage: Pick<AppliedStage, 'contract' | 'policies' | 'replaces'>, kind?: PolicyKind): PolicyRef[] {
  const out: PolicyRef[] = [];
  stage.policies.forEach((raw, index) => {
    const k = kindOf(raw);
    if (kind !== undefined && k !== kind) return;
    const meta = isObj(raw) && isObj(raw.metadata) ? raw.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '';
    const namespace = k === 'CiliumClusterwideNetworkPolicy' ? '' : typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
    const replaced = takesOut({ replaces: stage.replaces }, k, namespace, name);
    if (name !== '') out.push({ kind: k, namespace, name, index, writes: replaced ? copyName(stage.contract, name) : name, replaced });
  });
  return out;
}

/** Adds `{key, operator: Exists}` to a selector's matchExpressions (a copy). */
function withRequirement(selector: unknown, key: string): Obj {
  const s: Obj = isObj(selector) ? { ...selector } : {};
  const expressions = Array.isArray(s.matchExpressions) ? [...(s.matchExpressions as unknown[])] : [];
  expressions.push({ key, operator: 'Exists' });
  s.matchExpressions = expressions;
  return s;
}

/**
 * Whether the stage enforces through the enrollment label: percent stages before Complete,
 * and namespaces stages of a contract that replaces or removes policies (the originals' exclusion
 * entry needs a label on the pods of the enrolled namespaces).
 */
export function usesEnrollment(stage: AppliedStage): boolean {
  if (stage.complete) return false;
  return stage.mode === 'percent' || (stage.mode === 'namespaces' && takenOut(stage).length > 0);
}

/**
 * The policies this stage applies. monitor: none; percent: every policy with the enrollment
 * requirement added; namespaces: those of the listed namespaces, as written; Complete: every
 * policy as written, without the ownerReference (handed off to the cluster).
 */
export function desiredPolicies(stage: AppliedStage, owner: ContractOwner | null, kind?: PolicyKind): DesiredPolicy[] {
  if (stage.mode === 'monitor' && !stage.complete) return [];
  const key = enrollLabelKey(stage.contract);
  const out: DesiredPolicy[] = [];
  for (const ref of policyRefs(stage, kind)) {
    // A CCNP has no namespace: a namespaces stage applies it with the last stage (Complete) only.
    if (!stage.complete && stage.mode === 'namespaces' && !stage.namespaces.includes(ref.namespace)) continue;
    if (ref.replaced && stage.complete) continue;
    const raw = stage.policies[ref.index] as Obj;
    const enroll = usesEnrollment(stage) && (stage.mode === 'percent' || ref.replaced);
    let body: Obj;
    if (ref.kind === 'NetworkPolicy') {
      const spec: Obj = isObj(raw.spec) ? { ...raw.spec } : {};
      if (enroll) spec.podSelector = withRequirement(spec.podSelector, key);
      else if (!isObj(spec.podSelector)) spec.podSelector = {};
      body = { spec };
    } else {
      // Cilium: the enrollment requirement goes on each rule's endpointSelector; peers never change.
      body = {};
      if (isObj(raw.spec)) body.spec = enroll ? { ...raw.spec, endpointSelector: withRequirement(raw.spec.endpointSelector, key) } : raw.spec;
      if (Array.isArray(raw.specs)) body.specs = enroll ? raw.specs.map((s: unknown) => (isObj(s) ? { ...s, endpointSelector: withRequirement(s.endpointSelector, key) } : s)) : raw.specs;
    }
    const meta = isObj(raw.metadata) ? raw.metadata : {};
    const labels: Record<string, string> = isObj(meta.labels) ? (Object.fromEntries(Object.entries(meta.labels).filter(([, v]) => typeof v === 'string')) as Record<string, string>) : {};
    const annotations: Record<string, string> = isObj(meta.annotations)
      ? (Object.fromEntries(Object.entries(meta.annotations).filter(([, v]) => typeof v === 'string')) as Record<string, string>)
      : {};
    const metadata: Obj = {
      name: ref.writes,
      ...(ref.kind === 'CiliumClusterwideNetworkPolicy' ? {} : { namespace: ref.namespace }),
      labels: { ...labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [CONTRACT_LABEL]: contractLabelValue(stage.contract) },
      annotations: { ...annotations, [REVISION_ANNOTATION]: String(stage.revision), [STAGE_ANNOTATION]: stage.complete ? 'Complete' : stage.stageName },
    };
    if (!stage.complete && owner) {
      // blockOwnerDeletion false: setting it true needs update on rampcontracts/finalizers
      // where OwnerReferencesPermissionEnforcement is on (kubernetes.md 4), and buys nothing
      // with background deletion.
      metadata.ownerReferences = [{ apiVersion: RAMPCONTRACT.apiVersion, kind: RAMPCONTRACT.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: false }];
    }
    const apiVersion = ref.kind === 'NetworkPolicy' ? 'networking.k8s.io/v1' : 'cilium.io/v2';
    out.push({ kind: ref.kind, namespace: ref.namespace, name: ref.writes, manifest: { apiVersion, kind: ref.kind, metadata, ...body } });
  }
  return out;
}

export interface PodFacts {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Whether a Cilium rule's endpointSelector (keys may carry a source, e.g. `k8s:app`) selects the pod. */
function ciliumSelects(selector: unknown, namespace: string | null, pod: PodFacts): boolean {
  if (!isObj(selector)) return false;
  const matchLabels = isObj(selector.matchLabels) ? (selector.matchLabels as Record<string, string>) : {};
  const expressions = Array.isArray(selector.matchExpressions) ? (selector.matchExpressions as { key: string; operator: LabelSelector['matchExpressions'][number]['operator']; values?: string[] }[]) : [];
  const parsed: LabelSelector = { matchLabels, matchExpressions: expressions.map((e) => ({ key: e.key, operator: e.operator, values: e.values ?? [] })) };
  // A selector that may select the pod enrolls it: the label only matters to selectors that read it.
  return endpointSelectorSelects(parsed, namespace, pod.namespace, pod.labels) !== NO;
}

/**
 * An original the contract replaces or removes: its kind, namespace ('' for a CCNP) and pod
 * selectors as its owner wrote them (a NetworkPolicy's podSelector; a Cilium policy's
 * endpointSelectors, spec and specs[*]).
 */
export interface OriginalSelector {
  readonly kind: PolicyKind;
  readonly namespace: string;
  readonly selectors: readonly unknown[];
}

/** Whether one of the selectors of a policy of this kind and namespace may select the pod. */
function kindSelects(kind: PolicyKind, namespace: string, selectors: readonly unknown[], pod: PodFacts): boolean {
  if (kind === 'NetworkPolicy') return namespace === pod.namespace && selectors.some((s) => selectorMatches(s ?? {}, pod.labels));
  if (kind === 'CiliumNetworkPolicy' && namespace !== pod.namespace) return false;
  const ns = kind === 'CiliumNetworkPolicy' ? namespace : null;
  return selectors.some((s) => ciliumSelects(s, ns, pod));
}

/**
 * Whether a contract policy selects the pod (its namespace and podSelector or endpointSelectors,
 * as written), or an original it replaces or removes does (it stops governing enrolled pods).
 */
export function selectedByContract(stage: Pick<AppliedStage, 'contract' | 'policies' | 'replaces'>, pod: PodFacts, originals: readonly OriginalSelector[] = []): boolean {
  for (const o of originals) if (kindSelects(o.kind, o.namespace, o.selectors, pod)) return true;
  for (const ref of policyRefs(stage)) {
    const raw = stage.policies[ref.index] as Obj;
    const spec = isObj(raw.spec) ? raw.spec : undefined;
    const selectors = ref.kind === 'NetworkPolicy' ? [spec?.podSelector] : [...(spec ? [spec.endpointSelector] : []), ...(Array.isArray(raw.specs) ? (raw.specs as unknown[]).map((s) => (isObj(s) ? s.endpointSelector : undefined)) : [])];
    if (kindSelects(ref.kind, ref.namespace, selectors, pod)) return true;
  }
  return false;
}

/** Whether the stage wants the pod enrolled: selected, and its bucket below the percent. */
export function wantsEnrolled(stage: AppliedStage, pod: PodFacts, originals: readonly OriginalSelector[] = []): boolean {
  if (!usesEnrollment(stage)) return false;
  if (!selectedByContract(stage, pod, originals)) return false;
  if (stage.mode === 'namespaces') return stage.namespaces.includes(pod.namespace);
  return stage.percent >= 100 || enrollmentBucket(stage.contract, pod.namespace, pod.name) < stage.percent;
}
