/**
 * Control plane configuration (style.md 2.8): flags win over environment, environment over
 * defaults. `loadControlplaneConfig` is pure, collects every problem, and returns a frozen,
 * fully defaulted config with units in field names.
 */
import { err, ok, parseDurationMs, problem, type Problem, type Result } from '../core/common/index.js';
import { LOG_LEVELS, type LogLevel } from '../io/json-logger.js';

export interface ListenAddress {
  readonly host: string;
  readonly port: number;
}

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
  /** A grpc-js bind address: `host:port` or `unix:///path`. */
  readonly grpcListen: string;
  /** null: the gRPC port speaks plaintext (a warning is logged). */
  readonly grpcTls: GrpcTlsConfig | null;
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
}

/** Defaults in one table, next to the parser. */
export const CONTROLPLANE_DEFAULTS = {
  grpcListen: '0.0.0.0:9967',
  httpListen: '0.0.0.0:9968',
  reconcileInterval: '1s',
  contractRescan: '2s',
  expectedNodeTtl: '10m',
  logLevel: 'info',
} as const;

/** Flag → environment variable. Every flag can also be given as `--flag=value`. */
const OPTIONS = {
  contracts: 'CONTRACTS_DIR',
  state: 'STATE_DIR',
  'grpc-listen': 'GRPC_LISTEN',
  'grpc-tls-cert': 'GRPC_TLS_CERT_FILE',
  'grpc-tls-key': 'GRPC_TLS_KEY_FILE',
  'grpc-tls-client-ca': 'GRPC_TLS_CLIENT_CA_FILE',
  'http-listen': 'HTTP_LISTEN',
  'token-file': 'TOKEN_FILE',
  'reconcile-interval': 'RECONCILE_INTERVAL',
  'contract-rescan': 'CONTRACT_RESCAN',
  'expected-nodes': 'EXPECTED_NODES',
  'expected-node-ttl': 'EXPECTED_NODE_TTL',
  'static-dir': 'STATIC_DIR',
  'log-level': 'LOG_LEVEL',
} as const;
const BOOLEAN_FLAGS = { 'open-reads': 'OPEN_READS' } as const;

export const CONTROLPLANE_USAGE = `usage: rampart controlplane --contracts <dir> --state <dir> [--grpc-listen <addr>] [--http-listen <addr>]
                            [--token-file <file>] [--open-reads] [--reconcile-interval <dur>]
                            [--expected-nodes <a,b,…>] [--expected-node-ttl <dur>] [--contract-rescan <dur>]
                            [--grpc-tls-cert <file> --grpc-tls-key <file> [--grpc-tls-client-ca <file>]]
                            [--static-dir <dir>] [--log-level debug|info|warn|error]
defaults: --grpc-listen ${CONTROLPLANE_DEFAULTS.grpcListen} --http-listen ${CONTROLPLANE_DEFAULTS.httpListen} --reconcile-interval ${CONTROLPLANE_DEFAULTS.reconcileInterval}
          --expected-node-ttl ${CONTROLPLANE_DEFAULTS.expectedNodeTtl} (expected nodes: those seen within it, unless listed)
Without --token-file, authentication is off (a warning is logged).
`;

export function parseListen(text: string): Result<ListenAddress, string> {
  const m = /^(\[[^\]]+\]|[^:]*):(\d+)$/.exec(text.trim());
  if (!m) return err(`expected host:port or :port, got ${JSON.stringify(text)}`);
  const port = Number(m[2]);
  if (port > 65535) return err(`port must be at most 65535, got ${port}`);
  const host = m[1] === '' ? '0.0.0.0' : m[1]!.replace(/^\[|\]$/g, '');
  return ok({ host, port });
}

/** Parses flags (and the environment as a fallback) into a config, or every problem found. */
export function loadControlplaneConfig(args: readonly string[], env: Readonly<Record<string, string | undefined>>): Result<ControlplaneConfig, Problem[]> {
  const problems: Problem[] = [];
  const flags = new Map<string, string>();
  const booleans = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      problems.push(problem(arg, 'unexpected argument'));
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
    if (name === 'kubernetes') {
      problems.push(problem('--kubernetes', 'the Kubernetes contract source is not available in this build; use --contracts <dir> --state <dir>'));
      continue;
    }
    if (name in BOOLEAN_FLAGS) {
      const v = eq >= 0 ? arg.slice(eq + 1) : 'true';
      if (v === 'true' || v === '1') booleans.add(name);
      else if (v !== 'false' && v !== '0') problems.push(problem(`--${name}`, `expected true or false, got ${JSON.stringify(v)}`));
      continue;
    }
    if (!(name in OPTIONS)) {
      problems.push(problem(`--${name}`, 'unknown flag'));
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) {
      problems.push(problem(`--${name}`, 'expected a value'));
      continue;
    }
    flags.set(name, value);
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

  const contractsDir = required('contracts', 'the folder of RampContract files');
  const stateDir = required('state', 'the folder for the history log');
  const grpcListen = (read('grpc-listen')?.value ?? CONTROLPLANE_DEFAULTS.grpcListen).trim();
  if (!grpcListen.startsWith('unix:')) {
    const g = parseListen(grpcListen);
    if (!g.ok) problems.push(problem(read('grpc-listen')?.where ?? '--grpc-listen', g.error));
  }
  const tlsCert = read('grpc-tls-cert');
  const tlsKey = read('grpc-tls-key');
  const tlsClientCa = read('grpc-tls-client-ca');
  if (!tlsCert !== !tlsKey) problems.push(problem(tlsCert ? (tlsKey?.where ?? '--grpc-tls-key') : '--grpc-tls-cert', 'the server certificate and key go together'));
  if (tlsClientCa && !tlsCert) problems.push(problem(tlsClientCa.where, 'client certificates need server TLS: set --grpc-tls-cert and --grpc-tls-key'));
  const grpcTls: GrpcTlsConfig | null = tlsCert && tlsKey ? { certFile: tlsCert.value, keyFile: tlsKey.value, clientCaFile: tlsClientCa?.value ?? null } : null;
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
  const openReads = booleans.has('open-reads') || openEnv === 'true' || openEnv === '1';

  const config: ControlplaneConfig = {
    contractsDir,
    stateDir,
    grpcListen: grpcListen.startsWith(':') ? `0.0.0.0${grpcListen}` : grpcListen,
    grpcTls,
    httpListen: http.ok ? http.value : { host: '0.0.0.0', port: 0 },
    tokenFile: tokenFile === '' ? null : tokenFile,
    openReads,
    reconcileIntervalMs: duration('reconcile-interval', CONTROLPLANE_DEFAULTS.reconcileInterval, 10),
    contractRescanMs: duration('contract-rescan', CONTROLPLANE_DEFAULTS.contractRescan, 10),
    expectedNodes,
    expectedNodeTtlMs: duration('expected-node-ttl', CONTROLPLANE_DEFAULTS.expectedNodeTtl, 1000),
    staticDir: read('static-dir')?.value ?? null,
    logLevel,
  };
  return problems.length > 0 ? err(problems) : ok(Object.freeze(config));
}
