/**
 * Every batch/v1 CronJob in the cluster as one watched collection, read as plain JSON (the
 * generic client), so its `status` times stay RFC 3339 strings as in files and watch events.
 */
import { CustomObjectsApi, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../../core/common/index.js';
import { WatchedCollection } from './list-watch.js';

export function cronJobWatch(kc: KubeConfig, log: Logger): WatchedCollection<KubernetesObject> {
  const api = kc.makeApiClient(CustomObjectsApi);
  return new WatchedCollection<KubernetesObject>({
    kc,
    path: '/apis/batch/v1/cronjobs',
    list: async () => (await api.listClusterCustomObject({ group: 'batch', version: 'v1', plural: 'cronjobs' })) as KubernetesListObject<KubernetesObject>,
    log,
  });
}
