/**
 * The baseline in Kubernetes mode (product.md "What is already enforced", "Cilium policies"):
 * every NetworkPolicy in the cluster, and every CiliumNetworkPolicy and
 * CiliumClusterwideNetworkPolicy where Cilium's CRDs are installed (watched from the moment
 * they appear: a kind the API server does not serve is asked for again every
 * `crdProbeMs`), each with its owner (the `rampart.dev/contract` label a contract's applied
 * policies carry, else null). The snapshot's revision is a content hash, so it changes
 * exactly when a policy does. A policy that a contract replaces or removes is handed over as
 * its owner wrote it (without the contract's exclusion entry): an owner's edit mid-ramp is a
 * new baseline revision, Rampart's own entry never is.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { contentHash, type Logger } from '../../core/common/index.js';
import { policyRef } from '../../core/policy/index.js';
import type { WatchedCollection } from '../../io/kube/list-watch.js';
import { CILIUM_POLICY_APIS, NETWORK_POLICY_API, policyApiAvailable, policyManifestOf, policyWatch, type PolicyKindApi, type PolicyObject } from '../../io/kube/policy-kinds.js';
import type { BaselinePolicy, BaselineSnapshot, BaselineSource } from './baseline-source.js';
import { CONTRACT_LABEL } from '../contracts/labels.js';
import { ownerManifest } from '../contracts/originals.js';

/** Coalesces a burst of watch events (a stage applying many policies) into one change. */
const CHANGE_DEBOUNCE_MS = 50;
/** How often a Cilium kind the cluster does not serve yet is asked for again. */
const CRD_PROBE_MS = 30_000;

interface KindWatch {
  readonly api: PolicyKindApi;
  watch: WatchedCollection<PolicyObject> | null;
}

export class KubernetesBaselineSource implements BaselineSource {
  private readonly kc: KubeConfig;
  private readonly log: Logger;
  private readonly watch: WatchedCollection<PolicyObject>;
  private readonly ownsWatch: boolean;
  private readonly cilium: KindWatch[];
  private readonly crdProbeMs: number;
  private readonly listeners: (() => void)[] = [];
  private current: BaselineSnapshot = { revision: contentHash([]), policies: [] };
  private timer: NodeJS.Timeout | null = null;
  private probeTimer: NodeJS.Timeout | null = null;

  /** `watch`: a shared NetworkPolicy watch (started by its owner), or null to own one. */
  constructor(opts: { kc: KubeConfig; log: Logger; watch?: WatchedCollection<PolicyObject>; cilium?: boolean; crdProbeMs?: number }) {
    this.kc = opts.kc;
    this.log = opts.log;
    this.ownsWatch = opts.watch === undefined;
    this.watch = opts.watch ?? policyWatch(opts.kc, opts.log, NETWORK_POLICY_API);
    this.cilium = opts.cilium === false ? [] : CILIUM_POLICY_APIS.map((api) => ({ api, watch: null }));
    this.crdProbeMs = opts.crdProbeMs ?? CRD_PROBE_MS;
    this.watch.onEvent(() => this.changed());
  }

  private changed(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refresh();
    }, CHANGE_DEBOUNCE_MS);
  }

  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener(
      'abort',
      () => {
        if (this.timer) clearTimeout(this.timer);
        if (this.probeTimer) clearTimeout(this.probeTimer);
        this.timer = null;
        this.probeTimer = null;
      },
      { once: true },
    );
    if (this.ownsWatch) await this.watch.start(signal);
    else while (!this.watch.synced() && !signal.aborted) await new Promise((resolve) => setTimeout(resolve, 20));
    await this.probe(signal);
    this.refresh();
  }

  /** Starts a watch for each Cilium kind the cluster serves now; asks again later for the others. */
  private async probe(signal: AbortSignal): Promise<void> {
    for (const k of this.cilium) {
      if (k.watch !== null || signal.aborted) continue;
      let served = false;
      try {
        served = await policyApiAvailable(this.kc, k.api);
      } catch (e) {
        this.log.warn('cannot tell whether a Cilium policy kind is served; asking again later', { kind: k.api.kind, err: { message: e instanceof Error ? e.message : String(e) } });
      }
      if (!served) continue;
      const watch = policyWatch(this.kc, this.log, k.api);
      watch.onEvent(() => this.changed());
      k.watch = watch;
      await watch.start(signal);
      this.log.info('watching Cilium policies for the baseline', { kind: k.api.kind });
      this.changed();
    }
    if (this.cilium.some((k) => k.watch === null) && !signal.aborted) {
      this.probeTimer = setTimeout(() => void this.probe(signal), this.crdProbeMs);
      this.probeTimer.unref?.();
    }
  }

  snapshot(): BaselineSnapshot {
    return this.current;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private entries(api: PolicyKindApi, watch: WatchedCollection<PolicyObject>): BaselinePolicy[] {
    return watch.list().map((obj) => ({
      ref: policyRef({ kind: api.kind, namespace: api.namespaced ? (obj.metadata?.namespace ?? 'default') : '', name: obj.metadata?.name ?? '' }),
      // X as its owner wrote it: never with the exclusion entry a contract replacing X adds.
      manifest: ownerManifest(policyManifestOf(api, obj)),
      owner: obj.metadata?.labels?.[CONTRACT_LABEL] ?? null,
    }));
  }

  private refresh(): void {
    const policies: BaselinePolicy[] = [
      ...this.entries(NETWORK_POLICY_API, this.watch),
      ...this.cilium.flatMap((k) => (k.watch === null ? [] : this.entries(k.api, k.watch))),
    ].sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
    const revision = contentHash(policies);
    if (revision === this.current.revision) return;
    this.current = { revision, policies };
    for (const l of this.listeners) l();
  }
}
