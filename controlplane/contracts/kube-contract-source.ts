/**
 * Contracts from the API server: a list + watch of every RampContract (cluster-scoped), as
 * client-go's reflector does it. The watch resumes from the last resourceVersion it saw
 * (bookmarks included); a 410 Gone ("too old resource version") relists; and because a watch
 * can end or stall for reasons no callback reports (client-node 1.4's informer stops on any
 * error other than 410 and has no client-side timeout), a watchdog restarts any watch that
 * delivered nothing for `watchdogMs`. Each object is parsed with the same parser as files.
 *
 * NOTE: hand-rolled on client-node's `Watch` rather than its `makeInformer`: the informer
 * offers neither bookmarks nor a server-side timeout nor a handle to abort a stalled request,
 * and the watchdog needs all three.
 */
import { CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { contentHash, type Logger } from '../../core/common/index.js';
import { parseContract, RAMPCONTRACT, type Contract } from '../../core/contract/index.js';
import { describeApiError, isGone } from '../../io/kube/api-error.js';
import type { ContractEntry, ContractSource } from './contract-source.js';
import type { ContractView } from '../../core/rollout/index.js';
import type { RampContractObject } from './rampcontract-gvr.js';

export const WATCH_DEFAULTS = Object.freeze({
  /** The server ends each watch after this long (client-go picks 5-10 min). */
  watchTimeoutSeconds: 300,
  /** No event or bookmark for this long: the watch is presumed stalled and restarted. */
  watchdogMs: 330_000,
  /** Back-off after a failed list or watch, doubling up to the max. */
  retryMinMs: 500,
  retryMaxMs: 30_000,
});

export interface KubeContractSourceOptions {
  readonly kc: KubeConfig;
  readonly log: Logger;
  readonly watchTimeoutSeconds?: number;
  readonly watchdogMs?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

export interface WatchStats {
  readonly lists: number;
  readonly watches: number;
  /** Relists forced by 410 Gone. */
  readonly gone: number;
  /** Watches the watchdog gave up on. */
  readonly stalls: number;
  readonly errors: number;
  readonly resourceVersion: string;
}

interface WatchEvent {
  readonly type: string;
  readonly object: RampContractObject & { readonly code?: number; readonly reason?: string; readonly message?: string };
}

export function entryOf(obj: RampContractObject): ContractEntry {
  const name = obj.metadata?.name ?? '(unnamed)';
  const origin = `rampcontract/${name}`;
  const parsed = parseContract({ apiVersion: obj.apiVersion, kind: obj.kind, metadata: { name: obj.metadata?.name }, spec: obj.spec });
  if (parsed.ok) return { name: parsed.value.name, origin, contract: parsed.value, problems: [] };
  return { name, origin, contract: null, problems: parsed.error };
}

export class KubeContractSource implements ContractSource {
  private readonly o: Required<Omit<KubeContractSourceOptions, 'kc' | 'log'>> & Pick<KubeContractSourceOptions, 'kc' | 'log'>;
  private readonly api: CustomObjectsApi;
  private readonly watcher: Watch;
  private readonly objects = new Map<string, RampContractObject>();
  /** metadata.generation each parsed contract came from (for status.observedGeneration). */
  private readonly generations = new WeakMap<Contract, number>();
  private entries: ContractEntry[] = [];
  private signature = '';
  private readonly listeners: (() => void)[] = [];
  private readonly objectListeners: ((name: string, obj: RampContractObject | null) => void)[] = [];
  private resourceVersion = '';
  private stats = { lists: 0, watches: 0, gone: 0, stalls: 0, errors: 0 };
  /** Bumped for every watch started: callbacks of an abandoned watch are ignored. */
  private epoch = 0;
  private current: AbortController | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private signal: AbortSignal | null = null;

  constructor(options: KubeContractSourceOptions) {
    this.o = {
      kc: options.kc,
      log: options.log,
      watchTimeoutSeconds: options.watchTimeoutSeconds ?? WATCH_DEFAULTS.watchTimeoutSeconds,
      watchdogMs: options.watchdogMs ?? WATCH_DEFAULTS.watchdogMs,
      retryMinMs: options.retryMinMs ?? WATCH_DEFAULTS.retryMinMs,
      retryMaxMs: options.retryMaxMs ?? WATCH_DEFAULTS.retryMaxMs,
    };
    this.backoffMs = this.o.retryMinMs;
    this.api = options.kc.makeApiClient(CustomObjectsApi);
    this.watcher = new Watch(options.kc);
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
    return this.objects.get(name) ?? null;
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
    return { ...this.stats, resourceVersion: this.resourceVersion };
  }

  /** Lists once (throws if that fails: a start-up error), then watches until the signal aborts. */
  async start(signal: AbortSignal): Promise<void> {
    this.signal = signal;
    signal.addEventListener(
      'abort',
      () => {
        this.epoch++;
        this.current?.abort();
        this.current = null;
        if (this.watchdog) clearTimeout(this.watchdog);
        if (this.retryTimer) clearTimeout(this.retryTimer);
      },
      { once: true },
    );
    try {
      await this.list();
    } catch (e) {
      throw new Error(`cannot list ${RAMPCONTRACT.plural}.${RAMPCONTRACT.group} (is the CRD installed, and may this identity list it?): ${describeApiError(e)}`, { cause: e });
    }
    this.startWatch();
  }

  /**
   * Starts a watch from `resourceVersion` instead of the last one seen (tests: a version
   * the server no longer has must relist, not lose events).
   */
  restartWatchFrom(resourceVersion: string): void {
    this.resourceVersion = resourceVersion;
    this.startWatch();
  }

  private async list(): Promise<void> {
    const res = (await this.api.listClusterCustomObject({ group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural })) as {
      items?: RampContractObject[];
      metadata?: { resourceVersion?: string };
    };
    this.stats.lists++;
    const seen = new Set<string>();
    for (const obj of res.items ?? []) {
      const name = obj.metadata?.name;
      if (name === undefined) continue;
      seen.add(name);
      this.put(name, obj);
    }
    // What vanished while we were not watching is a delete.
    for (const name of [...this.objects.keys()]) if (!seen.has(name)) this.drop(name);
    this.resourceVersion = res.metadata?.resourceVersion ?? '';
    this.publish();
  }

  private put(name: string, obj: RampContractObject): void {
    this.objects.set(name, obj);
    for (const l of this.objectListeners) l(name, obj);
  }

  private drop(name: string): void {
    this.objects.delete(name);
    for (const l of this.objectListeners) l(name, null);
  }

  private startWatch(): void {
    if (this.signal?.aborted) return;
    const epoch = ++this.epoch;
    this.current?.abort();
    this.current = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.stats.watches++;
    this.armWatchdog(epoch);
    const query = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: this.o.watchTimeoutSeconds,
    };
    this.watcher
      .watch(
        RAMPCONTRACT.path,
        query,
        (type: string, object: unknown) => {
          if (epoch !== this.epoch) return;
          this.onEvent(epoch, { type, object: object as WatchEvent['object'] });
        },
        (err: unknown) => {
          if (epoch !== this.epoch) return;
          this.onDone(epoch, err);
        },
      )
      .then(
        (controller) => {
          // A watch abandoned (watchdog, restart, abort) before its request resolved: close it now.
          if (epoch !== this.epoch) controller.abort();
          else this.current = controller;
        },
        (e: unknown) => {
          if (epoch === this.epoch) this.onDone(epoch, e);
        },
      );
  }

  private armWatchdog(epoch: number): void {
    if (this.watchdog) clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      if (epoch !== this.epoch || this.signal?.aborted) return;
      this.stats.stalls++;
      this.o.log.warn('contract watch silent; restarting it', { silentMs: this.o.watchdogMs, resourceVersion: this.resourceVersion });
      this.startWatch();
    }, this.o.watchdogMs);
    this.watchdog.unref();
  }

  private onEvent(epoch: number, e: WatchEvent): void {
    this.armWatchdog(epoch);
    const obj = e.object;
    if (e.type === 'ERROR') {
      // A Status object: 410 means our resourceVersion is older than what the server keeps.
      if (isGone(obj)) {
        this.stats.gone++;
        this.o.log.info('contract watch expired (410); relisting', { resourceVersion: this.resourceVersion, message: obj.message });
        this.relist(epoch);
      } else {
        this.stats.errors++;
        this.o.log.warn('contract watch error event; restarting it', { code: obj.code, reason: obj.reason, message: obj.message });
        this.retryLater(epoch, false);
      }
      return;
    }
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    const name = obj.metadata?.name;
    if (name === undefined) return;
    if (e.type === 'DELETED') this.drop(name);
    else if (e.type === 'ADDED' || e.type === 'MODIFIED') this.put(name, obj);
    else return;
    this.backoffMs = this.o.retryMinMs;
    this.publish();
  }

  private onDone(epoch: number, err: unknown): void {
    if (this.signal?.aborted) return;
    if (isGone(err)) {
      this.stats.gone++;
      this.relist(epoch);
      return;
    }
    if (err !== null && err !== undefined) {
      this.stats.errors++;
      this.o.log.warn('contract watch failed; restarting it', { err: { message: describeApiError(err) }, retryMs: this.backoffMs });
      this.retryLater(epoch, false);
      return;
    }
    // A normal end (the server's timeoutSeconds): resume at once from where it stopped.
    this.startWatch();
  }

  private retryLater(epoch: number, relist: boolean): void {
    if (epoch !== this.epoch) return;
    this.epoch++; // the failed watch's remaining callbacks are stale
    this.current?.abort();
    this.current = null;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.o.retryMaxMs, this.backoffMs * 2);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (relist) this.relist(this.epoch);
      else this.startWatch();
    }, delay);
    this.retryTimer.unref();
  }

  private relist(epoch: number): void {
    if (epoch !== this.epoch) return;
    const mine = ++this.epoch;
    this.current?.abort();
    this.current = null;
    this.list().then(
      () => {
        if (mine === this.epoch) this.startWatch();
      },
      (e: unknown) => {
        this.stats.errors++;
        this.o.log.warn('contract relist failed; retrying', { err: { message: describeApiError(e) }, retryMs: this.backoffMs });
        this.retryLater(mine, true);
      },
    );
  }

  private publish(): void {
    // A contract being deleted (finalizers pending) is gone as far as the ramp is concerned.
    const live = [...this.objects.values()].filter((o) => o.metadata?.deletionTimestamp === undefined);
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
