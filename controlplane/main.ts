/**
 * The control plane's composition root (style.md 2.2): config → dependencies → start.
 * Only this file knows the concrete pieces; `startControlplane` returns a handle whose
 * `close()` stops everything (the CLI calls it on SIGTERM/SIGINT; tests call it directly).
 */
import { readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Registry } from 'prom-client';
import { systemClock, type Clock, type Logger } from '../core/common/index.js';
import type { Actuator } from './actuation/actuator.js';
import { LocalActuator } from './actuation/local-actuator.js';
import { OPEN_AUTHORIZER, TokenFileAuthorizer, type Authorizer } from './access/authorizer.js';
import type { ControlplaneConfig } from './config/config.js';
import { contractJson, edgeJson, historyItemJson } from './http/api-json.js';
import { MapApi } from './http/map-api.js';
import { ControlplaneHttpServer } from './http/server.js';
import { CollectorService } from './ingest/collector-service.js';
import { EvidenceStore } from './ingest/evidence-store.js';
import type { StreamMessage } from '../io/api-types.js';
import { StreamHub } from './live/stream-hub.js';
import { ControlplaneMetrics } from './metrics/metrics.js';
import type { KubernetesMode } from './kubernetes/kubernetes-mode.js';
import { followStatuses } from './kubernetes/standby-evidence.js';
import type { ContractSource } from './contracts/contract-source.js';
import { MapMetrics } from './map/map-metrics.js';
import { noticeOf } from './notify/notice-of.js';
import { TlsSecret } from './access/tls-secret.js';
import { Notifier } from './notify/notifier.js';
import { MapService } from './map/map-service.js';
import type { WebhookHandle } from './admission/webhook.js';
import type { BaselineSource } from './baseline/baseline-source.js';
import { EMPTY_BASELINE_SOURCE, FileBaselineSource } from './baseline/file-baseline-source.js';
import { FileContractSource } from './contracts/file-contract-source.js';
import { Reconciler } from './rollout/reconciler.js';
import { EMPTY_INVENTORY_SOURCE, loadInventoryFiles, type InventorySource } from './sufficiency/inventory-source.js';
import { KubernetesInventorySource } from './sufficiency/kube-inventory-source.js';
import { SufficiencyService } from './sufficiency/sufficiency-service.js';
import { Journal } from './state/journal.js';
import { loadKnownNodes, saveKnownNodes } from './state/known-nodes.js';

/** The Service agents dial (deploy/controlplane/service.yaml): its names go into a managed gRPC certificate. */
export const CONTROLPLANE_SERVICE = 'rampart-controlplane';

/** How often the live stream sends per-contract rates. */
export const RATES_INTERVAL_MS = 1000;
/** How often the set of recently seen nodes is checked and, if changed, saved. */
export const KNOWN_NODES_SAVE_MS = 1000;
export const KNOWN_NODES_REFRESH_MS = 30_000;

export const DEFAULT_STATIC_DIR = path.join(
  path.dirname(fileURLToPath(import.meta.url)).replace(/[\\/]dist[\\/]controlplane$/, `${path.sep}controlplane`),
  'http',
  'static',
);

export interface ControlplaneHandle {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** The admission webhook's port, or null without --webhook-listen. */
  readonly webhookPort: number | null;
  /** How long each admission review took (ms, most recent last, bounded). */
  readonly webhookLatenciesMs: readonly number[];
  readonly map: MapService;
  readonly reconciler: Reconciler;
  /** A LocalActuator in file mode; in Kubernetes mode the status-first Kubernetes actuator. */
  readonly actuator: Actuator;
  /** Kubernetes mode's parts (leader election, status writer); null in file mode. */
  readonly kubernetes: KubernetesMode | null;
  readonly registry: Registry;
  close(): Promise<void>;
}

export interface ControlplaneDeps {
  readonly log: Logger;
  readonly clock?: Clock;
  readonly registry?: Registry;
  /** Kubernetes mode lost leadership: the caller should exit (default: log it and stay unready). */
  readonly onFatal?: (reason: string) => void;
}

export async function startControlplane(config: ControlplaneConfig, deps: ControlplaneDeps): Promise<ControlplaneHandle> {
  const log = deps.log.child({ component: 'controlplane' });
  const clock = deps.clock ?? systemClock;
  const registry = deps.registry ?? new Registry();
  const metrics = new ControlplaneMetrics(registry);
  const kube =
    config.kubernetes === null
      ? null
      : // NOTE: loaded only in Kubernetes mode (and the webhook only when asked for): the
        // Kubernetes client's modules alone are ~20 MiB of heap a file-mode control plane never uses.
        await (await import('./kubernetes/kubernetes-mode.js')).KubernetesMode.start({
          config,
          log,
          clock,
          onFatal:
            deps.onFatal ??
            ((reason) => {
              log.error('kubernetes mode stopped', { reason });
            }),
        });
  const tokenFile = config.tokenFile === null ? null : new TokenFileAuthorizer(config.tokenFile);
  // Kubernetes mode: TokenReview (+ SubjectAccessReview for API users) beside the token file.
  const authorizer: Authorizer = kube ? kube.authorizer(tokenFile) : (tokenFile ?? OPEN_AUTHORIZER);
  if (!authorizer.enabled) log.warn('authentication disabled: no --token-file; agents and API clients are not checked');

  kube?.registerMetrics(registry);
  const stateDir = kube?.stateDir ?? config.stateDir;
  const journal = new Journal(stateDir);
  const loaded = journal.open();
  if (loaded.badLines.length > 0) metrics.journalBadLines.inc(loaded.badLines.length);
  log.info('history loaded', { entries: loaded.entries, truncatedBytes: loaded.truncatedBytes, badLines: loaded.badLines.slice(0, 10) });

  const controller = new AbortController();
  let source: ContractSource;
  if (kube) source = kube.source;
  else {
    source = new FileContractSource({
      dir: config.contractsDir,
      rescanMs: config.contractRescanMs,
      onWatchError: (e) => {
        log.warn('contract folder watch failed; periodic rescan continues', { err: e });
      },
    });
    await source.start(controller.signal);
  }
  for (const e of source.snapshot()) if (e.problems.length > 0) log.warn('contract invalid', { contract: e.name, origin: e.origin, problems: e.problems });
  source.onChange(() => {
    for (const e of source.snapshot()) if (e.problems.length > 0) log.warn('contract invalid', { contract: e.name, origin: e.origin, problems: e.problems });
  });

  // The baseline (policies already in force): file mode's --baseline plugs in here; without one it
  // is empty. Kubernetes mode watches every NetworkPolicy in the cluster.
  const baseline: BaselineSource = kube
    ? kube.baseline
    : config.baselineDir === null
      ? EMPTY_BASELINE_SOURCE
      : new FileBaselineSource({
          dir: config.baselineDir,
          rescanMs: config.contractRescanMs,
          onWatchError: (e) => {
            log.warn('baseline folder watch failed; periodic rescan continues', { err: e });
          },
          onProblems: (problems) => {
            log.warn('baseline policies left out', { problems: problems.slice(0, 20), count: problems.length });
          },
        });
  await baseline.start(controller.signal);
  baseline.onChange(() => {
    const s = baseline.snapshot();
    log.info('baseline changed', { revision: s.revision, policies: s.policies.length });
  });
  if (kube || config.baselineDir !== null) log.info('baseline loaded', { dir: kube ? 'kubernetes' : config.baselineDir, revision: baseline.snapshot().revision, policies: baseline.snapshot().policies.length });
  // Kubernetes mode without --state: the map lives in the scratch folder (the root filesystem is read-only).
  const trafficMap = new MapService({ stateDir: config.stateDir !== '' ? config.stateDir : stateDir, retentionMs: config.mapRetentionMs, maxEdges: config.mapMaxEdges, saveIntervalMs: config.mapSaveIntervalMs, baseline, clock, log: log.child({ component: 'map' }) });
  trafficMap.start();
  const mapMetrics = new MapMetrics(registry, trafficMap.map, () => trafficMap.saves());
  // What the cluster runs (CronJobs, workloads): the API server, or --workloads files, for the sufficiency gates.
  let inventory: InventorySource = EMPTY_INVENTORY_SOURCE;
  if (kube) {
    const kubeInventory = new KubernetesInventorySource({ kc: kube.target.kc, log: log.child({ component: 'inventory' }) });
    await kubeInventory.start(controller.signal);
    inventory = kubeInventory;
  } else if (config.workloads !== null) {
    const loaded = await loadInventoryFiles(config.workloads);
    if (loaded.problems.length > 0) log.warn('workloads left out', { problems: loaded.problems.slice(0, 20), count: loaded.problems.length });
    inventory = loaded.source;
    log.info('workloads loaded', { from: config.workloads, workloads: inventory.snapshot().workloads.length, cronJobs: inventory.snapshot().cronJobs.length });
  }
  const sufficiency = new SufficiencyService({ map: trafficMap, inventory });

  const store = new EvidenceStore();
  const known = loadKnownNodes(stateDir);
  for (const [node, lastSeenMs] of known) store.seedNode(node, lastSeenMs);
  let knownKey = [...known.keys()].sort().join(',');
  let knownSavedAtMs = clock.nowMs();
  // Persist the recent nodes when the set changes, and now and then to refresh last-seen times
  // (they only need the precision of the TTL).
  const saveNodes = setInterval(() => {
    const nowMs = clock.nowMs();
    const recent = store.recentNodes(nowMs, config.expectedNodeTtlMs);
    const key = [...recent.keys()].sort().join(',');
    if (key === knownKey && nowMs - knownSavedAtMs < KNOWN_NODES_REFRESH_MS) return;
    try {
      saveKnownNodes(stateDir, recent);
      knownKey = key;
      knownSavedAtMs = nowMs;
    } catch (e) {
      log.warn('saving known nodes failed', { err: e instanceof Error ? e : { message: String(e) } });
    }
  }, KNOWN_NODES_SAVE_MS);
  const actuator: Actuator = kube?.actuator ?? new LocalActuator();
  const reconciler = new Reconciler({
    source,
    baseline,
    journal,
    store,
    actuator,
    clock,
    log: log.child({ component: 'reconciler' }),
    metrics,
    intervalMs: config.reconcileIntervalMs,
    configuredNodes: config.expectedNodes,
    expectedNodeTtlMs: config.expectedNodeTtlMs,
    // Agents ignore a set older than the one they hold; a restarted control plane must not
    // start below what it pushed before, so generations start at the wall clock in ms.
    initialGeneration: clock.nowMs(),
    sufficiency,
  });
  const hub = new StreamHub<StreamMessage>(metrics);
  const collector = new CollectorService({
    store,
    clock,
    log: log.child({ component: 'collector' }),
    metrics,
    authorizer,
    // Every replica ingests every report (hot standby); only the leader tells agents what to evaluate.
    contractSet: () => (kube !== null && !kube.isLeader() ? null : reconciler.currentContractSet()),
    onEvidence: () => {
      reconciler.nudge();
    },
    onAccepted: (summary, nowMs) => {
      trafficMap.ingest(summary, nowMs);
    },
    onNewEdges: (edges) => {
      for (const e of edges) {
        hub.broadcast({ type: 'edge', at: new Date(clock.nowMs()).toISOString(), contract: e.contract, revision: e.revision, stageIndex: e.stageIndex, edge: edgeJson(e.edge, e.kind) });
      }
    },
  });
  // Each transition to every --notify URL: enqueued only, never awaited (a dead receiver
  // delays no decision). In Kubernetes mode only the leader makes transitions, so one
  // replica notifies; the User-Agent names it.
  const notifier = new Notifier({
    targets: config.notify,
    registry,
    log,
    userAgent: `rampart-controlplane/${kube?.elector.identity ?? os.hostname()}`,
  });
  reconciler.subscribe({
    transition: (entry) => {
      hub.broadcast({ type: 'transition', contract: entry.contract, ...historyItemJson(entry) });
      notifier.notify(noticeOf(entry));
    },
    contractSet: (set) => {
      collector.broadcast(set);
      log.info('contract set changed', { generation: set.generation, contracts: set.contracts.map((c) => `${c.name}@${c.revision}:${c.stageName}`) });
    },
  });
  // Hot standby: until it leads, this replica opens the stages the leader's statuses name, so it keeps their evidence.
  if (kube) followStatuses({ source: kube.source, store, isLeader: () => kube.isLeader(), intervalMs: config.reconcileIntervalMs, log: log.child({ component: 'standby' }) }, controller.signal);
  // The first pass applies every contract's stage (the actuator is in memory) before agents connect.
  // Kubernetes mode: only the elected leader reconciles (it starts the reconciler when it wins).
  if (kube) kube.campaign(reconciler, journal);
  else reconciler.start(controller.signal);

  // Read now: a missing or unreadable file fails the start with its name, not the first agent.
  let tls = config.grpcTls
    ? { certPem: readFileSync(config.grpcTls.certFile), keyPem: readFileSync(config.grpcTls.keyFile), clientCaPem: config.grpcTls.clientCaFile === null ? null : readFileSync(config.grpcTls.clientCaFile) }
    : null;
  if (kube && config.grpcTlsSecret !== null) {
    // Kubernetes mode without cert-manager: a certificate this control plane keeps in a Secret.
    const secret = new TlsSecret({
      kc: kube.target.kc,
      namespace: kube.target.namespace,
      name: config.grpcTlsSecret,
      service: CONTROLPLANE_SERVICE,
      clock,
      log: log.child({ component: 'grpc-tls' }),
      ...(config.kubernetes?.tuning.tlsCheckMs !== undefined ? { checkIntervalMs: config.kubernetes.tuning.tlsCheckMs } : {}),
    });
    const material = await secret.ensure();
    tls = { certPem: Buffer.from(material.certPem), keyPem: Buffer.from(material.keyPem), clientCaPem: null };
    secret.watch(controller.signal, (reason) => (deps.onFatal ?? ((r: string) => log.error('restart needed', { reason: r })))(reason));
  }
  if (tls === null) log.warn('agent gRPC port without TLS: no --grpc-tls-cert/--grpc-tls-key or --grpc-tls-secret; reports and tokens cross the network in plaintext');
  const grpcPort = await collector.listen(config.grpcListen, tls);
  const staticDir = path.resolve(config.staticDir ?? DEFAULT_STATIC_DIR);
  let ready = false;
  const http = new ControlplaneHttpServer({
    reconciler,
    journal,
    store,
    hub,
    registry,
    authorizer,
    openReads: config.openReads,
    baseline,
    staticDir,
    log: log.child({ component: 'http' }),
    ready: () => ready && (kube?.ready() ?? true),
    mapApi: new MapApi({ map: trafficMap, clock, contract: (name) => reconciler.get(name)?.contract ?? null }),
    ...(kube ? { persistAction: (name: string) => kube.persistStatus(name) } : {}),
    streamHello: () => ({
      type: 'snapshot',
      at: new Date(clock.nowMs()).toISOString(),
      contracts: reconciler.list().map((v) => contractJson(v, journal.history(v.name))),
    }),
  });
  const address = await http.listen(config.httpListen.host, config.httpListen.port);
  const webhook: WebhookHandle | null = config.webhook === null ? null : await (await import('./admission/webhook.js')).startWebhook({
          ...config.webhook,
          kubeconfig: config.kubeconfig,
          map: trafficMap,
          log: log.child({ component: 'admission' }),
          observe: (seconds, result) => {
            mapMetrics.admissionSeconds.observe({ result }, seconds);
          },
        });
  const rates = setInterval(() => {
    if (hub.size() === 0) return;
    const nowMs = clock.nowMs();
    hub.broadcast({
      type: 'rates',
      at: new Date(nowMs).toISOString(),
      contracts: reconciler.list().map((v) => ({
        name: v.name,
        revision: v.state?.revision ?? 0,
        stage: { index: v.state?.stageIndex ?? 0, name: v.contract?.spec.stages[v.state?.stageIndex ?? 0]?.name ?? '' },
        phase: v.state?.phase ?? null,
        decision: v.decision.kind,
        ...store.rates(v.name, nowMs),
        wouldDenyRatio: v.evidence.flows > 0 ? v.evidence.deny / v.evidence.flows : null,
      })),
    });
  }, RATES_INTERVAL_MS);
  ready = true;
  log.info('listening', {
    grpc: `${config.grpcListen.replace(/:\d+$/, '')}:${grpcPort}`,
    grpcPort,
    grpcTls: tls === null ? 'off' : tls.clientCaPem === null ? 'server' : 'mutual',
    http: `${address.address}:${address.port}`,
    httpPort: address.port,
    staticDir,
    ...(webhook === null ? {} : { webhookPort: webhook.port }),
  });

  let closing: Promise<void> | null = null;
  return {
    grpcPort,
    httpPort: address.port,
    webhookPort: webhook?.port ?? null,
    webhookLatenciesMs: webhook?.latenciesMs ?? [],
    map: trafficMap,
    reconciler,
    actuator,
    kubernetes: kube,
    registry,
    close(): Promise<void> {
      closing ??= (async () => {
        ready = false;
        clearInterval(rates);
        clearInterval(saveNodes);
        notifier.close();
        controller.abort();
        await Promise.all([collector.close(), http.close(), webhook?.close()]);
        trafficMap.close();
        journal.close();
        // Last: it releases the Lease and removes the scratch folder the map and journal used.
        await kube?.close();
        log.info('stopped');
      })();
      return closing;
    },
  };
}
