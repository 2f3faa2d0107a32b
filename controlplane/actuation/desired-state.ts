/**
 * What a contract's stage means on the cluster, pure: the NetworkPolicy objects to apply
 * (each as written in the contract, plus Rampart's labels, annotations, ownerReference and,
 * for percent stages, the enrollment requirement on `podSelector`; peers never change) and
 * which pods carry the enrollment label. product.md "Kubernetes mode", "Applying a stage".
 */
import { enrollmentBucket, RAMPCONTRACT } from '../../core/contract/index.js';
import { selectorMatches } from '../../core/policy/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import {
  CONTRACT_LABEL,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  REVISION_ANNOTATION,
  STAGE_ANNOTATION,
  contractLabelValue,
  enrollLabelKey,
} from '../contracts/labels.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface ContractOwner {
  readonly name: string;
  readonly uid: string;
}

/** One NetworkPolicy as Rampart applies it. */
export interface DesiredPolicy {
  readonly namespace: string;
  readonly name: string;
  /** The full object for server-side apply. */
  readonly manifest: Obj;
}

export interface PolicyRef {
  readonly namespace: string;
  readonly name: string;
  /** Index in spec.policies (for problem paths). */
  readonly index: number;
}

/** Every policy name the contract would write, whatever the stage (clashes block in monitor already). */
export function policyRefs(stage: Pick<AppliedStage, 'policies'>): PolicyRef[] {
  const out: PolicyRef[] = [];
  stage.policies.forEach((raw, index) => {
    const meta = isObj(raw) && isObj(raw.metadata) ? raw.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '';
    const namespace = typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default';
    if (name !== '') out.push({ namespace, name, index });
  });
  return out;
}

/** Whether the stage enforces through the enrollment label (percent stages before Complete). */
export function usesEnrollment(stage: AppliedStage): boolean {
  return stage.mode === 'percent' && !stage.complete;
}

/**
 * The policies this stage applies. monitor: none; percent: every policy with the enrollment
 * requirement added; namespaces: those of the listed namespaces, as written; Complete: every
 * policy as written, without the ownerReference (handed off to the cluster).
 */
export function desiredPolicies(stage: AppliedStage, owner: ContractOwner | null): DesiredPolicy[] {
  if (stage.mode === 'monitor' && !stage.complete) return [];
  const key = enrollLabelKey(stage.contract);
  const out: DesiredPolicy[] = [];
  for (const ref of policyRefs(stage)) {
    if (!stage.complete && stage.mode === 'namespaces' && !stage.namespaces.includes(ref.namespace)) continue;
    const raw = stage.policies[ref.index] as Obj;
    const spec: Obj = isObj(raw.spec) ? { ...raw.spec } : {};
    if (usesEnrollment(stage)) {
      const selector: Obj = isObj(spec.podSelector) ? { ...spec.podSelector } : {};
      const expressions = Array.isArray(selector.matchExpressions) ? [...(selector.matchExpressions as unknown[])] : [];
      expressions.push({ key, operator: 'Exists' });
      selector.matchExpressions = expressions;
      spec.podSelector = selector;
    } else if (!isObj(spec.podSelector)) {
      spec.podSelector = {};
    }
    const meta = isObj(raw.metadata) ? raw.metadata : {};
    const labels: Record<string, string> = isObj(meta.labels) ? (Object.fromEntries(Object.entries(meta.labels).filter(([, v]) => typeof v === 'string')) as Record<string, string>) : {};
    const annotations: Record<string, string> = isObj(meta.annotations)
      ? (Object.fromEntries(Object.entries(meta.annotations).filter(([, v]) => typeof v === 'string')) as Record<string, string>)
      : {};
    const metadata: Obj = {
      name: ref.name,
      namespace: ref.namespace,
      labels: { ...labels, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [CONTRACT_LABEL]: contractLabelValue(stage.contract) },
      annotations: { ...annotations, [REVISION_ANNOTATION]: String(stage.revision), [STAGE_ANNOTATION]: stage.complete ? 'Complete' : stage.stageName },
    };
    if (!stage.complete && owner) {
      // blockOwnerDeletion false: setting it true needs update on rampcontracts/finalizers
      // where OwnerReferencesPermissionEnforcement is on (kubernetes.md 4), and buys nothing
      // with background deletion.
      metadata.ownerReferences = [{ apiVersion: RAMPCONTRACT.apiVersion, kind: RAMPCONTRACT.kind, name: owner.name, uid: owner.uid, controller: true, blockOwnerDeletion: false }];
    }
    out.push({ namespace: ref.namespace, name: ref.name, manifest: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata, spec } });
  }
  return out;
}

export interface PodFacts {
  readonly namespace: string;
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** Whether a contract policy selects the pod (its namespace and podSelector, as written). */
export function selectedByContract(stage: Pick<AppliedStage, 'policies'>, pod: PodFacts): boolean {
  for (const ref of policyRefs(stage)) {
    if (ref.namespace !== pod.namespace) continue;
    const raw = stage.policies[ref.index] as Obj;
    const spec = isObj(raw.spec) ? raw.spec : {};
    if (selectorMatches(spec.podSelector ?? {}, pod.labels)) return true;
  }
  return false;
}

/** Whether the stage wants the pod enrolled: selected, and its bucket below the percent. */
export function wantsEnrolled(stage: AppliedStage, pod: PodFacts): boolean {
  if (!usesEnrollment(stage)) return false;
  if (!selectedByContract(stage, pod)) return false;
  return stage.percent >= 100 || enrollmentBucket(stage.contract, pod.namespace, pod.name) < stage.percent;
}
