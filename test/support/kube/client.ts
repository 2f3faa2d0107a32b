/**
 * Helpers for tests against the real API server: clients from the injected kubeconfig, CRD
 * installation (waits for Established), and readable rejection messages.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  ApiextensionsV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadYaml,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { waitFor } from '../wait-for.js';

export const GROUP = 'rampart.dev';
export const VERSION = 'v1alpha1';
export const PLURAL = 'rampcontracts';
export const CRD_NAME = `${PLURAL}.${GROUP}`;

// The checkout root, whether this runs from test/ (vitest) or compiled from dist/test/.
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/dist[\\/]$/, '');

export function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/**
 * The CRD as a typed client-node object. NOTE: it must go through client-node's loadYaml
 * (ObjectSerializer.deserialize): the typed serializer reads TypeScript property names, so a
 * plain parsed object silently loses `default`, `enum` and every `x-kubernetes-*` keyword.
 */
export function readCrdManifest(): V1CustomResourceDefinition {
  return loadYaml<V1CustomResourceDefinition>(readFileSync(`${repoRoot}deploy/crds/rampcontracts.yaml`, 'utf8'));
}

/** Creates (or replaces) the RampContract CRD and waits until it is Established. */
export async function installCrd(kc: KubeConfig): Promise<V1CustomResourceDefinition> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const body = readCrdManifest();
  try {
    await api.createCustomResourceDefinition({ body });
  } catch (e) {
    if (!(e instanceof ApiException) || e.code !== 409) throw e;
    const current = await api.readCustomResourceDefinition({ name: CRD_NAME });
    await api.replaceCustomResourceDefinition({
      name: CRD_NAME,
      body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } },
    });
  }
  const crd = await waitFor(
    async () => {
      const current = await api.readCustomResourceDefinition({ name: CRD_NAME });
      const established = current.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True');
      return established ? current : false;
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'the RampContract CRD to be Established' },
  );
  // NOTE: Established is not the end: until the new resource's watch cache is initialised the
  // server answers lists and watches with 429 Too Many Requests. Wait for a list to work.
  const objects = kc.makeApiClient(CustomObjectsApi);
  await waitFor(
    async () => {
      try {
        await objects.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, limit: 1 });
        return true;
      } catch (e) {
        if (e instanceof ApiException && e.code === 429) return false;
        throw e;
      }
    },
    { timeoutMs: 30_000, intervalMs: 100, what: 'RampContract lists to be served' },
  );
  return crd;
}

/** The Status object the API server returns with a rejection. */
export interface StatusBody {
  readonly code?: number;
  readonly reason?: string;
  readonly message?: string;
  readonly details?: { readonly causes?: readonly { readonly field?: string; readonly message?: string; readonly reason?: string }[] };
}

/** Runs `call`, expecting the API server to refuse it; returns the HTTP code and Status body. */
export async function rejection(call: () => Promise<unknown>): Promise<{ code: number; status: StatusBody }> {
  try {
    await call();
  } catch (e) {
    if (e instanceof ApiException) {
      const raw: unknown = (e as ApiException<unknown>).body;
      const status = (typeof raw === 'string' ? (JSON.parse(raw) as StatusBody) : (raw as StatusBody)) ?? {};
      return { code: e.code, status };
    }
    throw e;
  }
  throw new Error('expected the API server to reject the request, it accepted it');
}

export function customObjects(kc: KubeConfig): CustomObjectsApi {
  return kc.makeApiClient(CustomObjectsApi);
}

/**
 * Deletes a RampContract left by an earlier test file, as an administrator would: a contract
 * that labelled pods carries Rampart's restore finalizer, which only a running leader clears,
 * so with none running the finalizer is dropped by hand. Resolves when the object is gone.
 */
export async function removeContract(kc: KubeConfig, name: string): Promise<void> {
  const api = customObjects(kc);
  const id = { group: GROUP, version: VERSION, plural: PLURAL, name };
  await api.deleteClusterCustomObject(id).catch(() => undefined);
  for (let i = 0; i < 100; i++) {
    const held = (await api.getClusterCustomObject(id).catch(() => null)) as { metadata?: { finalizers?: string[] } } | null;
    if (held === null) return;
    if ((held.metadata?.finalizers ?? []).length > 0) {
      await api.patchClusterCustomObject({ ...id, body: { metadata: { finalizers: null } } }, setHeaderOptions('Content-Type', PatchStrategy.MergePatch)).catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`RampContract ${name} is still there after deleting it and dropping its finalizers`);
}

/** Unique object names per test so tests sharing one API server never collide. */
let counter = 0;
export function uniqueName(prefix: string): string {
  counter += 1;
  return `${prefix}-${Date.now().toString(36)}-${counter}`;
}
