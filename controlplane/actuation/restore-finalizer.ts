/**
 * The restore finalizer on a RampContract (product.md "Changes to what is enforced"): a
 * contract that has changed something of someone else's (an original's selector entry, pod
 * labels) carries it, so deleting the contract while no replica leads still ends with the
 * originals restored and the labels gone; the leader releases it once they are.
 */
import { PatchStrategy, setHeaderOptions, type CustomObjectsApi } from '@kubernetes/client-node';
import { RAMPCONTRACT } from '../../core/contract/index.js';
import { isConflict, isNotFound } from '../../io/kube/api-error.js';
import { FINALIZER_FIELD_MANAGER, RESTORE_FINALIZER } from '../contracts/originals.js';

const CONTRACT = { group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural } as const;

/** Attempts at one finalizer change when other writers (another kind's actuator, the status) move the object on meanwhile. */
const ATTEMPTS = 3;

/**
 * Adds (or, with `held` false, releases) the contract's restore finalizer, by server-side apply
 * with its own field manager: the finalizer list is a set, so only that entry changes. Each
 * kind's actuator may add it (before changing an original of its kind), so adding one already
 * there writes nothing, and a conflict with a concurrent write is read again and retried.
 */
export async function setFinalizer(objects: CustomObjectsApi, contract: string, held: boolean, fence: () => void): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      // Fencing: leadership is checked after the read, and the write carries the resourceVersion
      // read, so a leader paused in between (whose successor has since written the status) gets a
      // conflict instead of landing a stale write.
      const current = (await objects.getClusterCustomObject({ ...CONTRACT, name: contract })) as { metadata?: { resourceVersion?: string; finalizers?: string[] } };
      if (held && (current.metadata?.finalizers ?? []).includes(RESTORE_FINALIZER)) return;
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
      return;
    } catch (e) {
      // Releasing the finalizer of a contract already gone is done.
      if (!held && isNotFound(e)) return;
      // Read again: the next attempt sees the concurrent write (and the fence is checked again).
      if (isConflict(e) && attempt < ATTEMPTS) continue;
      throw e;
    }
  }
}

/** Contracts being deleted that still carry the finalizer: their cleanup is owed (after a restart too). */
export async function terminatingContracts(objects: CustomObjectsApi): Promise<string[]> {
  const list = (await objects.listClusterCustomObject({ ...CONTRACT })) as { items?: { metadata?: { name?: string; deletionTimestamp?: string; finalizers?: string[] } }[] };
  return (list.items ?? []).filter((o) => o.metadata?.deletionTimestamp !== undefined && (o.metadata.finalizers ?? []).includes(RESTORE_FINALIZER)).map((o) => o.metadata?.name ?? '').filter((n) => n !== '');
}
