/**
 * The actuator's work on policies in force that a contract replaces or removes (product.md
 * "Changes to what is enforced"), X below, which Rampart does not own:
 * - an enforcing stage before Complete (a namespaces stage: one that lists X's namespace): X's
 *   pod selector gets this contract's exclusion entry
 *   `{key: enroll.rampart.dev/<contract>, operator: DoesNotExist}`, by server-side apply with
 *   field manager `rampart` (a LabelSelector is atomic, so the apply carries X's own selector
 *   plus the entry, and is forced: the selector is the one field the contract names);
 * - monitor (a rollback), a namespaces stage that does not list X's namespace, and a deleted
 *   contract: the entry taken out again, so X's spec is its owner's exactly;
 * - Complete: X's spec becomes the new text (replaces) by a whole-object update on X's
 *   resourceVersion, or X is deleted (removes).
 * Level-triggered like the rest of the actuator: what X holds is compared with what the stage
 * wants from the watch's cache; an owner's edit mid-ramp (drift) is X's new text, and only the
 * entry is put back on it. And the finalizer that makes a deleted contract wait for this.
 */
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { canonicalJson } from '../../core/common/index.js';
import { RAMPCONTRACT } from '../../core/contract/index.js';
import { NETWORK_POLICY_KIND } from '../../core/policy/index.js';
import { takenOut, type AppliedStage } from '../../core/rollout/index.js';
import { isNotFound } from '../../io/kube/api-error.js';
import type { WatchedCollection } from '../../io/kube/list-watch.js';
import { FIELD_MANAGER } from '../contracts/labels.js';
import { FINALIZER_FIELD_MANAGER, hasExclusionOf, RESTORE_FINALIZER, withExclusion, withoutExclusion } from '../contracts/originals.js';
import type { V1NetworkPolicy } from './clash-detection.js';
import { policyRefs, usesEnrollment } from './desired-state.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const NP = { group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies' } as const;

export interface OriginalsDeps {
  readonly policies: WatchedCollection<V1NetworkPolicy>;
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

/** The pod selector of a NetworkPolicy as the watch holds it. */
export const podSelectorOf = (np: V1NetworkPolicy): unknown => (isObj(np.spec) ? np.spec['podSelector'] : undefined);

/** The NetworkPolicies in force this stage takes out (other kinds: none yet in the cluster model). */
export function originalRefs(stage: Pick<AppliedStage, 'replaces' | 'removes'>): { namespace: string; name: string; replaced: boolean }[] {
  const replaced = new Set((stage.replaces ?? []).map((r) => `${r.kind}/${r.namespace}/${r.name}`));
  return takenOut(stage)
    .filter((r) => r.kind === NETWORK_POLICY_KIND)
    .map((r) => ({ namespace: r.namespace, name: r.name, replaced: replaced.has(`${r.kind}/${r.namespace}/${r.name}`) }));
}

/** Whether the stage changes something of someone else's (pod labels, an original's selector). */
export function touchesOthers(stage: AppliedStage): boolean {
  return usesEnrollment(stage);
}

async function applySelector(deps: OriginalsDeps, namespace: string, name: string, podSelector: Obj): Promise<void> {
  deps.fence();
  await deps.objects.patchNamespacedCustomObject(
    // NOTE: forced, on the pod selector alone: taking it from X's owner is the one change the contract is allowed.
    { ...NP, namespace, name, body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec: { podSelector } }, fieldManager: FIELD_MANAGER, force: true },
    setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
  );
}

/** X's spec replaced by the new text, on the resourceVersion read (a concurrent edit fails the pass, which retries). */
async function rewrite(deps: OriginalsDeps, live: V1NetworkPolicy, spec: Obj): Promise<void> {
  const namespace = live.metadata?.namespace ?? '';
  const name = live.metadata?.name ?? '';
  const body = { ...(live as unknown as Obj), spec };
  deps.fence();
  const res = (await deps.objects.replaceNamespacedCustomObject({ ...NP, namespace, name, body, fieldManager: FIELD_MANAGER })) as V1NetworkPolicy;
  deps.rewritten.set(`${namespace}/${name}`, canonicalJson(res.spec ?? {}));
}

async function remove(deps: OriginalsDeps, namespace: string, name: string): Promise<void> {
  deps.fence();
  try {
    await deps.objects.deleteNamespacedCustomObject({ ...NP, namespace, name });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/**
 * Makes every original the stage names hold what the stage wants. An original that does not
 * exist is left alone (before Complete the reconciler holds the contract on it).
 */
export async function holdOriginals(deps: OriginalsDeps, stage: AppliedStage): Promise<void> {
  const newText = new Map(policyRefs(stage).filter((r) => r.replaced).map((r) => [`${r.namespace}/${r.name}`, stage.policies[r.index]]));
  for (const x of originalRefs(stage)) {
    const live = deps.policies.get(x.name, x.namespace);
    if (live === undefined) continue;
    const selector = podSelectorOf(live);
    if (stage.complete) {
      if (!x.replaced) {
        await remove(deps, x.namespace, x.name);
        deps.onWrite('deleted', x.namespace, x.name);
        continue;
      }
      const raw = newText.get(`${x.namespace}/${x.name}`);
      const spec: Obj = isObj(raw) && isObj(raw['spec']) ? { ...raw['spec'] } : {};
      if (!isObj(spec['podSelector'])) spec['podSelector'] = {};
      if (deps.rewritten.get(`${x.namespace}/${x.name}`) === canonicalJson(live.spec ?? {})) continue;
      await rewrite(deps, live, spec);
      deps.onWrite('rewritten', x.namespace, x.name);
    } else if (usesEnrollment(stage) && (stage.mode !== 'namespaces' || stage.namespaces.includes(x.namespace))) {
      const want = withExclusion(selector, stage.contract);
      if (canonicalJson(selector ?? {}) === canonicalJson(want)) continue;
      await applySelector(deps, x.namespace, x.name, want);
      deps.onWrite('excluded', x.namespace, x.name);
    } else if (hasExclusionOf(selector, stage.contract)) {
      await applySelector(deps, x.namespace, x.name, withoutExclusion(selector, stage.contract));
      deps.onWrite('restored', x.namespace, x.name);
    }
  }
}

/** A contract gone before Complete: every original that carries its exclusion entry gets its owner's selector back. */
export async function restoreAll(deps: OriginalsDeps, contract: string): Promise<number> {
  let restored = 0;
  for (const np of deps.policies.list()) {
    const selector = podSelectorOf(np);
    if (!hasExclusionOf(selector, contract)) continue;
    await applySelector(deps, np.metadata?.namespace ?? '', np.metadata?.name ?? '', withoutExclusion(selector, contract));
    deps.onWrite('restored', np.metadata?.namespace ?? '', np.metadata?.name ?? '');
    restored++;
  }
  return restored;
}

/** Whether any original still carries the contract's entry (the finalizer must stay). */
export function anyExcluded(deps: Pick<OriginalsDeps, 'policies'>, contract: string): boolean {
  return deps.policies.list().some((np) => hasExclusionOf(podSelectorOf(np), contract));
}

const CONTRACT = { group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural } as const;

/**
 * Adds (or, with `held` false, releases) the contract's restore finalizer, by server-side apply
 * with its own field manager: the finalizer list is a set, so only that entry changes.
 */
export async function setFinalizer(objects: CustomObjectsApi, contract: string, held: boolean, fence: () => void): Promise<void> {
  try {
    // Fencing: leadership is checked after the read, and the write carries the resourceVersion
    // read, so a leader paused in between (whose successor has since written the status) gets a
    // conflict instead of landing a stale write.
    const current = (await objects.getClusterCustomObject({ ...CONTRACT, name: contract })) as { metadata?: { resourceVersion?: string } };
    fence();
    const resourceVersion = current.metadata?.resourceVersion;
    await objects.patchClusterCustomObject(
      {
        ...CONTRACT,
        name: contract,
        body: { apiVersion: RAMPCONTRACT.apiVersion, kind: RAMPCONTRACT.kind, metadata: { name: contract, ...(resourceVersion !== undefined ? { resourceVersion } : {}), ...(held ? { finalizers: [RESTORE_FINALIZER] } : {}) } },
        fieldManager: FINALIZER_FIELD_MANAGER,
        force: true,
      },
      setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
    );
  } catch (e) {
    // Releasing the finalizer of a contract already gone is done.
    if (!held && isNotFound(e)) return;
    throw e;
  }
}

/** Contracts being deleted that still carry the finalizer: their cleanup is owed (after a restart too). */
export async function terminatingContracts(objects: CustomObjectsApi): Promise<string[]> {
  const list = (await objects.listClusterCustomObject({ ...CONTRACT })) as { items?: { metadata?: { name?: string; deletionTimestamp?: string; finalizers?: string[] } }[] };
  return (list.items ?? []).filter((o) => o.metadata?.deletionTimestamp !== undefined && (o.metadata.finalizers ?? []).includes(RESTORE_FINALIZER)).map((o) => o.metadata?.name ?? '').filter((n) => n !== '');
}
