/**
 * Agent configuration (style.md 2.8): flags win over environment, environment over defaults.
 * `loadAgentConfig` is pure, collects every problem, and returns a frozen, fully defaulted
 * config with units in field names.
 */
import { err, ok, parseDurationMs, problem, type Problem, type Result } from '../core/common/index.js';
import { DEFAULT_TOP_K } from '../core/summary/index.js';
import { parseFlags } from '../io/flags.js';
import type { AgentTlsConfig } from './report/credentials.js';
import { parseDnsTarget, type DnsTarget } from './report/discovery.js';

export interface AgentConfig {
  /**
   * How long an enrolled pod may lack the enrollment label in its identity before it counts
   * as missing; null: the pipeline's default (Cilium's identity grace period, 5 s, plus margin).
   * Environment only (RAMPART_ENROLL_SETTLE_MS): tests and the fast demo shorten it.
   */
  readonly enrollSettleMs: number | null;
  readonly node: string;
  /** `unix:///path` or `host:port`. */
  readonly hubbleTarget: string;
  readonly hubbleTls: AgentTlsConfig | null;
  /**
   * Flows of Hubble's history to read on the first connection (GetFlows `number`), 0 for only
   * new flows. Replays and tests use it to read a whole capture; in a cluster keep 0, since
   * a restarted agent would otherwise report flows its previous run already reported.
   */
  readonly hubbleHistory: number;
  readonly controlplaneTarget: string;
  /**
   * Every control-plane replica to report to, the first being `controlplaneTarget`
   * (`--controlplane a:9967,b:9967`): each replica gets every window, so a standby is hot.
   */
  readonly controlplaneTargets: readonly string[];
  /**
   * `--controlplane dns:///<headless Service>:<port>`: every A/AAAA address of the name is a
   * replica, resolved every `controlplaneResolveIntervalMs` (report/discovery.ts); null for a list.
   */
  readonly controlplaneDiscovery: DnsTarget | null;
  readonly controlplaneResolveIntervalMs: number;
  readonly controlplaneTls: AgentTlsConfig | null;
  /** File holding the bearer token; re-read on every (re)connect because projected tokens rotate. */
  readonly tokenFile: string | null;
  readonly windowMs: number;
  /** How much reporting the outbox holds before it merges its oldest windows. */
  readonly outboxMs: number;
  /** Bounded time to drain the outbox on SIGTERM. */
  readonly drainTimeoutMs: number;
  /** Cap of the reconnect backoff towards the control plane (starts at 1 s, ×1.6). */
  readonly controlplaneMaxBackoffMs: number;
  /** `host:port`, or null for no HTTP server. */
  readonly metricsListen: string | null;
  readonly topK: number;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
}

/** Defaults in one table, next to the parser. */
export const AGENT_DEFAULTS = {
  hubbleTarget: 'unix:///var/run/cilium/hubble.sock',
  windowMs: 10_000,
  outboxMs: 600_000,
  drainTimeoutMs: 10_000,
  controlplaneMaxBackoffMs: 30_000,
  controlplaneResolveIntervalMs: 10_000,
  metricsListen: ':9966',
  topK: DEFAULT_TOP_K,
  logLevel: 'info',
} as const;

/** Flag → environment variable. Every flag can also be given as `--flag=value`. */
const OPTIONS = {
  hubble: 'HUBBLE_ADDR',
  'hubble-tls-ca': 'HUBBLE_TLS_CA_FILE',
  'hubble-tls-cert': 'HUBBLE_TLS_CERT_FILE',
  'hubble-tls-key': 'HUBBLE_TLS_KEY_FILE',
  'hubble-tls-server-name': 'HUBBLE_TLS_SERVER_NAME',
  'hubble-history': 'HUBBLE_HISTORY',
  controlplane: 'CONTROLPLANE_ADDR',
  'controlplane-tls-ca': 'CONTROLPLANE_TLS_CA_FILE',
  'controlplane-tls-cert': 'CONTROLPLANE_TLS_CERT_FILE',
  'controlplane-tls-key': 'CONTROLPLANE_TLS_KEY_FILE',
  'controlplane-tls-server-name': 'CONTROLPLANE_TLS_SERVER_NAME',
  node: 'NODE_NAME',
  window: 'WINDOW',
  'outbox-duration': 'OUTBOX_DURATION',
  'drain-timeout': 'DRAIN_TIMEOUT',
  'controlplane-max-backoff': 'CONTROLPLANE_MAX_BACKOFF',
  'controlplane-resolve-interval': 'CONTROLPLANE_RESOLVE_INTERVAL',
  'metrics-listen': 'METRICS_LISTEN',
  'token-file': 'TOKEN_FILE',
  'top-k': 'TOP_K',
  'log-level': 'LOG_LEVEL',
} as const;

type OptionName = keyof typeof OPTIONS;

export const AGENT_USAGE = `usage: rampart agent --hubble <addr> --controlplane <addr> --node <name> [--window <dur>]
                     [--metrics-listen <addr>] [--token-file <file>]

flags (environment):
${Object.entries(OPTIONS)
  .map(([flag, env]) => `  --${flag.padEnd(30)} ${env}`)
  .join('\n')}

addresses are host:port or unix:///path; durations are Go-style (500ms, 10s, 10m).
--controlplane takes every replica, comma-separated (a:9967,b:9967), or a headless Service as
  dns:///<name>:<port> (dns://<dns server ip>[:port]/<name>:<port> asks that server): every
  A/AAAA address is a replica, re-resolved every --controlplane-resolve-interval (default 10s).
--metrics-listen "" (or "off") disables the HTTP server.
`;

/** Every flag is a string (`--flag value` or `--flag=value`); parsed by the shared io/flags. */
const FLAG_SPECS = Object.fromEntries(Object.keys(OPTIONS).map((name) => [name, { type: 'string' } as const])) as Record<OptionName, { readonly type: 'string' }>;

const TARGET = /^(unix:\/\/\/.+|unix:[^/].*|(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5})$/;

function checkTarget(where: string, value: string, problems: Problem[]): void {
  if (!TARGET.test(value)) {
    problems.push(problem(where, `expected host:port or unix:///path, got ${JSON.stringify(value)}`));
    return;
  }
  const port = /:(\d+)$/.exec(value);
  if (!value.startsWith('unix:') && port && (Number(port[1]) < 1 || Number(port[1]) > 65535)) {
    problems.push(problem(where, `port must be between 1 and 65535, got ${port[1]}`));
  }
}

/** Reads flags first, then the environment; `where` names the source for problems. */
export function loadAgentConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Result<AgentConfig, Problem[]> {
  const problems: Problem[] = [];
  const parsed = parseFlags(argv, FLAG_SPECS);
  problems.push(...parsed.problems);
  const flags: Partial<Record<OptionName, string>> = parsed.values;
  const read = (name: OptionName): { value: string; where: string } | null => {
    const flag = flags[name];
    if (flag !== undefined) return { value: flag, where: `--${name}` };
    const fromEnv = env[OPTIONS[name]];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, where: OPTIONS[name] };
    return null;
  };
  const required = (name: OptionName, what: string): string => {
    const v = read(name);
    if (v === null || v.value.trim() === '') {
      problems.push(problem(`--${name}`, `is required (${what}; or set ${OPTIONS[name]})`));
      return '';
    }
    return v.value.trim();
  };
  const duration = (name: OptionName, fallback: number, minMs: number): number => {
    const v = read(name);
    if (v === null) return fallback;
    const parsed = parseDurationMs(v.value.trim());
    if (!parsed.ok) {
      problems.push(problem(v.where, parsed.error));
      return fallback;
    }
    if (parsed.value < minMs) {
      problems.push(problem(v.where, `must be at least ${minMs}ms, got ${v.value}`));
      return fallback;
    }
    return parsed.value;
  };
  const tls = (prefix: 'hubble' | 'controlplane'): AgentTlsConfig | null => {
    const ca = read(`${prefix}-tls-ca`);
    const cert = read(`${prefix}-tls-cert`);
    const key = read(`${prefix}-tls-key`);
    const serverName = read(`${prefix}-tls-server-name`);
    if (!ca && !cert && !key && !serverName) return null;
    if (!ca) problems.push(problem(`--${prefix}-tls-ca`, 'is required when any other TLS option is set'));
    if (!cert !== !key) problems.push(problem(`--${prefix}-tls-${cert ? 'key' : 'cert'}`, 'client certificate and key go together'));
    return {
      caFile: ca?.value ?? '',
      certFile: cert?.value ?? null,
      keyFile: key?.value ?? null,
      serverName: serverName?.value ?? null,
    };
  };

  const node = required('node', 'the node this agent runs on, from the downward API');
  if (node !== '' && !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(node)) {
    problems.push(problem(read('node')!.where, `expected a Kubernetes node name (lower-case DNS subdomain), got ${JSON.stringify(node)}`));
  }
  const hubble = read('hubble');
  const hubbleTarget = hubble?.value.trim() ?? AGENT_DEFAULTS.hubbleTarget;
  if (hubble) checkTarget(hubble.where, hubbleTarget, problems);
  const controlplaneList = required('controlplane', 'the control plane collector address, host:port (comma-separated for every replica, or dns:///<headless Service>:<port>)');
  const controlplaneTargets = controlplaneList.split(',').map((t) => t.trim()).filter((t) => t !== '');
  let controlplaneDiscovery: DnsTarget | null = null;
  const dnsTarget = controlplaneTargets.length === 1 ? parseDnsTarget(controlplaneTargets[0]!) : null;
  if (dnsTarget !== null) {
    if (dnsTarget.ok) controlplaneDiscovery = dnsTarget.value;
    else problems.push(problem(read('controlplane')!.where, dnsTarget.error));
  } else {
    for (const t of controlplaneTargets) {
      if (t.startsWith('dns:')) problems.push(problem(read('controlplane')!.where, `a dns: address names every replica on its own, not in a list: ${JSON.stringify(t)}`));
      else checkTarget(read('controlplane')!.where, t, problems);
    }
  }
  if (new Set(controlplaneTargets).size !== controlplaneTargets.length) problems.push(problem(read('controlplane')!.where, 'a control plane address is listed twice'));
  const controlplaneTarget = controlplaneTargets[0] ?? '';
  const controlplaneResolveIntervalMs = duration('controlplane-resolve-interval', AGENT_DEFAULTS.controlplaneResolveIntervalMs, 100);

  const windowMs = duration('window', AGENT_DEFAULTS.windowMs, 100);
  const outboxMs = duration('outbox-duration', AGENT_DEFAULTS.outboxMs, 0);
  if (outboxMs < windowMs) {
    const where = read('outbox-duration')?.where ?? '--outbox-duration';
    problems.push(problem(where, `must hold at least one window (${windowMs}ms), got ${outboxMs}ms`));
  }
  const drainTimeoutMs = duration('drain-timeout', AGENT_DEFAULTS.drainTimeoutMs, 0);
  const controlplaneMaxBackoffMs = duration('controlplane-max-backoff', AGENT_DEFAULTS.controlplaneMaxBackoffMs, 100);

  const metrics = read('metrics-listen');
  let metricsListen: string | null = metrics?.value.trim() ?? AGENT_DEFAULTS.metricsListen;
  if (metrics && (metricsListen === '' || metricsListen === 'off')) metricsListen = null;
  else if (!/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):\d{1,5}$/.test(metricsListen) || Number(metricsListen.split(':').pop()) > 65535) {
    problems.push(problem(metrics?.where ?? '--metrics-listen', `expected [host]:port, got ${JSON.stringify(metricsListen)}`));
  }

  let topK: number = AGENT_DEFAULTS.topK;
  const topKRaw = read('top-k');
  if (topKRaw) {
    const n = Number(topKRaw.value);
    if (!Number.isInteger(n) || n < 1 || n > 10_000) problems.push(problem(topKRaw.where, `expected an integer between 1 and 10000, got ${JSON.stringify(topKRaw.value)}`));
    else topK = n;
  }
  const levelRaw = read('log-level');
  const levels = ['debug', 'info', 'warn', 'error'] as const;
  const logLevel = levels.find((l) => l === levelRaw?.value) ?? AGENT_DEFAULTS.logLevel;
  if (levelRaw && !levels.some((l) => l === levelRaw.value)) {
    problems.push(problem(levelRaw.where, `expected one of ${levels.join(', ')}, got ${JSON.stringify(levelRaw.value)}`));
  }
  const token = read('token-file');
  if (token && token.value.trim() === '') problems.push(problem(token.where, 'must name a file'));

  const hubbleTls = tls('hubble');
  // Hubble's port 4244 is secured with mutual TLS: a client certificate is not optional there.
  if (hubbleTls && (!hubbleTls.certFile || !hubbleTls.keyFile) && read('hubble-tls-cert') === null && read('hubble-tls-key') === null) {
    problems.push(problem('--hubble-tls-cert', 'Hubble TLS is mutual: give --hubble-tls-cert and --hubble-tls-key'));
  }
  let hubbleHistory = 0;
  const historyRaw = read('hubble-history');
  if (historyRaw) {
    const n = Number(historyRaw.value);
    if (!Number.isInteger(n) || n < 0) problems.push(problem(historyRaw.where, `expected a non-negative integer, got ${JSON.stringify(historyRaw.value)}`));
    else hubbleHistory = n;
  }
  const controlplaneTls = tls('controlplane');
  const settle = Number(env['RAMPART_ENROLL_SETTLE_MS'] ?? '');
  const enrollSettleMs = Number.isFinite(settle) && settle > 0 ? settle : null;
  if (problems.length > 0) return err(problems);
  return ok(
    Object.freeze({
      node,
      hubbleTarget,
      hubbleTls,
      hubbleHistory,
      controlplaneTarget,
      controlplaneTargets,
      controlplaneDiscovery,
      controlplaneResolveIntervalMs,
      controlplaneTls,
      tokenFile: token?.value.trim() ?? null,
      windowMs,
      outboxMs,
      drainTimeoutMs,
      controlplaneMaxBackoffMs,
      metricsListen,
      topK,
      logLevel,
      enrollSettleMs,
    }),
  );
}
