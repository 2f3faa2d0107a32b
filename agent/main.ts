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
import { discoverReplicas } from './report/discovery.js';
import { ReplicaFanout } from './report/fanout.js';
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
  /** The control-plane replicas, each with its outbox and stream. */
  readonly replicas: ReplicaFanout;
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
  // Set below, once the contract handlers exist; windows close only after the pipeline starts.
  let replicas: ReplicaFanout | null = null;

  const metrics = createAgentMetrics(deps.registry ?? new Registry(), {
    hubbleConnected: () => hubble.status.connected,
    controlplaneConnected: () => replicas?.connected ?? false,
    outboxWindows: () => replicas?.pendingWindows ?? 0,
    outboxEntries: () => replicas?.pendingEntries ?? 0,
    contractsActive: () => store.active?.contracts.length ?? 0,
    contractsGeneration: () => store.active?.generation ?? 0,
    outboxStats: () => replicas?.outboxStats() ?? { merges: 0, acked: 0, rejected: 0, resends: 0 },
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
      if (replicas === null) return;
      const mergesBefore = replicas.outboxStats().merges;
      // Every replica gets every window (each keeps its own sequence numbers and acks).
      replicas.push(summary);
      const merges = replicas.outboxStats().merges;
      if (merges > mergesBefore) {
        log.warn('outbox full; merged the two oldest unsent windows', { entries: replicas.pendingEntries, windows: replicas.pendingWindows, merges });
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

  const onBadContracts = (problems: string): void => {
    metrics.contractSetRejected();
    contractLog.error('contract set could not be decoded; keeping the previous set', { problems });
  };
  const backoff = deps.controlplaneBackoff ?? { initialMs: Math.min(1000, config.controlplaneMaxBackoffMs), maxMs: config.controlplaneMaxBackoffMs };
  const discovery = config.controlplaneDiscovery;
  // TLS to a replica reached by its address checks the certificate against the Service's name
  // unless --controlplane-tls-server-name says otherwise.
  const tls = config.controlplaneTls !== null && discovery !== null && config.controlplaneTls.serverName === null ? { ...config.controlplaneTls, serverName: discovery.host } : config.controlplaneTls;
  const fanout = new ReplicaFanout({
    newOutbox: () => new Outbox({ capacity: Math.ceil(config.outboxMs / config.windowMs), topK: config.topK }),
    newReporter: (target, outbox) =>
      new Reporter({
        target,
        tls,
        tokenFile: config.tokenFile,
        node: config.node,
        bootId,
        version: AGENT_VERSION,
        outbox,
        // Only the leader pushes sets; whichever replica leads, the newest generation wins.
        onContracts: offerContracts,
        onBadContracts,
        onConnectedChange: (up) => log.info(up ? 'control plane connected' : 'control plane disconnected', { target }),
        logger: log.child({ component: 'reporter', target }),
        backoff,
      }),
    log: log.child({ component: 'replicas' }),
  });
  replicas = fanout;
  // Every replica (`--controlplane a,b,c`), or every address of a headless Service (`dns:///…`).
  let discovering = Promise.resolve();
  if (discovery === null) fanout.setTargets(config.controlplaneTargets);
  else discovering = discoverReplicas(discovery, config.controlplaneResolveIntervalMs, reporterAbort.signal, (targets) => fanout.setTargets(targets), log.child({ component: 'discovery' }));

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
  log.info('agent started', { bootId, hubble: config.hubbleTarget, controlplane: discovery === null ? (config.controlplaneTargets ?? [config.controlplaneTarget]) : config.controlplaneTarget, windowMs: config.windowMs });

  let stopping: Promise<StopReport> | null = null;
  const stop = async (): Promise<StopReport> => {
    hubbleAbort.abort();
    // The stream hands on what it read before the abort (a batch of up to MAX_BATCH events):
    // let the pipeline take it before the last window closes, or those flows would be counted
    // in the totals and sent in no window. Bounded: a stuck source does not hold the stop.
    await Promise.race([done, sleep(1000, new AbortController().signal)]);
    pipeline.stop();
    // The current window closes now, whatever its length, so its evidence is not lost.
    pipeline.flush();
    // One bounded drain for every replica (the deadline is shared).
    await fanout.drain(clock.nowMs() + config.drainTimeoutMs, () => clock.nowMs());
    const left = fanout.pendingWindows;
    if (left > 0) log.error('shutdown drain timed out; windows not acknowledged', { windows: left, entries: fanout.pendingEntries });
    else log.info('outbox drained', { acked: fanout.outboxStats().acked });
    reporterAbort.abort();
    await discovering;
    await fanout.close();
    await http?.close();
    await Promise.race([done, sleep(1000, new AbortController().signal)]);
    const t = pipeline.totals;
    const stats = fanout.outboxStats();
    return { windows: t.windows, flows: t.flows, connections: t.connections, unacknowledgedWindows: left, outboxMerges: stats.merges, resends: stats.resends };
  };

  return {
    bootId,
    metricsPort: http?.port ?? null,
    metrics,
    replicas: fanout,
    pipeline: pipeline as Pipeline<unknown>,
    done,
    stop: () => (stopping ??= stop()),
  };
}
