/**
 * Cilium's own CRDs for CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, taken from the
 * pinned Cilium module (the version in test/support/cilium-judge/go.mod, the one the hubble CLI
 * is built from) in the Go module cache, installed into the test API server so that it
 * validates every Cilium object Rampart writes exactly as a Cilium cluster would.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiException, ApiextensionsV1Api, CustomObjectsApi, loadYaml, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { waitFor } from '../wait-for.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/dist[\\/]$/, '');
const CRDS = ['ciliumnetworkpolicies', 'ciliumclusterwidenetworkpolicies'] as const;

/** The pinned Cilium version (one place: the judge's go.mod). */
export function pinnedCiliumVersion(): string {
  const gomod = readFileSync(join(repoRoot, 'test', 'support', 'cilium-judge', 'go.mod'), 'utf8');
  const m = /github\.com\/cilium\/cilium (v[0-9][^\s]*)/.exec(gomod);
  if (m === null) throw new Error('test/support/cilium-judge/go.mod does not pin github.com/cilium/cilium');
  return m[1]!;
}

/** The module's source folder in the Go module cache (downloaded through the proxy when absent). */
function ciliumModuleDir(): string {
  const out = execFileSync('go', ['mod', 'download', '-json', `github.com/cilium/cilium@${pinnedCiliumVersion()}`], { encoding: 'utf8', timeout: 10 * 60_000, maxBuffer: 1 << 20 });
  const dir = (JSON.parse(out) as { Dir?: string }).Dir;
  if (!dir) throw new Error(`go mod download gave no folder for github.com/cilium/cilium: ${out.slice(0, 300)}`);
  return dir;
}

/** Creates Cilium's policy CRDs (if absent) and waits until their objects are served. */
export async function installCiliumCrds(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const objects = kc.makeApiClient(CustomObjectsApi);
  const dir = join(ciliumModuleDir(), 'pkg', 'k8s', 'apis', 'cilium.io', 'client', 'crds', 'v2');
  for (const plural of CRDS) {
    const body = loadYaml<V1CustomResourceDefinition>(readFileSync(join(dir, `${plural}.yaml`), 'utf8'));
    try {
      await api.createCustomResourceDefinition({ body });
    } catch (e) {
      if (!(e instanceof ApiException) || e.code !== 409) throw e;
      // The demo's stand-in CRD (a kube test of `demo --kubernetes` ran first) validates nothing: Cilium's replaces it.
      const current = await api.readCustomResourceDefinition({ name: `${plural}.cilium.io` });
      if (current.metadata?.labels?.['app.kubernetes.io/managed-by'] === 'rampart-demo') {
        await api.replaceCustomResourceDefinition({ name: `${plural}.cilium.io`, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata.resourceVersion } } });
      }
    }
    await waitFor(
      async () => {
        try {
          await objects.listClusterCustomObject({ group: 'cilium.io', version: 'v2', plural, limit: 1 });
          return true;
        } catch (e) {
          if (e instanceof ApiException && (e.code === 404 || e.code === 429)) return false;
          throw e;
        }
      },
      { timeoutMs: 30_000, intervalMs: 100, what: `${plural}.cilium.io to be served` },
    );
  }
}

/**
 * Deletes both Cilium policy CRDs (and so every Cilium policy) and waits until they are no
 * longer served: a test that needs them to appear after it started runs from a server without
 * them, whichever kube test file installed them before (files run one at a time).
 */
export async function removeCiliumCrds(kc: KubeConfig): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const objects = kc.makeApiClient(CustomObjectsApi);
  for (const plural of CRDS) {
    try {
      await api.deleteCustomResourceDefinition({ name: `${plural}.cilium.io` });
    } catch (e) {
      if (!(e instanceof ApiException) || e.code !== 404) throw e;
    }
    await waitFor(
      async () => {
        try {
          await objects.listClusterCustomObject({ group: 'cilium.io', version: 'v2', plural, limit: 1 });
          return false;
        } catch (e) {
          if (e instanceof ApiException && e.code === 404) return true;
          throw e;
        }
      },
      { timeoutMs: 60_000, intervalMs: 100, what: `${plural}.cilium.io to be gone` },
    );
  }
}
