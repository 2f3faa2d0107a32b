/**
 * Writes a contract's NetworkPolicies and takes them away: server-side apply with field
 * manager `rampart`, only the difference from the watch's cache, and drift (someone's edit or
 * delete of a policy Rampart applied) put back and reported. Clashes are ruled out by the
 * caller before anything is written here.
 */
import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { NETWORK_POLICY_API, type PolicyKindApi } from '../../io/kube/policy-kinds.js';
import { canonicalJson, contentHash, type Logger, type Problem } from '../../core/common/index.js';
import { RAMPCONTRACT } from '../../core/contract/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import { isNotFound } from '../../io/kube/api-error.js';
import type { WatchedCollection } from '../../io/kube/list-watch.js';
import { FIELD_MANAGER } from '../contracts/labels.js';
import type { ActuationEventSink } from './actuation-events.js';
import { clashesOf, hasOwnerRef, labelsOf, refKey, writtenBy, type V1NetworkPolicy } from './clash-detection.js';
import { policyRefs, type DesiredPolicy } from './desired-state.js';

interface AppliedRecord {
  readonly hash: string;
  readonly spec: string;
  readonly resourceVersion: string;
}

/** Resource versions are opaque, but etcd's are integers: an older cache copy is not drift. */
function olderThan(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}

export class PolicyWriter {
  private readonly api: PolicyKindApi;
  private readonly objects: CustomObjectsApi;
  private readonly policies: WatchedCollection<V1NetworkPolicy>;
  private readonly events: ActuationEventSink | undefined;
  private readonly log: Logger;
  /** Throws unless this replica still leads; called right before each write (fencing). */
  private readonly fence: () => void;
  /** What this process last applied, by namespace/name (to tell our own write from drift). */
  private readonly applied = new Map<string, AppliedRecord>();
  readonly counts = { policyWrites: 0, policyDeletes: 0, driftCorrections: 0 };

  constructor(o: { kc: KubeConfig; policies: WatchedCollection<V1NetworkPolicy>; events?: ActuationEventSink; log: Logger; api?: PolicyKindApi; fence?: () => void }) {
    this.fence = o.fence ?? (() => undefined);
    this.api = o.api ?? NETWORK_POLICY_API;
    this.objects = o.kc.makeApiClient(CustomObjectsApi);
    this.policies = o.policies;
    this.events = o.events;
    this.log = o.log;
  }

  /** The RampContract's uid (ownerReferences), read from the API server; null when it is gone. */
  async contractUid(contract: string): Promise<string | null> {
    try {
      const obj = (await this.objects.getClusterCustomObject({ group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural, name: contract })) as {
        metadata?: { uid?: string; deletionTimestamp?: unknown };
      };
      const uid = obj.metadata?.uid;
      return uid ? uid : null;
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  /** Clashes among the policies the cache does not hold (it may lag a policy created a moment ago), read from the API server. */
  async freshClashes(stage: AppliedStage): Promise<Problem[]> {
    const unseen = policyRefs(stage, this.api.kind).filter((ref) => !this.policies.get(ref.writes, this.cacheNs(ref.namespace)) && !this.applied.has(refKey(ref.namespace, ref.writes)));
    const found: V1NetworkPolicy[] = [];
    for (const ref of unseen) {
      try {
        const coords = { group: this.api.group, version: this.api.version, plural: this.api.plural, name: ref.writes };
        found.push((this.api.namespaced ? await this.objects.getNamespacedCustomObject({ ...coords, namespace: ref.namespace }) : await this.objects.getClusterCustomObject(coords)) as V1NetworkPolicy);
      } catch (e) {
        if (!isNotFound(e)) throw e;
      }
    }
    if (found.length === 0) return [];
    const byRef = new Map(found.map((np) => [refKey(np.metadata?.namespace ?? '', np.metadata?.name ?? ''), np]));
    return clashesOf(stage, (name, namespace) => byRef.get(refKey(namespace, name)), this.api);
  }

  /** The informer's cache key: a cluster-scoped object has no namespace. */
  cacheNs(namespace: string): string | undefined {
    return this.api.namespaced ? namespace : undefined;
  }

  /** Applies one policy unless the cluster already holds exactly what was last applied. */
  async ensure(contract: string, d: DesiredPolicy, first: boolean, uid: string | undefined): Promise<void> {
    const ref = refKey(d.namespace, d.name);
    const hash = contentHash(d.manifest);
    const live = this.policies.get(d.name, this.cacheNs(d.namespace));
    const record = this.applied.get(ref);
    if (record && record.hash === hash) {
      if (live && (live.metadata?.resourceVersion === record.resourceVersion || olderThan(live.metadata?.resourceVersion, record.resourceVersion))) return;
      if (live && canonicalJson(live.spec) === record.spec && holdsMetadata(live, d)) return;
    }
    // The same manifest was applied before and the object no longer matches it: drift.
    const drift = record !== undefined && record.hash === hash && !first;
    // Through the generic client: its answer is plain JSON, comparable with the watch's objects.
    // NOTE: force is only ever used on objects Rampart manages (clashes were ruled out above):
    // it takes back fields someone else changed on our object, never someone else's object.
    const patch = { group: this.api.group, version: this.api.version, plural: this.api.plural, name: d.name, body: d.manifest, fieldManager: FIELD_MANAGER, force: live !== undefined };
    const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
    this.fence();
    const res = (this.api.namespaced ? await this.objects.patchNamespacedCustomObject({ ...patch, namespace: d.namespace }, ssa) : await this.objects.patchClusterCustomObject(patch, ssa)) as V1NetworkPolicy;
    this.counts.policyWrites++;
    this.applied.set(ref, { hash, spec: canonicalJson(res.spec), resourceVersion: res.metadata?.resourceVersion ?? '' });
    if (drift) {
      this.counts.driftCorrections++;
      const what = live ? 'was changed outside Rampart' : 'was deleted outside Rampart';
      this.log.warn('drift corrected', { contract, policy: ref, what });
      this.events?.emit({ contract, uid, type: 'Warning', reason: 'DriftCorrected', action: 'Apply', note: `${this.api.kind} ${this.api.namespaced ? ref : d.name} ${what}; put back as the contract's current stage applies it` });
    }
  }

  /** Removes this contract's policies that the stage does not hold (e.g. back to monitor). */
  async deleteExtra(contract: string, keep: ReadonlySet<string>, uid: string | undefined): Promise<void> {
    for (const np of this.policies.list()) {
      const ns = np.metadata?.namespace ?? '';
      const name = np.metadata?.name ?? '';
      if (keep.has(refKey(ns, name)) || !writtenBy(np, contract)) continue;
      await this.delete(ns, name);
      this.events?.emit({ contract, uid, type: 'Normal', reason: 'PoliciesRemoved', action: 'Delete', note: `${this.api.kind} ${this.api.namespaced ? `${ns}/` : ''}${name} removed: the current stage does not apply it` });
    }
  }

  /** A deleted contract: its owned policies go (handed-off ones, without the ownerReference, stay). */
  async removeOwned(contract: string): Promise<number> {
    let removed = 0;
    for (const np of this.policies.list()) {
      if (!writtenBy(np, contract) || !hasOwnerRef(np, contract)) continue;
      await this.delete(np.metadata?.namespace ?? '', np.metadata?.name ?? '');
      removed++;
    }
    return removed;
  }

  /** How many policies on the cluster this contract wrote. */
  count(contract: string): number {
    return this.policies.list().filter((np) => writtenBy(np, contract)).length;
  }

  private async delete(namespace: string, name: string): Promise<void> {
    try {
      const coords = { group: this.api.group, version: this.api.version, plural: this.api.plural, name };
      this.fence();
      if (this.api.namespaced) await this.objects.deleteNamespacedCustomObject({ ...coords, namespace });
      else await this.objects.deleteClusterCustomObject(coords);
      this.counts.policyDeletes++;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    this.applied.delete(refKey(namespace, name));
  }
}

function holdsMetadata(live: V1NetworkPolicy, d: DesiredPolicy): boolean {
  const meta = d.manifest.metadata as { labels: Record<string, string>; annotations: Record<string, string>; ownerReferences?: { uid: string }[] };
  const labels = labelsOf(live);
  for (const [k, v] of Object.entries(meta.labels)) if (labels[k] !== v) return false;
  const annotations = live.metadata?.annotations ?? {};
  for (const [k, v] of Object.entries(meta.annotations)) if (annotations[k] !== v) return false;
  const liveOwners = (live.metadata?.ownerReferences ?? []).filter((r) => r.kind === RAMPCONTRACT.kind).map((r) => r.uid);
  const wantOwners = (meta.ownerReferences ?? []).map((r) => r.uid);
  return canonicalJson(liveOwners) === canonicalJson(wantOwners);
}
