/**
 * The actuator's work on policies in force that a contract replaces or removes (product.md
 * "Changes to what is enforced"), X below, which Rampart does not own. Each kind's actuator
 * does it for the originals of its kind (NetworkPolicy, CiliumNetworkPolicy,
 * CiliumClusterwideNetworkPolicy), so X's copy and X change in the right order:
 * - an enforcing stage before Complete (a namespaces stage: one that lists X's namespace): X's
 *   pod selectors (a NetworkPolicy's `spec.podSelector`; a Cilium policy's
 *   `spec.endpointSelector` and every `specs[i].endpointSelector`) get this contract's
 *   exclusion entry `{key: enroll.rampart.dev/<contract>, operator: DoesNotExist}`, by
 *   server-side apply with field manager `rampart` (the selectors are atomic and `specs` an
 *   atomic list, so the apply carries X's own selectors plus the entry, and is forced: the
 *   selector is the one field the contract names);
 * - monitor (a rollback), a namespaces stage that does not list X's namespace, and a deleted
 *   contract: the entry taken out again, so X's spec is its owner's exactly;
 * - Complete: X's spec becomes the new text (replaces) by a whole-object update on X's
 *   resourceVersion, or X is deleted (removes).
 * Level-triggered like the rest of the actuator: what X holds is compared with what the stage
 * wants from the watch's cache; an owner's edit mid-ramp (drift) is X's new text, and only the
 * entry is put back on it. A Cilium rule that selects nodes (`nodeSelector`, a host policy)
 * cannot be split by a pod label: such an X is a problem naming it, and nothing of X changes.
 */
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { canonicalJson, problem, type Problem } from '../../core/common/index.js';
import type { PolicyKind } from '../../core/policy/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import { isNotFound } from '../../io/kube/api-error.js';
import type { WatchedCollection } from '../../io/kube/list-watch.js';
import type { PolicyKindApi, PolicyObject } from '../../io/kube/policy-kinds.js';
import { FIELD_MANAGER } from '../contracts/labels.js';
import { hasExclusionOf, podSelectorsOf, selectorParts, withExclusion, withoutExclusion } from '../contracts/originals.js';
import { policyRefs, usesEnrollment, type OriginalSelector } from './desired-state.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export interface OriginalsDeps {
  readonly api: PolicyKindApi;
  readonly policies: WatchedCollection<PolicyObject>;
  readonly objects: CustomObjectsApi;
  readonly onWrite: (what: 'excluded' | 'restored' | 'rewritten' | 'deleted', namespace: string, name: string) => void;
  /**
   * Checked right before each write (fencing): a pass that began while this replica led may
   * have been paused past its lease between two writes; what is left of it must not land.
   */
  readonly fence: () => void;
  /**
   * The spec each rewritten original had in the API server's answer (defaults filled in), by
   * namespace/name: a later pass compares with it, not with the text as written.
   */
  readonly rewritten: Map<string, string>;
}

export interface OriginalRef {
  readonly kind: PolicyKind;
  /** '' for a CiliumClusterwideNetworkPolicy. */
  readonly namespace: string;
  readonly name: string;
  readonly replaced: boolean;
  /** Where the contract names it (problem paths): `spec.replaces[i]` or `spec.removes[i]`. */
  readonly path: string;
}

/** The policies in force this stage takes out; `kind` keeps one kind. */
export function originalRefs(stage: Pick<AppliedStage, 'replaces' | 'removes'>, kind?: PolicyKind): OriginalRef[] {
  const out: OriginalRef[] = [];
  const add = (list: AppliedStage['replaces'], field: 'replaces' | 'removes'): void =>
    (list ?? []).forEach((r, i) => {
      if (kind === undefined || r.kind === kind) out.push({ kind: r.kind as PolicyKind, namespace: r.namespace, name: r.name, replaced: field === 'replaces', path: `spec.${field}[${i}]` });
    });
  add(stage.replaces, 'replaces');
  // An entry in both lists is one original (validation reports the duplicate).
  add(
    (stage.removes ?? []).filter((r) => !(stage.replaces ?? []).some((x) => x.kind === r.kind && x.namespace === r.namespace && x.name === r.name)),
    'removes',
  );
  return out;
}

/** Whether the stage changes something of someone else's (pod labels, an original's selector). */
export function touchesOthers(stage: AppliedStage): boolean {
  return usesEnrollment(stage);
}

const coords = (api: PolicyKindApi) => ({ group: api.group, version: api.version, plural: api.plural });
const describe = (api: PolicyKindApi, namespace: string, name: string): string => `${api.kind} ${api.namespaced ? `${namespace}/` : ''}${name}`;
const liveOf = (deps: Pick<OriginalsDeps, 'policies'>, x: { namespace: string; name: string }): PolicyObject | undefined => deps.policies.get(x.name, x.namespace);

/** The rules of X that select nodes, by path (a Cilium host policy): none for a NetworkPolicy. */
function nodeSelectorPaths(obj: PolicyObject): string[] {
  const out: string[] = [];
  if (isObj(obj.spec) && obj.spec['nodeSelector'] !== undefined) out.push('spec.nodeSelector');
  if (Array.isArray(obj.specs)) (obj.specs as unknown[]).forEach((r, i) => isObj(r) && r['nodeSelector'] !== undefined && out.push(`specs[${i}].nodeSelector`));
  return out;
}

/**
 * Originals of this kind the contract cannot ramp: a Cilium policy with a rule that selects
 * nodes (Rampart enrolls pods by a label; a node carries no such label, so the change would
 * have no "before" part to keep). Nothing of X is changed while this holds.
 */
export function originalProblems(stage: AppliedStage, deps: Pick<OriginalsDeps, 'api' | 'policies'>): Problem[] {
  if (stage.complete) return [];
  return originalRefs(stage, deps.api.kind).flatMap((x) => {
    const live = liveOf(deps, x);
    const paths = live ? nodeSelectorPaths(live) : [];
    if (paths.length === 0) return [];
    return [problem(x.path, `${describe(deps.api, x.namespace, x.name)} selects nodes (${paths.join(', ')}): a host policy cannot be ramped by pod enrollment; change it outside a contract, or drop it from ${x.path.replace(/\[\d+\]$/, '')}`)];
  });
}

/** The selectors of X as its owner wrote them (without this contract's entry): the pods they pick are enrolled. */
export function originalSelectors(deps: Pick<OriginalsDeps, 'api' | 'policies'>, stage: AppliedStage): OriginalSelector[] {
  return originalRefs(stage, deps.api.kind).flatMap((x) => {
    const live = liveOf(deps, x);
    if (!live || nodeSelectorPaths(live).length > 0) return [];
    return [{ kind: x.kind, namespace: x.namespace, selectors: podSelectorsOf(x.kind, live).map((s) => withoutExclusion(s, stage.contract)) }];
  });
}

const excludedBy = (api: PolicyKindApi, obj: PolicyObject, contract: string): boolean => podSelectorsOf(api.kind, obj).some((s) => hasExclusionOf(s, contract));

async function applySelectors(deps: OriginalsDeps, namespace: string, name: string, parts: Obj): Promise<void> {
  const { api } = deps;
  const body = { apiVersion: api.apiVersion, kind: api.kind, metadata: { name, ...(api.namespaced ? { namespace } : {}) }, ...parts };
  // NOTE: forced, on the selectors alone: taking them from X's owner is the one change the contract is allowed.
  const options = { ...coords(api), name, body, fieldManager: FIELD_MANAGER, force: true };
  const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  deps.fence();
  if (api.namespaced) await deps.objects.patchNamespacedCustomObject({ ...options, namespace }, ssa);
  else await deps.objects.patchClusterCustomObject(options, ssa);
}

/** The text of a policy that Complete compares: spec (and specs for Cilium). */
const textOf = (obj: PolicyObject): string => canonicalJson({ spec: obj.spec ?? {}, ...(obj.specs !== undefined ? { specs: obj.specs } : {}) });

/** X's spec replaced by the new text, on the resourceVersion read (a concurrent edit fails the pass, which retries). */
async function rewrite(deps: OriginalsDeps, live: PolicyObject, raw: unknown): Promise<void> {
  const { api } = deps;
  const namespace = live.metadata?.namespace ?? '';
  const name = live.metadata?.name ?? '';
  const text = isObj(raw) ? raw : {};
  const body: Obj = { ...(live as unknown as Obj) };
  delete body['spec'];
  delete body['specs'];
  if (api.kind === 'NetworkPolicy') {
    const spec: Obj = isObj(text['spec']) ? { ...text['spec'] } : {};
    if (!isObj(spec['podSelector'])) spec['podSelector'] = {};
    body['spec'] = spec;
  } else {
    if (text['spec'] !== undefined) body['spec'] = text['spec'];
    if (text['specs'] !== undefined) body['specs'] = text['specs'];
  }
  deps.fence();
  const options = { ...coords(api), name, body, fieldManager: FIELD_MANAGER };
  const res = (api.namespaced ? await deps.objects.replaceNamespacedCustomObject({ ...options, namespace }) : await deps.objects.replaceClusterCustomObject(options)) as PolicyObject;
  deps.rewritten.set(`${namespace}/${name}`, textOf(res));
}

async function remove(deps: OriginalsDeps, namespace: string, name: string): Promise<void> {
  deps.fence();
  try {
    const c = { ...coords(deps.api), name };
    if (deps.api.namespaced) await deps.objects.deleteNamespacedCustomObject({ ...c, namespace });
    else await deps.objects.deleteClusterCustomObject(c);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/**
 * Makes every original of this kind the stage names hold what the stage wants. An original
 * that does not exist is left alone (before Complete the reconciler holds the contract on it),
 * and so is one that selects nodes (originalProblems blocks the contract).
 */
export async function holdOriginals(deps: OriginalsDeps, stage: AppliedStage): Promise<void> {
  const kind = deps.api.kind;
  const newText = new Map(policyRefs(stage, kind).filter((r) => r.replaced).map((r) => [`${r.namespace}/${r.name}`, stage.policies[r.index]]));
  for (const x of originalRefs(stage, kind)) {
    const live = liveOf(deps, x);
    if (live === undefined) continue;
    if (stage.complete) {
      if (!x.replaced) {
        await remove(deps, x.namespace, x.name);
        deps.onWrite('deleted', x.namespace, x.name);
        continue;
      }
      if (deps.rewritten.get(`${x.namespace}/${x.name}`) === textOf(live)) continue;
      await rewrite(deps, live, newText.get(`${x.namespace}/${x.name}`));
      deps.onWrite('rewritten', x.namespace, x.name);
      continue;
    }
    if (nodeSelectorPaths(live).length > 0) continue;
    const now = canonicalJson(selectorParts(kind, live, (s) => (isObj(s) ? s : {})));
    if (usesEnrollment(stage) && (stage.mode !== 'namespaces' || stage.namespaces.includes(x.namespace))) {
      const want = selectorParts(kind, live, (s) => withExclusion(s, stage.contract));
      if (now === canonicalJson(want)) continue;
      await applySelectors(deps, x.namespace, x.name, want);
      deps.onWrite('excluded', x.namespace, x.name);
    } else if (excludedBy(deps.api, live, stage.contract)) {
      await applySelectors(deps, x.namespace, x.name, selectorParts(kind, live, (s) => withoutExclusion(s, stage.contract)));
      deps.onWrite('restored', x.namespace, x.name);
    }
  }
}

/** A contract gone before Complete: every original of this kind that carries its exclusion entry gets its owner's selectors back. */
export async function restoreAll(deps: OriginalsDeps, contract: string): Promise<number> {
  let restored = 0;
  for (const obj of deps.policies.list()) {
    if (!excludedBy(deps.api, obj, contract)) continue;
    const namespace = obj.metadata?.namespace ?? '';
    const name = obj.metadata?.name ?? '';
    await applySelectors(deps, namespace, name, selectorParts(deps.api.kind, obj, (s) => withoutExclusion(s, contract)));
    deps.onWrite('restored', namespace, name);
    restored++;
  }
  return restored;
}

/** Whether any original of this kind still carries the contract's entry (the finalizer must stay). */
export function anyExcluded(deps: Pick<OriginalsDeps, 'api' | 'policies'>, contract: string): boolean {
  return deps.policies.list().some((obj) => excludedBy(deps.api, obj, contract));
}

/** An Event's words for a write to an original. */
export function describeOriginalWrite(api: PolicyKindApi, what: 'excluded' | 'restored' | 'rewritten' | 'deleted', namespace: string, name: string): string {
  const words = {
    excluded: 'no longer applies to enrolled pods (exclusion entry added to its pod selectors)',
    restored: "restored: its owner's pod selectors, exactly",
    rewritten: "rewritten to the contract's new text (Complete)",
    deleted: 'deleted as the contract removes it (Complete)',
  } as const;
  return `${describe(api, namespace, name)} ${words[what]}`;
}

/**
 * What the NetworkPolicy actuator (which holds the pod labels and releases the finalizer) sees
 * of another kind's originals: the pods their selectors pick, whether any still carries a
 * contract's entry, and when that may have changed.
 */
export interface OriginalsView {
  selectors(stage: AppliedStage): readonly OriginalSelector[];
  excluded(contract: string): boolean;
  /** Called with a contract when a policy of this kind that concerns it changed. */
  onChange(listener: (contract: string) => void): void;
}
