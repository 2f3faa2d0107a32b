/**
 * The policy kinds Rampart reads and writes on a cluster, with their API coordinates, and a
 * watch over all of them per kind. NetworkPolicies are always there; the Cilium kinds exist
 * only where Cilium's CRDs are installed (`ciliumPolicyApiAvailable` asks the API server).
 */
import { ApiException, CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../core/common/index.js';
import type { PolicyKind } from '../../core/policy/index.js';
import { WatchedCollection } from './list-watch.js';

export interface PolicyKindApi {
  readonly kind: PolicyKind;
  readonly apiVersion: string;
  readonly group: string;
  readonly version: string;
  readonly plural: string;
  readonly namespaced: boolean;
}

export const NETWORK_POLICY_API: PolicyKindApi = { kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1', group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', namespaced: true };
export const CNP_API: PolicyKindApi = { kind: 'CiliumNetworkPolicy', apiVersion: 'cilium.io/v2', group: 'cilium.io', version: 'v2', plural: 'ciliumnetworkpolicies', namespaced: true };
export const CCNP_API: PolicyKindApi = { kind: 'CiliumClusterwideNetworkPolicy', apiVersion: 'cilium.io/v2', group: 'cilium.io', version: 'v2', plural: 'ciliumclusterwidenetworkpolicies', namespaced: false };
export const CILIUM_POLICY_APIS: readonly PolicyKindApi[] = [CNP_API, CCNP_API];

export const policyKindApi = (kind: PolicyKind): PolicyKindApi => (kind === 'CiliumNetworkPolicy' ? CNP_API : kind === 'CiliumClusterwideNetworkPolicy' ? CCNP_API : NETWORK_POLICY_API);

/** A policy object as watched (plain JSON: metadata, spec and, for Cilium, specs). */
export interface PolicyObject extends KubernetesObject {
  spec?: unknown;
  specs?: unknown;
}

/** Every object of one policy kind, all namespaces, listed through the generic client (plain JSON, as watch events are). */
export function policyWatch(kc: KubeConfig, log: Logger, api: PolicyKindApi): WatchedCollection<PolicyObject> {
  const objects = kc.makeApiClient(CustomObjectsApi);
  return new WatchedCollection<PolicyObject>({
    kc,
    path: `/apis/${api.group}/${api.version}/${api.plural}`,
    list: async () => (await objects.listClusterCustomObject({ group: api.group, version: api.version, plural: api.plural })) as KubernetesListObject<PolicyObject>,
    log,
  });
}

/** Whether the API server serves this kind (its CRD is installed): a 404 on a list means no. */
export async function policyApiAvailable(kc: KubeConfig, api: PolicyKindApi): Promise<boolean> {
  try {
    await kc.makeApiClient(CustomObjectsApi).listClusterCustomObject({ group: api.group, version: api.version, plural: api.plural, limit: 1 });
    return true;
  } catch (e) {
    if (e instanceof ApiException && e.code === 404) return false;
    throw e;
  }
}

/** A watched policy as the plain manifest core/policy parses (labels kept, server fields dropped). */
export function policyManifestOf(api: PolicyKindApi, obj: PolicyObject): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: obj.metadata?.name ?? '', labels: { ...(obj.metadata?.labels ?? {}) } };
  if (api.namespaced) metadata['namespace'] = obj.metadata?.namespace ?? 'default';
  const out: Record<string, unknown> = { apiVersion: api.apiVersion, kind: api.kind, metadata };
  if (obj.spec !== undefined) out['spec'] = JSON.parse(JSON.stringify(obj.spec)) as unknown;
  if (obj.specs !== undefined) out['specs'] = JSON.parse(JSON.stringify(obj.specs)) as unknown;
  return out;
}
