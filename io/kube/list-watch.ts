/**
 * The one list-watch: a list of a kind of Kubernetes object, then a watch from the list's
 * resourceVersion into a cache, as client-go's reflector does it (../shared/docs/kubernetes.md
 * 3). The watch resumes from the last resourceVersion it saw (bookmarks included); a 410 Gone
 * ("too old resource version") relists, and what vanished meanwhile is a delete; a failed
 * list or watch is retried after a back-off that doubles up to a maximum; and because a
 * watch can end or stall for reasons no callback reports, a watchdog restarts any watch that
 * delivered nothing (not even a bookmark) for `watchdogMs`.
 *
 * NOTE: hand-rolled on client-node's `Watch` rather than its `makeInformer`: the informer
 * stops for good on any error other than 410 and offers neither bookmarks nor a server-side
 * timeout nor a handle to abort a stalled request, and the watchdog needs all three.
 */
import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../core/common/index.js';
import { describeApiError, isGone } from './api-error.js';

export type WatchEvent = 'add' | 'update' | 'delete';

/** What the cache needs of an object: its name, namespace and resourceVersion. */
export interface WatchedObject {
  readonly metadata?: { readonly name?: string; readonly namespace?: string; readonly resourceVersion?: string };
}

/** A list answer: the items and the resourceVersion to watch from. */
export interface ListAnswer<T> {
  readonly items?: readonly T[];
  readonly metadata?: { readonly resourceVersion?: string };
}

export const WATCH_DEFAULTS = Object.freeze({
  /** The server ends each watch after this long (client-go picks 5-10 min). */
  watchTimeoutSeconds: 300,
  /** No event or bookmark for this long: the watch is presumed stalled and restarted. */
  watchdogMs: 330_000,
  /** Back-off after a failed list or watch, doubling up to the max. */
  retryMinMs: 500,
  retryMaxMs: 30_000,
});

export interface WatchedCollectionOptions<T extends WatchedObject> {
  readonly kc: KubeConfig;
  /** The watch path, e.g. `/apis/networking.k8s.io/v1/networkpolicies`. */
  readonly path: string;
  readonly list: () => Promise<ListAnswer<T>>;
  readonly labelSelector?: string;
  readonly log: Logger;
  readonly watchTimeoutSeconds?: number;
  readonly watchdogMs?: number;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /**
   * true: `start` throws when the first list fails (a start-up error the caller reports);
   * false (default): it retries with the back-off until the list works or the signal aborts.
   */
  readonly failFast?: boolean;
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

interface RawEvent<T> {
  readonly type: string;
  readonly object: T & { readonly code?: number; readonly reason?: string; readonly message?: string };
}

const keyOf = (o: WatchedObject): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class WatchedCollection<T extends WatchedObject> {
  private readonly o: WatchedCollectionOptions<T>;
  private readonly watchTimeoutSeconds: number;
  private readonly watchdogMs: number;
  private readonly retryMinMs: number;
  private readonly retryMaxMs: number;
  private readonly watcher: Watch;
  private readonly cache = new Map<string, T>();
  private readonly listeners: ((event: WatchEvent, obj: T) => void)[] = [];
  private readonly batchListeners: (() => void)[] = [];
  private counts = { lists: 0, watches: 0, gone: 0, stalls: 0, errors: 0 };
  private resourceVersion = '';
  /** Bumped for every watch started: callbacks of an abandoned watch are ignored. */
  private epoch = 0;
  private current: AbortController | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private backoffMs: number;
  private stopped = false;
  private listed = false;

  constructor(options: WatchedCollectionOptions<T>) {
    this.o = options;
    this.watchTimeoutSeconds = options.watchTimeoutSeconds ?? WATCH_DEFAULTS.watchTimeoutSeconds;
    this.watchdogMs = options.watchdogMs ?? WATCH_DEFAULTS.watchdogMs;
    this.retryMinMs = options.retryMinMs ?? WATCH_DEFAULTS.retryMinMs;
    this.retryMaxMs = options.retryMaxMs ?? WATCH_DEFAULTS.retryMaxMs;
    this.backoffMs = this.retryMinMs;
    this.watcher = new Watch(options.kc);
  }

  /** Lists (see `failFast`), then keeps watching until the signal aborts or `stop`. */
  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.stop(), { once: true });
    for (;;) {
      try {
        await this.load();
        break;
      } catch (e) {
        if (this.o.failFast) throw e;
        this.counts.errors++;
        this.o.log.warn('list failed; retrying', { path: this.o.path, err: { message: describeApiError(e) }, retryMs: this.backoffMs });
        const delay = this.nextBackoff();
        await new Promise((resolve) => setTimeout(resolve, delay));
        if (this.stopped) return;
      }
    }
    this.startWatch();
  }

  /** True once the first list is in the cache. */
  synced(): boolean {
    return this.listed;
  }

  list(namespace?: string): readonly T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => (o.metadata?.namespace ?? '') === namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.cache.get(`${namespace ?? ''}/${name}`);
  }

  /** Told about every object added, changed or removed (a relist reports the difference). */
  onEvent(listener: (event: WatchEvent, obj: T) => void): void {
    this.listeners.push(listener);
  }

  /** Told after each list and each watch event that changed the cache. */
  onChanged(listener: () => void): void {
    this.batchListeners.push(listener);
  }

  /** Watches started, relists and restarts, for metrics and tests. */
  stats(): WatchStats {
    return { ...this.counts, resourceVersion: this.resourceVersion };
  }

  /** Restarts of the watch (410 relists, stalls, errors). */
  get restarts(): number {
    return this.counts.gone + this.counts.stalls + this.counts.errors;
  }

  /**
   * Starts a watch from `resourceVersion` instead of the last one seen (tests: a version
   * the server no longer has must relist, not lose events).
   */
  restartWatchFrom(resourceVersion: string): void {
    this.resourceVersion = resourceVersion;
    this.startWatch();
  }

  stop(): void {
    this.stopped = true;
    this.epoch++;
    this.current?.abort();
    this.current = null;
    if (this.watchdog) clearTimeout(this.watchdog);
    if (this.retryTimer) clearTimeout(this.retryTimer);
  }

  private nextBackoff(): number {
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.retryMaxMs, this.backoffMs * 2);
    return delay;
  }

  /** Lists into the cache; what vanished since is a delete. */
  private async load(): Promise<void> {
    const res = await this.o.list();
    this.counts.lists++;
    const seen = new Set<string>();
    for (const obj of res.items ?? []) {
      if (obj.metadata?.name === undefined) continue;
      const key = keyOf(obj);
      seen.add(key);
      this.put(key, obj);
    }
    // What vanished while we were not watching is a delete.
    for (const [key, obj] of [...this.cache]) if (!seen.has(key)) this.drop(key, obj);
    this.resourceVersion = res.metadata?.resourceVersion ?? '';
    this.listed = true;
    this.changed();
  }

  private put(key: string, obj: T): void {
    const before = this.cache.get(key);
    this.cache.set(key, obj);
    if (before !== undefined && before.metadata?.resourceVersion === obj.metadata?.resourceVersion) return;
    for (const l of this.listeners) l(before === undefined ? 'add' : 'update', obj);
  }

  private drop(key: string, obj: T): void {
    this.cache.delete(key);
    for (const l of this.listeners) l('delete', obj);
  }

  private changed(): void {
    for (const l of this.batchListeners) l();
  }

  private startWatch(): void {
    if (this.stopped) return;
    const epoch = ++this.epoch;
    this.current?.abort();
    this.current = null;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.counts.watches++;
    this.armWatchdog(epoch);
    const query: Record<string, string | number | boolean> = {
      resourceVersion: this.resourceVersion,
      allowWatchBookmarks: true,
      timeoutSeconds: this.watchTimeoutSeconds,
    };
    if (this.o.labelSelector !== undefined) query['labelSelector'] = this.o.labelSelector;
    this.watcher
      .watch(
        this.o.path,
        query,
        (type: string, object: unknown) => {
          if (epoch !== this.epoch) return;
          this.onEvent_(epoch, { type, object: object as RawEvent<T>['object'] });
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
      if (epoch !== this.epoch || this.stopped) return;
      this.counts.stalls++;
      this.o.log.warn('watch silent; restarting it', { path: this.o.path, silentMs: this.watchdogMs, resourceVersion: this.resourceVersion });
      this.startWatch();
    }, this.watchdogMs);
    this.watchdog.unref();
  }

  private onEvent_(epoch: number, e: RawEvent<T>): void {
    this.armWatchdog(epoch);
    const obj = e.object;
    if (e.type === 'ERROR') {
      // A Status object: 410 means our resourceVersion is older than what the server keeps.
      if (isGone(obj)) {
        this.counts.gone++;
        this.o.log.info('watch expired (410); relisting', { path: this.o.path, resourceVersion: this.resourceVersion, message: obj.message });
        this.relist(epoch);
      } else {
        this.counts.errors++;
        this.o.log.warn('watch error event; restarting it', { path: this.o.path, code: obj.code, reason: obj.reason, message: obj.message });
        this.retryLater(epoch, false);
      }
      return;
    }
    const rv = obj.metadata?.resourceVersion;
    if (rv !== undefined) this.resourceVersion = rv;
    if (e.type === 'BOOKMARK') return;
    if (obj.metadata?.name === undefined) return;
    const key = keyOf(obj);
    if (e.type === 'DELETED') this.drop(key, obj);
    else if (e.type === 'ADDED' || e.type === 'MODIFIED') this.put(key, obj);
    else return;
    this.backoffMs = this.retryMinMs;
    this.changed();
  }

  private onDone(epoch: number, err: unknown): void {
    if (this.stopped) return;
    if (isGone(err)) {
      this.counts.gone++;
      this.relist(epoch);
      return;
    }
    if (err !== null && err !== undefined && !isAbort(err)) {
      this.counts.errors++;
      this.o.log.warn('watch failed; restarting it', { path: this.o.path, err: { message: describeApiError(err) }, retryMs: this.backoffMs });
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
    const delay = this.nextBackoff();
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
    this.load().then(
      () => {
        if (mine === this.epoch) this.startWatch();
      },
      (e: unknown) => {
        this.counts.errors++;
        this.o.log.warn('relist failed; retrying', { path: this.o.path, err: { message: describeApiError(e) }, retryMs: this.backoffMs });
        this.retryLater(mine, true);
      },
    );
  }
}

function isAbort(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as { name?: unknown; type?: unknown };
  return x.name === 'AbortError' || x.type === 'aborted';
}
