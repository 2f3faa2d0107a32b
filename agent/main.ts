/**
 * The agent's composition root: config and dependencies in, a running agent out.
 * Hubble events → Pipeline (classify, evaluate, aggregate) → Outbox → Reporter → control plane;
 * the Reporter's contract sets → ContractStore (compiled off the hot path) → Pipeline.
 *
 * Shutdown (`stop`): stop reading Hubble, close the current window, drain the outbox for at
 * most `drainTimeoutMs`, then close the stream. Windows still unacknowledged then are
 * reported in the result (and logged), never silently lost.
 */
import { randomUUID } from 'node:crypto';
import { Registry } from 'prom-client';
import { systemClock, type Clock, type Logger } from '../core/common/index.js';
import type { AgentConfig } from './config.js';
import { ContractStore } from './monitor/contract-store.js';
import { startHttpServer, type HttpServerHandle } from './http/server.js';
import { createAgentMetrics, type AgentMetrics } from './metrics.js';
import { Pipeline } from './monitor/pipeline.js';
import type { Classifier, HubbleEvent, HubbleStatus, PolicyEngine } from './monitor/ports.js';
import { sampleFlowJson } from './monitor/sample-flow.js';
import { sleep } from './hubble/backoff.js';
import { Outbox } from './report/outbox.js';
import { Reporter } from './report/reporter.js';

export const AGENT_VERSION = '0.1.0';

/** The Hubble side, opened once: a stream of events that reconnects by itself, and its status. */
export interface HubbleInput {
  readonly events: AsyncIterable<HubbleEvent>;
  readonly status: HubbleStatus;
}

export interface AgentDeps<S> {
  readonly openHubble: (signal: AbortSignal) => HubbleInput;
  readonly classifier: Classifier;
  readonly engine: PolicyEngine<S>;
  readonly logger: Logger;
  readonly clock?: Clock;
  readonly registry?: Registry;
  /** Reconnect backoff towards the control plane (tests shorten it). */
  readonly controlplaneBackoff?: { readonly initialMs: number; readonly maxMs: number };
}

/** What a graceful stop achieved, for the last log line. */
export interface StopReport {
  /** Windows closed since start (each exactly once in some report). */
  readonly windows: number;
  readonly flows: number;
  readonly connections: number;
  /** Windows still unacknowledged when the drain time ran out (0 after a full drain). */
  readonly unacknowledgedWindows: number;
  readonly outboxMerges: number;
  readonly resends: number;
}

export interface RunningAgent {
  readonly bootId: string;
  readonly metricsPort: number | null;
  readonly metrics: AgentMetrics;
  readonly outbox: Outbox;
  readonly pipeline: Pipeline<unknown>;
  /** Resolves when the Hubble stream ends by itself (it reconnects, so normally only on stop). */
  readonly done: Promise<void>;
  /** Graceful stop: flush, bounded drain, close. */
  stop(): Promise<StopReport>;
}

export async function startAgent<S>(config: AgentConfig, deps: AgentDeps<S>): Promise<RunningAgent> {
  const log = deps.logger.child({ node: config.node });
  const clock = deps.clock ?? systemClock;
  const bootId = randomUUID();
  const hubbleAbort = new AbortController();
  const reporterAbort = new AbortController();
  const store = new ContractStore<S>(deps.engine);
  const outbox = new Outbox({ capacity: Math.ceil(config.outboxMs / config.windowMs), topK: config.topK });
  // NOTE: Hubble is opened once the first contract set is installed. Until then there is
  // nothing to evaluate, and flows read earlier would be counted as connections that no
  // contract saw, so windows would not add up to what `rampart evaluate` says.
  let input: HubbleInput | null = null;
  const hubbleStatus = {
    get connected(): boolean {
      return input?.status.connected ?? false;
    },
    get reconnects(): number {
      return input?.status.reconnects ?? 0;
    },
    get malformed(): number {
      return input?.status.malformed ?? 0;
    },
    get oversized(): number {
      return input?.status.oversized ?? 0;
    },
  };
  const hubble = { status: hubbleStatus };
  let reporter: Reporter | null = null;
  // Every replica after the first (`--controlplane a,b,c`): an outbox and a reporter each.
  const standbys = (config.controlplaneTargets ?? [config.controlplaneTarget]).slice(1).map((target) => ({
    target,
    outbox: new Outbox({ capacity: Math.ceil(config.outboxMs / config.windowMs), topK: config.topK }),
    reporter: null as Reporter | null,
    done: Promise.resolve(),
  }));

  const metrics = createAgentMetrics(deps.registry ?? new Registry(), {
    hubbleConnected: () => hubble.status.connected,
    controlplaneConnected: () => reporter?.connected ?? false,
    outboxWindows: () => outbox.pendingWindows,
    outboxEntries: () => outbox.size,
    contractsActive: () => store.active?.contracts.length ?? 0,
    contractsGeneration: () => store.active?.generation ?? 0,
    outboxStats: () => outbox.stats,
  });

  const pipeline = new Pipeline<S>({
    node: config.node,
    bootId,
    windowMs: config.windowMs,
    topK: config.topK,
    classifier: deps.classifier,
    engine: deps.engine,
    contracts: store,
    hubble: hubble.status,
    clock,
    sampleOf: sampleFlowJson,
    logger: log,
    enrollSettleMs: config.enrollSettleMs ?? undefined,
    onWindow: (summary) => {
      metrics.recordWindow(summary);
      const mergesBefore = outbox.stats.merges;
      outbox.push(summary);
      // Standby replicas get every window too (each keeps its own sequence numbers and acks).
      for (const s of standbys) s.outbox.push(summary);
      if (outbox.stats.merges > mergesBefore) {
        log.warn('outbox full; merged the two oldest unsent windows', { entries: outbox.size, windows: outbox.pendingWindows, merges: outbox.stats.merges });
      }
    },
  });

  // Contract sets: compiled off the hot path; one that fails keeps the previous set.
  const contractLog = log.child({ component: 'contracts' });
  const offerContracts = (set: Parameters<typeof store.offer>[0], fresh: boolean): void => {
    store.offer(set, { fresh }).then(
      (r) => {
        if (!r.ok) {
          metrics.contractSetRejected();
          contractLog.error('contract set rejected; keeping the previous set', {
            generation: set.generation,
            kept: store.active?.generation ?? null,
            problems: r.error.map((p) => `${p.path}: ${p.message}`),
          });
          return;
        }
        const outcome = r.value;
        if (outcome.kind === 'installed') {
          metrics.contractSetInstalled();
          contractLog.info('contract set installed', {
            generation: outcome.generation,
            contracts: set.contracts.map((c) => ({ contract: c.name, revision: c.revision, stage: c.stageName })),
            baseline: set.baseline === undefined ? null : { revision: set.baseline.revision, policies: set.baseline.policies.length },
            compileMs: Math.round(outcome.compileMs * 10) / 10,
          });
        } else if (outcome.kind === 'stale') {
          contractLog.info('older contract set ignored', { generation: outcome.generation, current: outcome.current });
        }
      },
      (e: unknown) => {
        metrics.contractSetRejected();
        contractLog.error('contract set failed to compile; keeping the previous set', { generation: set.generation, err: e });
      },
    );
  };

  reporter = new Reporter({
    target: config.controlplaneTarget,
    tls: config.controlplaneTls,
    tokenFile: config.tokenFile,
    node: config.node,
    bootId,
    version: AGENT_VERSION,
    outbox,
    onContracts: offerContracts,
    onBadContracts: (problems) => {
      metrics.contractSetRejected();
      contractLog.error('contract set could not be decoded; keeping the previous set', { problems });
    },
    onConnectedChange: (up) => log.info(up ? 'control plane connected' : 'control plane disconnected', { target: config.controlplaneTarget }),
    logger: log.child({ component: 'reporter' }),
    backoff: deps.controlplaneBackoff ?? { initialMs: Math.min(1000, config.controlplaneMaxBackoffMs), maxMs: config.controlplaneMaxBackoffMs },
  });
  const reporterDone = reporter.run(reporterAbort.signal);
  for (const s of standbys) {
    s.reporter = new Reporter({
      target: s.target,
      tls: config.controlplaneTls,
      tokenFile: config.tokenFile,
      node: config.node,
      bootId,
      version: AGENT_VERSION,
      outbox: s.outbox,
      // Only the leader pushes sets; whichever replica leads, the newest generation wins.
      onContracts: offerContracts,
      onBadContracts: (problems) => {
        metrics.contractSetRejected();
        contractLog.error('contract set could not be decoded; keeping the previous set', { problems });
      },
      onConnectedChange: (up) => log.info(up ? 'control plane replica connected' : 'control plane replica disconnected', { target: s.target }),
      logger: log.child({ component: 'reporter', target: s.target }),
      backoff: deps.controlplaneBackoff ?? { initialMs: Math.min(1000, config.controlplaneMaxBackoffMs), maxMs: config.controlplaneMaxBackoffMs },
    });
    s.done = s.reporter.run(reporterAbort.signal);
  }

  let http: HttpServerHandle | null = null;
  if (config.metricsListen !== null) {
    http = await startHttpServer(config.metricsListen, metrics.registry, {
      notReady: () => [
        ...(hubble.status.connected ? [] : ['hubble not connected']),
        ...(store.active === null ? ['no contract set received'] : []),
      ],
    });
    log.info('http listening', { port: http.port });
  }

  pipeline.start();
  const firstSet = new Promise<void>((resolve) => {
    store.onInstalled(() => resolve());
  });
  if (store.active === null) log.info('waiting for the first contract set before reading Hubble');
  const done = Promise.race([firstSet, new Promise<void>((resolve) => hubbleAbort.signal.addEventListener('abort', () => resolve(), { once: true }))])
    .then(async () => {
      if (hubbleAbort.signal.aborted) return;
      input = deps.openHubble(hubbleAbort.signal);
      await pipeline.run(input.events, hubbleAbort.signal);
    })
    .catch((e: unknown) => {
      log.error('hubble stream failed', { err: e });
    });
  log.info('agent started', { bootId, hubble: config.hubbleTarget, controlplane: config.controlplaneTarget, windowMs: config.windowMs });

  let stopping: Promise<StopReport> | null = null;
  const stop = async (): Promise<StopReport> => {
    hubbleAbort.abort();
    pipeline.stop();
    // The current window closes now, whatever its length, so its evidence is not lost.
    pipeline.flush();
    const deadline = clock.nowMs() + config.drainTimeoutMs;
    while (outbox.size > 0 && clock.nowMs() < deadline) {
      await Promise.race([outbox.changed(), sleep(Math.min(100, deadline - clock.nowMs()), reporterAbort.signal)]);
    }
    const left = outbox.pendingWindows;
    if (left > 0) log.error('shutdown drain timed out; windows not acknowledged', { windows: left, entries: outbox.size });
    else log.info('outbox drained', { acked: outbox.stats.acked });
    // Standbys get the same bounded drain (the deadline above is shared).
    for (const sb of standbys) {
      while (sb.outbox.size > 0 && Date.now() < deadline) {
        await Promise.race([sb.outbox.changed(), sleep(Math.min(100, deadline - Date.now()), reporterAbort.signal)]);
      }
    }
    reporterAbort.abort();
    await reporterDone;
    await Promise.all(standbys.map((sb) => sb.done));
    reporter?.close();
    for (const sb of standbys) sb.reporter?.close();
    await http?.close();
    await Promise.race([done, sleep(1000, new AbortController().signal)]);
    const t = pipeline.totals;
    return { windows: t.windows, flows: t.flows, connections: t.connections, unacknowledgedWindows: left, outboxMerges: outbox.stats.merges, resends: outbox.stats.resends };
  };

  return {
    bootId,
    metricsPort: http?.port ?? null,
    metrics,
    outbox,
    pipeline: pipeline as Pipeline<unknown>,
    done,
    stop: () => (stopping ??= stop()),
  };
}
