/**
 * Every NetworkPolicy in the cluster as one watched collection, shared by the baseline, the
 * actuator and the simulated datapath, and a watched policy as the plain manifest
 * core/policy parses.
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type V1NetworkPolicy } from '@kubernetes/client-node';
import type { Logger } from '../../core/common/index.js';
import { WatchedCollection } from './list-watch.js';

/**
 * The NetworkPolicy watch the baseline and the actuator share. NOTE: listed through the
 * generic (custom objects) client so list items stay plain JSON like watch events: the typed
 * client renames fields (`from` becomes `_from`), and a cache must not hold both shapes.
 */
export function networkPolicyWatch(kc: KubeConfig, log: Logger): WatchedCollection<V1NetworkPolicy> {
  const api = kc.makeApiClient(CustomObjectsApi);
  return new WatchedCollection<V1NetworkPolicy>({
    kc,
    path: '/apis/networking.k8s.io/v1/networkpolicies',
    list: async () => (await api.listClusterCustomObject({ group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies' })) as KubernetesListObject<V1NetworkPolicy>,
    log,
  });
}

/** A policy as a plain manifest for core/policy (the watch holds plain JSON). */
export function manifestOf(np: V1NetworkPolicy): unknown {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: np.metadata?.name ?? '', namespace: np.metadata?.namespace ?? 'default', labels: { ...(np.metadata?.labels ?? {}) } },
    spec: JSON.parse(JSON.stringify(np.spec ?? {})) as unknown,
  };
}
