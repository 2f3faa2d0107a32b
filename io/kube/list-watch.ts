/**
 * A watched collection of Kubernetes objects (list + watch into a cache), on top of
 * client-node's informer, with what that informer lacks (../shared/docs/kubernetes.md 3):
 * it stops for good on any error other than 410, so this restarts it after a delay; and a
 * watch can stall silently, so a watchdog restarts one that has been quiet for too long
 * (resuming from the last resourceVersion; a 410 then relists). `start` resolves once the
 * first list is in the cache, so callers never act on an empty cache by mistake.
 */
import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import { systemClock, type Clock, type Logger } from '../../core/common/index.js';

export type WatchEvent = 'add' | 'update' | 'delete';

export interface WatchedCollectionOptions<T extends KubernetesObject> {
  readonly kc: KubeConfig;
  /** The watch path, e.g. `/apis/networking.k8s.io/v1/networkpolicies`. */
  readonly path: string;
  readonly list: () => Promise<KubernetesListObject<T>>;
  readonly labelSelector?: string;
  readonly log: Logger;
  /** Delay before restarting after an error (default 1 s). */
  readonly restartDelayMs?: number;
  /** Restart a watch that delivered nothing for this long (default 5 min). */
  readonly watchdogMs?: number;
  /** What the watchdog measures quiet time on (default the system clock). */
  readonly clock?: Clock;
}

export class WatchedCollection<T extends KubernetesObject> {
  private readonly o: WatchedCollectionOptions<T>;
  private readonly informer: Informer<T> & ObjectCache<T>;
  private readonly listeners: ((event: WatchEvent, obj: T) => void)[] = [];
  private readonly clock: Clock;
  private lastActivityMs: number;
  private restartTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private stopped = false;
  private listed = false;
  private lastError: unknown = null;
  /** How often the watch was restarted (errors and watchdog). */
  restarts = 0;

  constructor(options: WatchedCollectionOptions<T>) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.lastActivityMs = this.clock.nowMs();
    this.informer = makeInformer<T>(options.kc, options.path, options.list, options.labelSelector);
    for (const event of ['add', 'update', 'delete'] as const) {
      this.informer.on(event, (obj) => {
        this.lastActivityMs = this.clock.nowMs();
        for (const l of this.listeners) l(event, obj);
      });
    }
    this.informer.on('connect', () => {
      this.lastActivityMs = this.clock.nowMs();
    });
    this.informer.on('error', (e: unknown) => {
      // Our own stop() aborts the request, which the informer reports as an error: not one.
      if (isAbort(e)) return;
      this.lastError = e;
      if (this.stopped) return;
      this.o.log.warn('watch ended with an error; restarting', { path: this.o.path, err: { message: e instanceof Error ? e.message : String(e) } });
      this.scheduleRestart();
    });
  }

  /** Lists (retrying until it works or the signal aborts), then keeps watching. */
  async start(signal: AbortSignal): Promise<void> {
    signal.addEventListener('abort', () => this.stop(), { once: true });
    const delay = this.o.restartDelayMs ?? 1000;
    while (!this.stopped) {
      this.lastError = null;
      await this.informer.start();
      // NOTE: the informer's start() resolves even when the list failed (it reports it as an error).
      if (this.lastError === null) break;
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
    if (this.restartTimer) {
      clearTimeout(this.restartTimer);
      this.restartTimer = null;
    }
    this.listed = true;
    const watchdogMs = this.o.watchdogMs ?? 5 * 60_000;
    this.watchdog = setInterval(() => {
      if (this.stopped || this.clock.nowMs() - this.lastActivityMs < watchdogMs) return;
      this.o.log.warn('watch quiet for too long; restarting', { path: this.o.path, quietMs: this.clock.nowMs() - this.lastActivityMs });
      void this.restart();
    }, Math.max(100, Math.min(watchdogMs / 2, 30_000)));
  }

  /** True once the first list is in the cache. */
  synced(): boolean {
    return this.listed;
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  onEvent(listener: (event: WatchEvent, obj: T) => void): void {
    this.listeners.push(listener);
  }

  stop(): void {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    if (this.watchdog) clearInterval(this.watchdog);
    void this.informer.stop();
  }

  private scheduleRestart(): void {
    if (this.restartTimer || !this.listed) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      void this.restart();
    }, this.o.restartDelayMs ?? 1000);
  }

  private async restart(): Promise<void> {
    if (this.stopped) return;
    this.restarts++;
    this.lastActivityMs = this.clock.nowMs();
    await this.informer.stop();
    if (this.stopped) return;
    await this.informer.start();
  }
}

function isAbort(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as { name?: unknown; type?: unknown };
  return x.name === 'AbortError' || x.type === 'aborted';
}
