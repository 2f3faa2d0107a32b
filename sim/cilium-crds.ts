/**
 * The simulated cluster's Cilium, on a real API server without Cilium: where the server does
 * not serve CiliumNetworkPolicy / CiliumClusterwideNetworkPolicy, `rampart demo --kubernetes`
 * installs minimal CRDs of its own for them (group cilium.io, version v2, every field kept),
 * so the scenario's Cilium policies can exist as objects the simulated datapath enforces. A
 * real Cilium's CRDs, where present, are left alone.
 */
import { ApiextensionsV1Api, loadYaml, type KubeConfig, type V1CustomResourceDefinition } from '@kubernetes/client-node';
import { isConflict } from '../io/kube/api-error.js';
import { CILIUM_POLICY_APIS, policyApiAvailable, type PolicyKindApi } from '../io/kube/policy-kinds.js';

function crdOf(api: PolicyKindApi): V1CustomResourceDefinition {
  const singular = api.kind.toLowerCase();
  const crd = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${api.plural}.${api.group}`, labels: { 'app.kubernetes.io/managed-by': 'rampart-demo' } },
    spec: {
      group: api.group,
      scope: api.namespaced ? 'Namespaced' : 'Cluster',
      names: { plural: api.plural, singular, kind: api.kind, listKind: `${api.kind}List` },
      versions: [{ name: api.version, served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
    },
  };
  // NOTE: through loadYaml (JSON is YAML), so the typed serializer keeps x-kubernetes-*: given
  // as a plain object it drops them, and the API server then prunes every policy's spec.
  return loadYaml<V1CustomResourceDefinition>(JSON.stringify(crd));
}

/** Makes sure both Cilium policy kinds are served; waits until they are. */
export async function ensureCiliumPolicyKinds(kc: KubeConfig, timeoutMs = 30_000): Promise<void> {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  for (const api of CILIUM_POLICY_APIS) {
    if (await policyApiAvailable(kc, api)) continue;
    try {
      await ext.createCustomResourceDefinition({ body: crdOf(api) });
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        if (await policyApiAvailable(kc, api)) break;
      } catch {
        // 429 while the new resource's cache warms up: not yet
      }
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${api.plural}.${api.group} to be served`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
