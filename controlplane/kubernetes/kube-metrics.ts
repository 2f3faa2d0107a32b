/**
 * Kubernetes mode's metrics, on the control plane's registry: whether this replica leads
 * (alert when no replica reports 1), status writes by outcome, and how often the contract
 * watch had to be restarted or relisted. Read from the parts at scrape time.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import { METRIC_PREFIX } from '../metrics/metrics.js';
import type { WatchStats } from '../../io/kube/list-watch.js';
import type { StatusWriterStats } from '../contracts/status-writer.js';

export interface KubeMetricSources {
  readonly isLeader: () => boolean;
  readonly status: () => StatusWriterStats | null;
  readonly watch: () => WatchStats;
}

export function registerKubeMetrics(registry: Registry, s: KubeMetricSources): void {
  const p = METRIC_PREFIX;
  const registers = [registry];
  new Gauge({
    name: `${p}leader`,
    help: 'Whether this replica holds the rampart-controlplane Lease and renewed it in time (1) or stands by (0).',
    registers,
    collect() {
      this.set(s.isLeader() ? 1 : 0);
    },
  });
  new Counter({
    name: `${p}status_writes_total`,
    help: 'RampContract status subresource writes by this replica, by result (ok, conflict: a 409 retried, failed).',
    labelNames: ['result'],
    registers,
    collect() {
      const st = s.status();
      this.reset();
      this.inc({ result: 'ok' }, st?.writes ?? 0);
      this.inc({ result: 'conflict' }, st?.conflicts ?? 0);
      this.inc({ result: 'failed' }, st?.failures ?? 0);
    },
  });
  new Counter({
    name: `${p}contract_watch_restarts_total`,
    help: 'Restarts of the RampContract watch, by reason (gone: 410, relisted; stalled: the watchdog; error).',
    labelNames: ['reason'],
    registers,
    collect() {
      const w = s.watch();
      this.reset();
      this.inc({ reason: 'gone' }, w.gone);
      this.inc({ reason: 'stalled' }, w.stalls);
      this.inc({ reason: 'error' }, w.errors);
    },
  });
}
