/**
 * The inventory in Kubernetes mode: batch/v1 CronJobs (with their status: only the runs the
 * API server records count) and Pods, from list-watches over all namespaces. The Pod watch
 * may be shared with the actuator. Objects are read as plain JSON (the generic client), the
 * shape core/sufficiency reads from files too.
 */
import { CoreV1Api, type KubeConfig, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../core/common/index.js';
import { buildInventory, type Inventory } from '../../core/sufficiency/index.js';
import { cronJobWatch } from '../../io/kube/cronjobs.js';
import { WatchedCollection } from '../../io/kube/list-watch.js';
import type { InventorySource } from './inventory-source.js';

export class KubernetesInventorySource implements InventorySource {
  private readonly cronJobs: WatchedCollection<KubernetesObject>;
  private readonly pods: WatchedCollection<V1Pod>;
  private readonly ownsPods: boolean;
  private readonly log: Logger;
  private cached: Inventory | null = null;

  constructor(opts: { kc: KubeConfig; log: Logger; pods?: WatchedCollection<V1Pod> }) {
    this.log = opts.log;
    this.cronJobs = cronJobWatch(opts.kc, opts.log);
    this.ownsPods = opts.pods === undefined;
    const core = opts.kc.makeApiClient(CoreV1Api);
    this.pods = opts.pods ?? new WatchedCollection<V1Pod>({ kc: opts.kc, path: '/api/v1/pods', list: () => core.listPodForAllNamespaces(), log: opts.log });
    const invalidate = (): void => {
      this.cached = null;
    };
    this.cronJobs.onEvent(invalidate);
    this.pods.onEvent(invalidate);
  }

  async start(signal: AbortSignal): Promise<void> {
    await Promise.all([this.cronJobs.start(signal), ...(this.ownsPods ? [this.pods.start(signal)] : [])]);
  }

  stop(): void {
    this.cronJobs.stop();
    if (this.ownsPods) this.pods.stop();
  }

  snapshot(): Inventory {
    if (this.cached !== null) return this.cached;
    const objects = [
      ...this.cronJobs.list().map((o) => ({ object: { kind: 'CronJob', ...o } as unknown, path: `cronjob ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}` })),
      ...this.pods.list().map((o) => ({ object: { kind: 'Pod', ...o } as unknown, path: `pod ${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}` })),
    ];
    const { inventory, problems } = buildInventory(objects, true);
    if (problems.length > 0) this.log.warn('cluster objects left out of the inventory', { problems: problems.slice(0, 10), count: problems.length });
    this.cached = inventory;
    return inventory;
  }
}
