/**
 * What `rampart demo --kubernetes` puts in the API server before the loop starts: the
 * RampContract CRD (from deploy/crds, when missing or different), the control plane's
 * namespace (Lease), and the demo's contracts (a previous run's contracts of the same names
 * are deleted first, so every demo starts at monitor).
 */
import { readFileSync, readdirSync } from 'node:fs';
import * as path from 'node:path';
import { ApiextensionsV1Api, CoordinationV1Api, CoreV1Api, CustomObjectsApi, loadYaml, PatchStrategy, setHeaderOptions, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { systemClock, type Clock } from '../../core/common/index.js';
import { RAMPCONTRACT } from '../../core/contract/index.js';
import { isConflict, isNotFound } from '../../io/kube/api-error.js';
import { repoRoot } from '../load-spec.js';

const { group: GROUP, version: VERSION, plural: PLURAL } = RAMPCONTRACT;

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 30_000, clock: Clock = systemClock): Promise<void> {
  const deadline = clock.nowMs() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (clock.nowMs() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Installs (or updates) the CRD and waits until RampContracts can be listed. */
export async function ensureCrd(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  // NOTE: through loadYaml, so the typed serializer keeps `default`, `enum` and x-kubernetes-*.
  const body = loadYaml<V1CustomResourceDefinition>(readFileSync(path.join(repoRoot(), 'deploy', 'crds', 'rampcontracts.yaml'), 'utf8'));
  const name = `${PLURAL}.${GROUP}`;
  try {
    await api.createCustomResourceDefinition({ body });
  } catch (e) {
    if (!isConflict(e)) throw e;
    const current = await api.readCustomResourceDefinition({ name });
    await api.replaceCustomResourceDefinition({ name, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
  }
  await until('the RampContract CRD to be Established', async () => {
    const crd = await api.readCustomResourceDefinition({ name });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  });
  const objects = kc.makeApiClient(CustomObjectsApi);
  await until('RampContract lists to be served', async () => {
    await objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, limit: 1 });
    return true;
  });
}

export async function ensureNamespace(kc: KubeConfig, name: string): Promise<void> {
  try {
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name } } });
  } catch (e) {
    if (!isConflict(e)) throw e;
  }
}

async function gone(objects: CustomObjectsApi, name: string): Promise<boolean> {
  try {
    await objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name });
    return false;
  } catch (e) {
    return isNotFound(e);
  }
}

/**
 * Whether a control plane may be running to honour a restore finalizer: a Lease of that name,
 * in any namespace, is held and not expired. None, or only released (empty holder) or expired
 * ones: no one will. Leases that cannot be listed count as held (the caller then waits as if a
 * control plane ran).
 */
async function leaseHeld(kc: KubeConfig, leaseName: string, clock: Clock): Promise<boolean> {
  try {
    const leases = await kc.makeApiClient(CoordinationV1Api).listLeaseForAllNamespaces({ fieldSelector: `metadata.name=${leaseName}` });
    return leases.items.some(({ spec = {} }) => {
      const renewedMs = spec.renewTime === undefined ? 0 : new Date(spec.renewTime as unknown as string).getTime();
      return (spec.holderIdentity ?? '') !== '' && renewedMs + (spec.leaseDurationSeconds ?? 0) * 1000 > clock.nowMs();
    });
  } catch {
    return true;
  }
}

/** How long a previous run's contract may take to go while a control plane could honour its finalizer. */
const FINALIZER_GRACE_MS = 3000;

/** Creates each contract file of `dir` as a RampContract, replacing a previous run's. Returns the names. */
export async function createContracts(kc: KubeConfig, dir: string, leaseName: string, clock: Clock = systemClock): Promise<string[]> {
  const objects = kc.makeApiClient(CustomObjectsApi);
  const names: string[] = [];
  // With no control plane holding the Lease, a finalizer left by a previous run is never
  // honoured: it is dropped at once instead of after the grace (3 s for each such contract).
  const graceMs = (await leaseHeld(kc, leaseName, clock)) ? FINALIZER_GRACE_MS : 0;
  for (const file of readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const doc = parse(readFileSync(path.join(dir, file), 'utf8')) as { metadata?: { name?: string } };
    const name = doc.metadata?.name;
    if (!name) throw new Error(`${file}: a contract needs metadata.name`);
    try {
      await objects.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name });
      // A previous run stopped mid-ramp leaves the restore finalizer, and no control plane runs
      // yet to honour it: the demo drops it (its new run puts labels and originals back in monitor).
      await until(`the previous ${name} to be gone`, () => gone(objects, name), graceMs, clock).catch(() =>
        objects.patchClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)),
      );
      await until(`the previous ${name} to be gone`, async () => {
        try {
          await objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name });
          return false;
        } catch (e) {
          return isNotFound(e);
        }
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    await objects.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: { apiVersion: RAMPCONTRACT.apiVersion, kind: RAMPCONTRACT.kind, ...doc } });
    names.push(name);
  }
  return names;
}

/**
 * Creates the simulated cluster's CronJobs (from workload-manifests.ts) as real batch/v1
 * objects, replacing a previous run's, so the control plane's CronJob watch sees their
 * schedules. Without a CronJob controller nothing runs them: the simulator does, on the same
 * schedule.
 */
export async function createCronJobs(kc: KubeConfig, list: Record<string, unknown>): Promise<string[]> {
  const objects = kc.makeApiClient(CustomObjectsApi);
  const items = Array.isArray(list['items']) ? (list['items'] as Record<string, unknown>[]) : [];
  const names: string[] = [];
  for (const item of items.filter((i) => i['kind'] === 'CronJob')) {
    const meta = item['metadata'] as { name: string; namespace: string };
    await ensureNamespace(kc, meta.namespace);
    try {
      await objects.deleteNamespacedCustomObject({ group: 'batch', version: 'v1', namespace: meta.namespace, plural: 'cronjobs', name: meta.name });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    // The API server sets the creation time: no run before it counts.
    await objects.createNamespacedCustomObject({ group: 'batch', version: 'v1', namespace: meta.namespace, plural: 'cronjobs', body: { ...item, metadata: { name: meta.name, namespace: meta.namespace } } });
    names.push(`${meta.namespace}/${meta.name}`);
  }
  return names;
}
