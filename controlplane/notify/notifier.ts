/**
 * Posts each ramp transition to every `--notify` URL, off the decision path: `notify()` only
 * enqueues (O(1), never awaits), and each target has its own bounded queue and one sender, so
 * a receiver that hangs or fails delays nothing but its own later messages. A failed attempt
 * (network error, timeout, 408, 429, 5xx) is retried with exponential backoff and jitter up to
 * a bounded number of attempts; other 4xx answers are final. A full queue drops its oldest
 * message (the newest state matters most). Every outcome is counted in
 * rampart_controlplane_notifications_total{result}.
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../../core/common/index.js';
import { METRIC_PREFIX } from '../metrics/metrics.js';
import { messageFor, type NotifyMessage, type NotifyTarget, type TransitionNotice } from './message.js';

export const NOTIFY_RESULTS = ['delivered', 'retried', 'failed', 'dropped'] as const;
export type NotifyResult = (typeof NOTIFY_RESULTS)[number];

export interface NotifierOptions {
  readonly targets: readonly NotifyTarget[];
  readonly log: Logger;
  readonly registry: Registry;
  /** Messages waiting per target, at most (default 256). */
  readonly queueLimit?: number;
  /** Tries per message, the first included (default 5). */
  readonly attempts?: number;
  /** One try gives up after this long (default 5 s). */
  readonly timeoutMs?: number;
  /** Backoff before the second try; doubles each try (default 1 s), capped at maxBackoffMs (default 30 s). */
  readonly backoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Who is sending (User-Agent), e.g. the replica's pod name. */
  readonly userAgent?: string;
}

export const NOTIFIER_DEFAULTS = { queueLimit: 256, attempts: 5, timeoutMs: 5000, backoffMs: 1000, maxBackoffMs: 30_000 } as const;

interface Queued {
  readonly notice: TransitionNotice;
  readonly message: NotifyMessage;
}

/** A try's outcome: sent, worth another try, or final. */
type Attempt = { readonly kind: 'ok' } | { readonly kind: 'retry' | 'final'; readonly why: string };

const RETRYABLE_STATUS = (status: number): boolean => status === 408 || status === 429 || status >= 500;

type SenderSettings = Required<Omit<NotifierOptions, 'targets' | 'registry'>>;

class TargetSender {
  private readonly queue: Queued[] = [];
  private running = false;
  private readonly target: NotifyTarget;
  private readonly o: SenderSettings;
  private readonly count: (result: NotifyResult) => void;
  private readonly signal: AbortSignal;

  constructor(target: NotifyTarget, o: SenderSettings, count: (result: NotifyResult) => void, signal: AbortSignal) {
    this.target = target;
    this.o = o;
    this.count = count;
    this.signal = signal;
  }

  enqueue(notice: TransitionNotice): void {
    if (this.signal.aborted) return;
    if (this.queue.length >= this.o.queueLimit) {
      const dropped = this.queue.shift()!;
      this.count('dropped');
      this.o.log.warn('notification dropped: queue full', { target: this.target.label, contract: dropped.notice.contract, id: dropped.notice.id });
    }
    this.queue.push({ notice, message: messageFor(this.target.format, notice) });
    if (!this.running) {
      this.running = true;
      void this.pump();
    }
  }

  get pending(): number {
    return this.queue.length;
  }

  private async pump(): Promise<void> {
    try {
      for (let next = this.queue.shift(); next !== undefined && !this.signal.aborted; next = this.queue.shift()) await this.deliver(next);
    } finally {
      this.running = false;
    }
  }

  private async deliver(q: Queued): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.attempt(q.message);
      if (this.signal.aborted) return;
      if (result.kind === 'ok') {
        this.count('delivered');
        return;
      }
      if (result.kind === 'final' || attempt >= this.o.attempts) {
        this.count('failed');
        this.o.log.warn('notification failed', { target: this.target.label, contract: q.notice.contract, id: q.notice.id, attempts: attempt, why: result.why });
        return;
      }
      this.count('retried');
      const base = Math.min(this.o.maxBackoffMs, this.o.backoffMs * 2 ** (attempt - 1));
      // Jitter (50-100 % of the step) keeps replicas and targets from retrying in lockstep.
      await sleep(base * (0.5 + Math.random() / 2), this.signal);
      if (this.signal.aborted) return;
    }
  }

  private async attempt(m: NotifyMessage): Promise<Attempt> {
    const timeout = AbortSignal.timeout(this.o.timeoutMs);
    try {
      const res = await fetch(this.target.url, {
        method: 'POST',
        headers: { 'content-type': m.contentType, 'user-agent': this.o.userAgent },
        body: m.body,
        signal: AbortSignal.any([timeout, this.signal]),
        redirect: 'error',
      });
      // Drain the body so the connection can be reused; its content is not used.
      await res.arrayBuffer().catch(() => undefined);
      if (res.ok) return { kind: 'ok' };
      return { kind: RETRYABLE_STATUS(res.status) ? 'retry' : 'final', why: `HTTP ${res.status}` };
    } catch (e) {
      const why = timeout.aborted ? `no answer within ${this.o.timeoutMs}ms` : e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e);
      return { kind: 'retry', why };
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export class Notifier {
  private readonly senders: TargetSender[];
  private readonly controller = new AbortController();
  readonly sent: Counter;

  constructor(o: NotifierOptions) {
    this.sent = new Counter({
      name: `${METRIC_PREFIX}notifications_total`,
      help: 'Transition notifications by outcome: delivered, retried (a try failed, another follows), failed (gave up), dropped (queue full).',
      labelNames: ['result'],
      registers: [o.registry],
    });
    for (const r of NOTIFY_RESULTS) this.sent.inc({ result: r }, 0);
    const settings = {
      log: o.log.child({ component: 'notifier' }),
      queueLimit: o.queueLimit ?? NOTIFIER_DEFAULTS.queueLimit,
      attempts: o.attempts ?? NOTIFIER_DEFAULTS.attempts,
      timeoutMs: o.timeoutMs ?? NOTIFIER_DEFAULTS.timeoutMs,
      backoffMs: o.backoffMs ?? NOTIFIER_DEFAULTS.backoffMs,
      maxBackoffMs: o.maxBackoffMs ?? NOTIFIER_DEFAULTS.maxBackoffMs,
      userAgent: o.userAgent ?? 'rampart-controlplane',
    };
    this.senders = o.targets.map((t) => new TargetSender(t, settings, (result) => this.sent.inc({ result }), this.controller.signal));
  }

  /** Queues the transition for every target and returns at once. */
  notify(notice: TransitionNotice): void {
    for (const s of this.senders) s.enqueue(notice);
  }

  /** Messages waiting, over all targets (the one in flight excluded). */
  get pending(): number {
    return this.senders.reduce((n, s) => n + s.pending, 0);
  }

  /** Stops sending: tries in flight are aborted, queued messages are left unsent. */
  close(): void {
    this.controller.abort();
  }
}
