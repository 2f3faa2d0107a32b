/**
 * Control plane configuration (style.md 2.8): flags win over environment, environment over
 * defaults. `loadControlplaneConfig` is pure, collects every problem, and returns a frozen,
 * fully defaulted config with units in field names.
 */
import { err, ok, parseDurationMs, problem, type Problem, type Result } from '../../core/common/index.js';
import { parseFlags } from '../../io/flags.js';
import { parseListen, type ListenAddress } from '../../io/listen-address.js';
import { LOG_LEVELS, type LogLevel } from '../../io/json-logger.js';
import { parseNotifyTarget, type NotifyTarget } from '../notify/message.js';


/** TLS for the agents' gRPC port: a key pair, and a CA when client certificates are required. */
export interface GrpcTlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
  /** Agents must present a certificate this CA signed; null: server TLS only. */
  readonly clientCaFile: string | null;
}

export interface ControlplaneConfig {
  readonly contractsDir: string;
  readonly stateDir: string;
  /** The folder of NetworkPolicies already in force (the baseline); null: none. */
  readonly baselineDir: string | null;
  /** File mode: manifests of the cluster's workloads and CronJobs (schedules, coverage); null: none. */
  readonly workloads: string | null;
  /** A grpc-js bind address: `host:port` or `unix:///path`. */
  readonly grpcListen: string;
  /** null: the gRPC port speaks plaintext (a warning is logged). */
  readonly grpcTls: GrpcTlsConfig | null;
  /** Kubernetes mode: serve the gRPC port with the certificate in this Secret, created and renewed by the control plane (`--grpc-tls-secret`). */
  readonly grpcTlsSecret: string | null;
  readonly httpListen: ListenAddress;
  readonly tokenFile: string | null;
  /** Reads (GET and the stream) without a token. Mutations always need it. */
  readonly openReads: boolean;
  readonly reconcileIntervalMs: number;
  readonly contractRescanMs: number;
  /** The nodes expected to report; empty: the nodes seen within expectedNodeTtlMs. */
  readonly expectedNodes: readonly string[];
  readonly expectedNodeTtlMs: number;
  /** The dashboard's files; null: the controlplane/http/static folder of this checkout. */
  readonly staticDir: string | null;
  readonly logLevel: LogLevel;
  /** How long the traffic map keeps edges (`--map-retention`, default 7 d). */
  readonly mapRetentionMs: number;
  /** At most this many edges in the traffic map (`--map-max-edges`). */
  readonly mapMaxEdges: number;
  /**
   * How often a changed traffic map is written to its file (`--map-save-interval`, default 5 s):
   * a kill -9 loses at most this much of the map; SIGTERM always writes it.
   */
  readonly mapSaveIntervalMs: number;
  /** The admission webhook (HTTPS), or null when `--webhook-listen` is not given. */
  readonly webhook: { readonly listen: ListenAddress; readonly tlsCertFile: string; readonly tlsKeyFile: string } | null;
  /** A kubeconfig the webhook reads Namespace labels with (else KUBECONFIG, else in-cluster, else the map's identities). */
  readonly kubeconfig: string | null;
  /** Kubernetes mode (--kubernetes): contracts, status, Lease and auth through the API server; null in file mode. */
  readonly kubernetes: KubernetesModeConfig | null;
  /** Where each transition is posted (`--notify`, repeatable; else NOTIFY_URLS, space-separated). */
  readonly notify: readonly NotifyTarget[];
}

export interface KubernetesModeConfig {
  /** --kubeconfig, else KUBECONFIG, else null (in-cluster config). */
  readonly kubeconfig: string | null;
  /** --namespace; null: the pod's namespace (service-account file), else rampart-system. */
  readonly namespace: string | null;
  /** Timings tests and benchmarks shorten (environment only; never needed in production). */
  readonly tuning: KubernetesTuning;
}

/** RAMPART_* timings of Kubernetes mode, read here only (docs/environment.md); undefined: the component's default. */
export interface KubernetesTuning {
  readonly watchTimeoutSeconds: number | undefined;
  readonly watchdogMs: number | undefined;
  /** The Lease holder identity; undefined: hostname, pid and a random suffix. */
  readonly leaderIdentity: string | undefined;
  readonly leaseDurationMs: number | undefined;
  readonly leaseRenewDeadlineMs: number | undefined;
  readonly leaseRenewPeriodMs: number | undefined;
  readonly leaseRetryPeriodMs: number | undefined;
  readonly actuatorResyncMs: number | undefined;
  readonly statusIntervalMs: number | undefined;
  /** How often a --grpc-tls-secret certificate is checked for renewal (default 1 h). */
  readonly tlsCheckMs: number | undefined;
}

/** A positive number from the environment, else undefined (a tuning knob falls back to its default). */
function envPositive(env: Readonly<Record<string, string | undefined>>, name: string): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isFinite(n) && n > 0 ? n : undefined;
}

export function kubernetesTuningOf(env: Readonly<Record<string, string | undefined>>): KubernetesTuning {
  const leader = env['RAMPART_LEADER_IDENTITY'];
  return {
    watchTimeoutSeconds: envPositive(env, 'RAMPART_WATCH_TIMEOUT_SECONDS'),
    watchdogMs: envPositive(env, 'RAMPART_WATCH_WATCHDOG_MS'),
    leaderIdentity: leader === undefined || leader === '' ? undefined : leader,
    leaseDurationMs: envPositive(env, 'RAMPART_LEASE_DURATION_MS'),
    leaseRenewDeadlineMs: envPositive(env, 'RAMPART_LEASE_RENEW_DEADLINE_MS'),
    leaseRenewPeriodMs: envPositive(env, 'RAMPART_LEASE_RENEW_PERIOD_MS'),
    leaseRetryPeriodMs: envPositive(env, 'RAMPART_LEASE_RETRY_PERIOD_MS'),
    actuatorResyncMs: envPositive(env, 'RAMPART_ACTUATOR_RESYNC_MS'),
    statusIntervalMs: envPositive(env, 'RAMPART_STATUS_INTERVAL_MS'),
    tlsCheckMs: envPositive(env, 'RAMPART_TLS_CHECK_MS'),
  };
}

/** Defaults in one table, next to the parser. */
export const CONTROLPLANE_DEFAULTS = {
  grpcListen: '0.0.0.0:9967',
  httpListen: '0.0.0.0:9968',
  reconcileInterval: '1s',
  contractRescan: '2s',
  expectedNodeTtl: '10m',
  logLevel: 'info',
  mapRetention: '168h',
  mapMaxEdges: 20_000,
  mapSaveInterval: '5s',
} as const;

/** Flag → environment variable. Every flag can also be given as `--flag=value`. */
const OPTIONS = {
  contracts: 'CONTRACTS_DIR',
  state: 'STATE_DIR',
  baseline: 'BASELINE_DIR',
  workloads: 'WORKLOADS',
  'grpc-listen': 'GRPC_LISTEN',
  'grpc-tls-cert': 'GRPC_TLS_CERT_FILE',
  'grpc-tls-key': 'GRPC_TLS_KEY_FILE',
  'grpc-tls-client-ca': 'GRPC_TLS_CLIENT_CA_FILE',
  'grpc-tls-secret': 'GRPC_TLS_SECRET',
  'http-listen': 'HTTP_LISTEN',
  'token-file': 'TOKEN_FILE',
  'reconcile-interval': 'RECONCILE_INTERVAL',
  'contract-rescan': 'CONTRACT_RESCAN',
  'expected-nodes': 'EXPECTED_NODES',
  'expected-node-ttl': 'EXPECTED_NODE_TTL',
  'static-dir': 'STATIC_DIR',
  'log-level': 'LOG_LEVEL',
  'map-retention': 'MAP_RETENTION',
  'map-max-edges': 'MAP_MAX_EDGES',
  'map-save-interval': 'MAP_SAVE_INTERVAL',
  'webhook-listen': 'WEBHOOK_LISTEN',
  'tls-cert': 'TLS_CERT',
  'tls-key': 'TLS_KEY',
  kubeconfig: 'KUBECONFIG',
  namespace: 'RAMPART_NAMESPACE',
} as const;
const BOOLEAN_FLAGS = { 'open-reads': 'OPEN_READS', kubernetes: 'RAMPART_KUBERNETES' } as const;
/** Parsed by the shared io/flags: the OPTIONS take a value, BOOLEAN_FLAGS also read `=true|false`. */
const FLAG_SPECS = {
  ...(Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: 'string' }])) as Record<keyof typeof OPTIONS, { readonly type: 'string' }>),
  ...(Object.fromEntries(Object.keys(BOOLEAN_FLAGS).map((name) => [name, { type: 'boolean' }])) as Record<keyof typeof BOOLEAN_FLAGS, { readonly type: 'boolean' }>),
  notify: { type: 'string', multiple: true },
} as const;
/** The environment's fallback for `--notify` (URLs separated by spaces). */
const NOTIFY_ENV = 'NOTIFY_URLS';

export const CONTROLPLANE_USAGE = `usage: rampart controlplane [--contracts <dir> --state <dir> [--baseline <dir>] [--workloads <file|dir>] | --kubernetes [--kubeconfig <file>] [--namespace <ns>]]
                            [--grpc-listen <addr>] [--http-listen <addr>]
                            [--token-file <file>] [--open-reads] [--reconcile-interval <dur>]
                            [--expected-nodes <a,b,…>] [--expected-node-ttl <dur>] [--contract-rescan <dur>]
                            [--grpc-tls-cert <file> --grpc-tls-key <file> [--grpc-tls-client-ca <file>] | --grpc-tls-secret <name>]
                            [--static-dir <dir>] [--log-level debug|info|warn|error]
                            [--map-retention <dur>] [--map-max-edges <n>] [--map-save-interval <dur>]
                            [--webhook-listen <addr> --tls-cert <file> --tls-key <file>] [--kubeconfig <file>]
                            [--notify <url>]...
defaults: --grpc-listen ${CONTROLPLANE_DEFAULTS.grpcListen} --http-listen ${CONTROLPLANE_DEFAULTS.httpListen} --reconcile-interval ${CONTROLPLANE_DEFAULTS.reconcileInterval}
          --expected-node-ttl ${CONTROLPLANE_DEFAULTS.expectedNodeTtl} (expected nodes: those seen within it, unless listed)
          --map-retention ${CONTROLPLANE_DEFAULTS.mapRetention} --map-max-edges ${CONTROLPLANE_DEFAULTS.mapMaxEdges} --map-save-interval ${CONTROLPLANE_DEFAULTS.mapSaveInterval}
Without --token-file, authentication is off (a warning is logged).
--baseline: NetworkPolicies already in force; each contract is judged against those it did not write.
--workloads: the cluster's CronJobs and workloads as manifests or \`kubectl get -o json\` Lists: a monitor
          stage waits for the CronJobs that matter to a contract (Kubernetes mode reads them from the API).
--kubernetes: RampContract objects, status, Events and a Lease through the API server (kubeconfig:
          --kubeconfig, else KUBECONFIG, else in-cluster); --namespace (default: the pod's, else
          rampart-system) holds the Lease (Events about a contract go to \`default\`); agents and API users are checked by TokenReview.
--notify: POST each ramp transition there (repeatable): CloudEvents JSON, or Slack text for a
          hooks.slack.com URL or one written slack+https://…; retried with backoff, never delaying a decision.
`;

/** Parses flags (and the environment as a fallback) into a config, or every problem found. */
export function loadControlplaneConfig(args: readonly string[], env: Readonly<Record<string, string | undefined>>): Result<ControlplaneConfig, Problem[]> {
  const problems: Problem[] = [];
  const parsed = parseFlags(args, FLAG_SPECS);
  problems.push(...parsed.problems);
  const flags = new Map<string, string>();
  /** Boolean flags given as true; `explicitlyFalse` those given as `--flag=false`. */
  const booleans = new Set<string>();
  const explicitlyFalse = new Set<string>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (typeof value === 'string') flags.set(name, value);
    else if (value === true) booleans.add(name);
    else if (value === false) explicitlyFalse.add(name);
  }
  const read = (name: keyof typeof OPTIONS): { value: string; where: string } | null => {
    const f = flags.get(name);
    if (f !== undefined) return { value: f, where: `--${name}` };
    const e = env[OPTIONS[name]];
    return e !== undefined && e !== '' ? { value: e, where: OPTIONS[name] } : null;
  };
  const required = (name: keyof typeof OPTIONS, what: string): string => {
    const v = read(name);
    if (v === null || v.value.trim() === '') {
      problems.push(problem(`--${name}`, `required: ${what}`));
      return '';
    }
    return v.value;
  };
  const duration = (name: keyof typeof OPTIONS, fallback: string, minMs: number): number => {
    const v = read(name) ?? { value: fallback, where: `--${name}` };
    const d = parseDurationMs(v.value);
    if (!d.ok) {
      problems.push(problem(v.where, d.error));
      return 0;
    }
    if (d.value < minMs) problems.push(problem(v.where, `must be at least ${minMs}ms, got ${v.value}`));
    return d.value;
  };

  const kubeEnv = env[BOOLEAN_FLAGS.kubernetes];
  // A flag wins over the environment, `--kubernetes=false` included.
  const kubernetesMode = booleans.has('kubernetes') || (!explicitlyFalse.has('kubernetes') && (kubeEnv === 'true' || kubeEnv === '1'));
  if (kubernetesMode && flags.has('contracts')) problems.push(problem('--contracts', 'not with --kubernetes: contracts are RampContract objects'));
  // Kubernetes mode keeps its state in contract status; --state only moves the scratch folder.
  const contractsDir = kubernetesMode ? '' : required('contracts', 'the folder of RampContract files');
  const stateDir = kubernetesMode ? (read('state')?.value ?? '') : required('state', 'the folder for the history log');
  const baselineDir = read('baseline')?.value.trim() ?? '';
  const workloads = read('workloads')?.value.trim() ?? '';
  if (kubernetesMode && workloads !== '') problems.push(problem('--workloads', 'not with --kubernetes: CronJobs and Pods are read from the API server'));
  const namespace = read('namespace')?.value.trim() ?? null;
  if (namespace !== null && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace)) problems.push(problem('--namespace', `expected a namespace name (DNS label), got ${JSON.stringify(namespace)}`));
  const grpcListen = (read('grpc-listen')?.value ?? CONTROLPLANE_DEFAULTS.grpcListen).trim();
  if (!grpcListen.startsWith('unix:')) {
    const g = parseListen(grpcListen);
    if (!g.ok) problems.push(problem(read('grpc-listen')?.where ?? '--grpc-listen', g.error));
  }
  const grpcCert = read('grpc-tls-cert');
  const grpcKey = read('grpc-tls-key');
  const grpcClientCa = read('grpc-tls-client-ca');
  if (!grpcCert !== !grpcKey) problems.push(problem(grpcCert ? (grpcKey?.where ?? '--grpc-tls-key') : '--grpc-tls-cert', 'the server certificate and key go together'));
  if (grpcClientCa && !grpcCert) problems.push(problem(grpcClientCa.where, 'client certificates need server TLS: set --grpc-tls-cert and --grpc-tls-key'));
  const grpcTls: GrpcTlsConfig | null = grpcCert && grpcKey ? { certFile: grpcCert.value, keyFile: grpcKey.value, clientCaFile: grpcClientCa?.value ?? null } : null;
  const grpcTlsSecret = read('grpc-tls-secret');
  if (grpcTlsSecret && !kubernetesMode) problems.push(problem(grpcTlsSecret.where, 'only with --kubernetes: the certificate is kept in a Secret'));
  if (grpcTlsSecret && grpcCert) problems.push(problem(grpcTlsSecret.where, 'either a Secret the control plane manages or --grpc-tls-cert/--grpc-tls-key files, not both'));
  if (grpcTlsSecret && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(grpcTlsSecret.value)) problems.push(problem(grpcTlsSecret.where, `expected a Secret name, got ${JSON.stringify(grpcTlsSecret.value)}`));
  const httpText = read('http-listen');
  const http = parseListen(httpText?.value ?? CONTROLPLANE_DEFAULTS.httpListen);
  if (!http.ok) problems.push(problem(httpText?.where ?? '--http-listen', http.error));
  const tokenFile = read('token-file')?.value ?? null;
  const expectedNodes = (read('expected-nodes')?.value ?? '')
    .split(',')
    .map((n) => n.trim())
    .filter((n) => n !== '');
  const level = read('log-level');
  const logLevel = (level?.value ?? CONTROLPLANE_DEFAULTS.logLevel) as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) problems.push(problem(level?.where ?? '--log-level', `expected one of ${LOG_LEVELS.join(', ')}, got ${JSON.stringify(logLevel)}`));
  const openEnv = env[BOOLEAN_FLAGS['open-reads']];
  // A flag wins over the environment, `--open-reads=false` included.
  const openReads = booleans.has('open-reads') || (!explicitlyFalse.has('open-reads') && (openEnv === 'true' || openEnv === '1'));

  const maxEdgesText = read('map-max-edges');
  const mapMaxEdges = maxEdgesText === null ? CONTROLPLANE_DEFAULTS.mapMaxEdges : Number(maxEdgesText.value);
  if (!Number.isInteger(mapMaxEdges) || mapMaxEdges < 1 || mapMaxEdges > 1_000_000) problems.push(problem(maxEdgesText?.where ?? '--map-max-edges', `expected an integer from 1 to 1000000, got ${JSON.stringify(maxEdgesText?.value)}`));
  let webhook: ControlplaneConfig['webhook'] = null;
  const webhookText = read('webhook-listen');
  const tlsCert = read('tls-cert');
  const tlsKey = read('tls-key');
  if (webhookText !== null) {
    const w = parseListen(webhookText.value);
    if (!w.ok) problems.push(problem(webhookText.where, w.error));
    if (tlsCert === null) problems.push(problem('--tls-cert', 'required with --webhook-listen: the API server calls webhooks over HTTPS only'));
    if (tlsKey === null) problems.push(problem('--tls-key', 'required with --webhook-listen'));
    if (w.ok && tlsCert !== null && tlsKey !== null) webhook = { listen: w.value, tlsCertFile: tlsCert.value, tlsKeyFile: tlsKey.value };
  } else if (tlsCert !== null || tlsKey !== null) {
    problems.push(problem(tlsCert?.where ?? tlsKey?.where ?? '--tls-cert', 'only with --webhook-listen'));
  }

  const notifyTexts = parsed.values.notify ?? (env[NOTIFY_ENV] ?? '').split(/\s+/).filter((u) => u !== '');
  const notify: NotifyTarget[] = [];
  for (const text of notifyTexts) {
    const t = parseNotifyTarget(text);
    if (t.ok) notify.push(t.value);
    else problems.push(problem(parsed.values.notify ? '--notify' : NOTIFY_ENV, t.error));
  }

  const config: ControlplaneConfig = {
    contractsDir,
    stateDir,
    baselineDir: baselineDir === '' ? null : baselineDir,
    workloads: workloads === '' ? null : workloads,
    grpcListen: grpcListen.startsWith(':') ? `0.0.0.0${grpcListen}` : grpcListen,
    grpcTls,
    grpcTlsSecret: grpcTlsSecret?.value ?? null,
    httpListen: http.ok ? http.value : { host: '0.0.0.0', port: 0 },
    tokenFile: tokenFile === '' ? null : tokenFile,
    openReads,
    reconcileIntervalMs: duration('reconcile-interval', CONTROLPLANE_DEFAULTS.reconcileInterval, 10),
    contractRescanMs: duration('contract-rescan', CONTROLPLANE_DEFAULTS.contractRescan, 10),
    expectedNodes,
    expectedNodeTtlMs: duration('expected-node-ttl', CONTROLPLANE_DEFAULTS.expectedNodeTtl, 1000),
    staticDir: read('static-dir')?.value ?? null,
    logLevel,
    mapRetentionMs: duration('map-retention', CONTROLPLANE_DEFAULTS.mapRetention, 60_000),
    mapSaveIntervalMs: duration('map-save-interval', CONTROLPLANE_DEFAULTS.mapSaveInterval, 100),
    mapMaxEdges: Number.isInteger(mapMaxEdges) && mapMaxEdges >= 1 ? mapMaxEdges : CONTROLPLANE_DEFAULTS.mapMaxEdges,
    webhook,
    kubeconfig: read('kubeconfig')?.value ?? null,
    kubernetes: kubernetesMode ? { kubeconfig: read('kubeconfig')?.value ?? null, namespace, tuning: kubernetesTuningOf(env) } : null,
    notify,
  };
  return problems.length > 0 ? err(problems) : ok(Object.freeze(config));
}
