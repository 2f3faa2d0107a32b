/**
 * Contracts from the API server: every RampContract (cluster-scoped) through the one
 * list-watch (io/kube/list-watch.ts: resume from the last resourceVersion, relist on 410, a
 * watchdog, back-off), each object parsed with the same parser as files.
 */
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { contentHash, type Logger } from '../../core/common/index.js';
import { parseContract, RAMPCONTRACT, type Contract } from '../../core/contract/index.js';
import type { ContractView } from '../../core/rollout/index.js';
import { describeApiError } from '../../io/kube/api-error.js';
import { WatchedCollection, type WatchStats } from '../../io/kube/list-watch.js';
import type { ContractEntry, ContractSource } from './contract-source.js';
import type { RampContractObject } from './rampcontract-gvr.js';

export interface KubeContractSourceOptions {
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly watchTimeoutSeconds?: number;
  readonly watchdogMs?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

export function entryOf(obj: RampContractObject): ContractEntry {
  const name = obj.metadata?.name ?? '(unnamed)';
  const origin = `rampcontract/${name}`;
  const parsed = parseContract({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata?.name }, spec: obj.spec });
  if (parsed.ok) return { name: parsed.value.name, origin, contract: parsed.value, problems: [] };
  return { name, origin, contract: null, problems: parsed.error };
}

export class KubeContractSource implements ContractSource {
  private readonly watch: WatchedCollection<RampContractObject>;
  /** metadata.generation each parsed contract came from (for status.observedGeneration). */
  private readonly generations = new WeakMap<Contract, number>();
  private entries: ContractEntry[] = [];
  private signature = '';
  private readonly listeners: (() => void)[] = [];
  private readonly objectListeners: ((name: string, obj: RampContractObject | null) => void)[] = [];

  constructor(options: KubeContractSourceOptions) {
    const api = options.kc.makeApiClient(CustomObjectsApi);
    this.watch = new WatchedCollection<RampContractObject>({
      kc: options.kc,
      path: RAMPCONTRACT.path,
      list: async () => (await api.listClusterCustomObject({ group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural })) as { items?: RampContractObject[]; metadata?: { resourceVersion?: string } },
      log: options.log,
      watchTimeoutSeconds: options.watchTimeoutSeconds,
      watchdogMs: options.watchdogMs,
      retryMinMs: options.retryMinMs,
      retryMaxMs: options.retryMaxMs,
      failFast: true,
    });
    this.watch.onEvent((event, obj) => {
      const name = obj.metadata?.name;
      if (name === undefined) return;
      for (const l of this.objectListeners) l(name, event === 'delete' ? null : obj);
    });
    this.watch.onChanged(() => this.publish());
  }

  snapshot(): readonly ContractEntry[] {
    return this.entries;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Told about every object change (the status writer reads resourceVersion, uid and status). */
  onObject(listener: (name: string, obj: RampContractObject | null) => void): void {
    this.objectListeners.push(listener);
  }

  /** The object as last listed or watched (null: not there). */
  object(name: string): RampContractObject | null {
    return this.watch.get(name) ?? null;
  }

  /**
   * The metadata.generation a view's contract was parsed from; null when the view shows the
   * last valid document while the current one is invalid (its problems are the current one's).
   */
  generationOf(view: Pick<ContractView, 'contract' | 'problems'>): number | null {
    if (view.problems.length > 0 || view.contract === null) return null;
    return this.generations.get(view.contract) ?? null;
  }

  watchStats(): WatchStats {
    return this.watch.stats();
  }

  /** Lists once (throws if that fails: a start-up error), then watches until the signal aborts. */
  async start(signal: AbortSignal): Promise<void> {
    try {
      await this.watch.start(signal);
    } catch (e) {
      throw new Error(`cannot list ${RAMPCONTRACT.plural}.${RAMPCONTRACT.group} (is the CRD installed, and may this identity list it?): ${describeApiError(e)}`, { cause: e });
    }
  }

  /**
   * Starts a watch from `resourceVersion` instead of the last one seen (tests: a version
   * the server no longer has must relist, not lose events).
   */
  restartWatchFrom(resourceVersion: string): void {
    this.watch.restartWatchFrom(resourceVersion);
  }

  private publish(): void {
    // A contract being deleted (finalizers pending) is gone as far as the ramp is concerned.
    const live = this.watch.list().filter((o) => o.metadata?.deletionTimestamp === undefined);
    const pairs = live.map((o) => {
      const e = entryOf(o);
      if (e.contract) this.generations.set(e.contract, o.metadata?.generation ?? 0);
      return { e, g: o.metadata?.generation ?? 0 };
    });
    pairs.sort((a, b) => (a.e.name < b.e.name ? -1 : a.e.name > b.e.name ? 1 : 0));
    const entries = pairs.map((x) => x.e);
    const signature = contentHash(pairs.map(({ e, g }) => ({ n: e.name, p: e.problems, h: e.contract ? contentHash(e.contract) : null, g })));
    if (signature === this.signature) return;
    this.signature = signature;
    this.entries = entries;
    for (const l of this.listeners) l();
  }
}
