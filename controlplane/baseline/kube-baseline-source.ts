/**
 * The baseline in Kubernetes mode (product.md "What is already enforced"): every
 * NetworkPolicy in the cluster, from a watch over all namespaces, each with its owner (the
 * `rampart.dev/contract` label a contract's applied policies carry, else null). The
 * snapshot's revision is a content hash, so it changes exactly when a policy does.
 */
import type { KubeConfig, V1NetworkPolicy } from '@kubernetes/client-node';
import { contentHash, type Logger } from '../../core/common/index.js';
import type { WatchedCollection } from '../../io/kube/list-watch.js';
import { manifestOf, networkPolicyWatch } from '../../io/kube/network-policies.js';
import type { BaselinePolicy, BaselineSnapshot, BaselineSource } from './baseline-source.js';
import { CONTRACT_LABEL } from '../contracts/labels.js';

/** Coalesces a burst of watch events (a stage applying many policies) into one change. */
const CHANGE_DEBOUNCE_MS = 50;

export class KubernetesBaselineSource implements BaselineSource {
  private readonly watch: WatchedCollection<V1NetworkPolicy>;
  private readonly ownsWatch: boolean;
  private readonly listeners: (() => void)[] = [];
  private current: BaselineSnapshot = { revision: contentHash([]), policies: [] };
  private timer: NodeJS.Timeout | null = null;

  /** `watch`: a shared NetworkPolicy watch (started by its owner), or null to own one. */
  constructor(opts: { kc: KubeConfig; log: Logger; watch?: WatchedCollection<V1NetworkPolicy> }) {
    this.ownsWatch = opts.watch === undefined;
    this.watch = opts.watch ?? networkPolicyWatch(opts.kc, opts.log);
    this.watch.onEvent(() => {
      if (this.timer) return;
      this.timer = setTimeout(() => {
        this.timer = null;
        this.refresh();
      }, CHANGE_DEBOUNCE_MS);
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener(
      'abort',
      () => {
        if (this.timer) clearTimeout(this.timer);
        this.timer = null;
      },
      { once: true },
    );
    if (this.ownsWatch) await this.watch.start(signal);
    else while (!this.watch.synced() && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 20));
    this.refresh();
  }

  snapshot(): BaselineSnapshot {
    return this.current;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private refresh(): void {
    const policies: BaselinePolicy[] = this.watch
      .list()
      .map((np) => ({
        ref: `${np.metadata?.namespace ?? 'default'}/${np.metadata?.name ?? ''}`,
        manifest: manifestOf(np),
        owner: np.metadata?.labels?.[CONTRACT_LABEL] ?? null,
      }))
      .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
    const revision = contentHash(policies);
    if (revision === this.current.revision) return;
    this.current = { revision, policies };
    for (const l of this.listeners) l();
  }
}
