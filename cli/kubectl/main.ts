/**
 * `kubectl rampart <command>`: Rampart as a kubectl plugin (product.md "Operating Rampart the
 * Kubernetes way"). It talks to the API server only, with the kubeconfig kubectl uses:
 * contracts and their status are read from the RampContract objects, actions are annotations
 * the leading control plane acts on once (RBAC on the object decides who may), and `preview`
 * reaches the control plane through the API server's Service proxy. No port-forward.
 * Exit 0: done; 1: the cluster said no (not found, refused, timed out, preview would deny);
 * 2: bad arguments.
 */
import { readFileSync } from 'node:fs';
import { argv, exit, stderr, stdout } from 'node:process';
import { problem, type Problem } from '../../core/common/index.js';
import { OPERATOR_ACTIONS, type LastActionJson, type OperatorActionName } from '../../core/contract/index.js';
import { formatFlagProblems, parseFlags, readDuration, readOneOf } from '../../io/flags.js';
import { printPreview } from '../commands/preview.js';
import { Cluster, ClusterError, DEFAULT_SERVICE, kubectlKubeConfig, type ContractObject } from './cluster.js';
import { renderGet, renderHistory, renderStatus, watchKey, watchLine } from './render.js';

const USAGE = `usage: kubectl rampart <command> [flags]

commands:
  get [<name>]                 contracts: stage, phase, decision, Ready, evidence
  status <name>                one contract in full: decision reasons, evidence, conditions, last action
  history <name>               a contract's transitions, oldest first
  watch [<name>]               a line per change of stage, phase or decision (watches the objects)
  approve|pause|resume|rollback <name>
                               asks the leading control plane (annotation rampart.dev/action) and
                               waits for its answer in status.lastAction
  preview <contract.yaml>      which seen edges the contract would deny (through the Service proxy)

flags:
  --kubeconfig <file>          else KUBECONFIG, else ~/.kube/config, else in-cluster
  --context <name>             a context of the kubeconfig
  -o, --output table|json      get, status, history, preview
  --wait <dur>                 actions: how long to wait for the answer (default 30s; 0: do not wait)
  --timeout <dur>              watch: stop after this long (default: until interrupted)
  --service <ns/name:port>     preview: the control plane's Service (default ${DEFAULT_SERVICE.namespace}/${DEFAULT_SERVICE.name}:${DEFAULT_SERVICE.port})
`;

const FLAGS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  output: { type: 'string', short: 'o', default: 'table' },
  wait: { type: 'string', default: '30s' },
  timeout: { type: 'string' },
  service: { type: 'string' },
  since: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

const ACTION_POLL_MS = 250;

function fail(problems: readonly Problem[]): number {
  stderr.write(formatFlagProblems('kubectl rampart', problems, USAGE));
  return 2;
}

function oneName(rest: readonly string[], command: string): string | Problem {
  return rest.length === 1 ? rest[0]! : problem('(arguments)', `${command} takes exactly one contract name, got ${rest.length}`);
}

async function main(args: readonly string[]): Promise<number> {
  const { values, positionals, problems } = parseFlags(args, FLAGS, { positionals: true });
  if (problems.length > 0) return fail(problems);
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === 'help') {
    (command === undefined && !values.help ? stderr : stdout).write(USAGE);
    return command === undefined && !values.help ? 2 : 0;
  }
  const output = readOneOf(values.output, '-o', ['table', 'json']);
  if (!output.ok) return fail([output.error]);
  const known = ['get', 'status', 'history', 'watch', 'preview', ...OPERATOR_ACTIONS];
  if (!known.includes(command)) return fail([problem('(arguments)', `unknown command ${JSON.stringify(command)}`)]);
  const cluster = new Cluster(kubectlKubeConfig({ kubeconfig: values.kubeconfig, context: values.context }));
  const json = output.value === 'json';

  switch (command) {
    case 'get': {
      if (rest.length > 1) return fail([problem('(arguments)', `get takes at most one contract name, got ${rest.length}`)]);
      const items = rest.length === 1 ? [await cluster.get(rest[0]!)] : await cluster.list();
      stdout.write(json ? `${JSON.stringify(rest.length === 1 ? items[0] : { items }, null, 2)}\n` : renderGet(items));
      return 0;
    }
    case 'status':
    case 'history': {
      const name = oneName(rest, command);
      if (typeof name !== 'string') return fail([name]);
      const c = await cluster.get(name);
      if (json) stdout.write(`${JSON.stringify(command === 'status' ? (c.status ?? {}) : { items: (c.status as { history?: unknown[] } | undefined)?.history ?? [] }, null, 2)}\n`);
      else stdout.write(command === 'status' ? renderStatus(c) : renderHistory(c));
      return 0;
    }
    case 'watch':
      return watch(cluster, rest, values.timeout);
    case 'preview':
      return preview(cluster, rest, values.service, values.since, output.value);
    default:
      if ((OPERATOR_ACTIONS as readonly string[]).includes(command)) {
        const name = oneName(rest, command);
        if (typeof name !== 'string') return fail([name]);
        const wait = readDuration(values.wait, '--wait');
        if (!wait.ok) return fail([wait.error]);
        return act(cluster, name, command as OperatorActionName, wait.value);
      }
      return fail([problem('(arguments)', `unknown command ${JSON.stringify(command)}`)]);
  }
}

async function act(cluster: Cluster, name: string, action: OperatorActionName, waitMs: number): Promise<number> {
  const id = await cluster.requestAction(name, action);
  if (waitMs === 0) {
    stdout.write(`${action} of ${name} requested (action-id ${id})\n`);
    return 0;
  }
  const deadline = Date.now() + waitMs;
  for (;;) {
    const c = await cluster.get(name);
    const last = (c.status as { lastAction?: LastActionJson } | undefined)?.lastAction;
    if (last?.id === id) {
      const s = c.status as { stage?: { name?: string }; phase?: string };
      if (last.result === 'Refused') {
        stderr.write(`kubectl rampart: ${action} of ${name} refused: ${last.message ?? 'no reason given'}\n`);
        return 1;
      }
      stdout.write(`${action} of ${name} accepted (by ${last.actor}); now ${s.stage?.name ?? '?'}/${s.phase ?? '?'}\n`);
      return 0;
    }
    if (Date.now() >= deadline) {
      stderr.write(`kubectl rampart: ${action} of ${name} requested (action-id ${id}), but no control plane answered within ${waitMs / 1000}s; is one leading?\n`);
      return 1;
    }
    await new Promise((r) => setTimeout(r, ACTION_POLL_MS));
  }
}

async function watch(cluster: Cluster, rest: readonly string[], timeout: string | undefined): Promise<number> {
  if (rest.length > 1) return fail([problem('(arguments)', `watch takes at most one contract name, got ${rest.length}`)]);
  const only = rest[0];
  let timeoutMs: number | null = null;
  if (timeout !== undefined) {
    const d = readDuration(timeout, '--timeout', 1);
    if (!d.ok) return fail([d.error]);
    timeoutMs = d.value;
  }
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  process.once('SIGTERM', () => controller.abort());
  const timer = timeoutMs === null ? null : setTimeout(() => controller.abort(), timeoutMs);
  const seen = new Map<string, string>();
  await cluster.watch(controller.signal, (event, c: ContractObject) => {
    const name = c.metadata.name ?? '';
    if (only !== undefined && name !== only) return;
    const key = event === 'delete' ? 'deleted' : watchKey(c);
    if (seen.get(name) === key) return;
    seen.set(name, key);
    stdout.write(watchLine(event, c, new Date().toISOString()));
  });
  if (timer) clearTimeout(timer);
  return 0;
}

async function preview(cluster: Cluster, rest: readonly string[], service: string | undefined, since: string | undefined, format: 'table' | 'json'): Promise<number> {
  if (rest.length !== 1) return fail([problem('(arguments)', `preview takes one contract file, got ${rest.length}`)]);
  let ref = DEFAULT_SERVICE;
  if (service !== undefined) {
    const m = /^([a-z0-9-]+)\/([a-z0-9-]+):([a-z0-9-]+)$/.exec(service);
    if (!m) return fail([problem('--service', `expected <namespace>/<name>:<port>, got ${JSON.stringify(service)}`)]);
    ref = { namespace: m[1]!, name: m[2]!, port: m[3]! };
  }
  let text: string;
  try {
    text = readFileSync(rest[0]!, 'utf8');
  } catch (e) {
    stderr.write(`kubectl rampart: cannot read ${rest[0]}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  const res = await cluster.proxyPost(ref, `/api/v1/preview${since !== undefined ? `?since=${encodeURIComponent(since)}` : ''}`, 'application/yaml', text);
  if (res.status !== 200) {
    stderr.write(`kubectl rampart: preview of ${rest[0]}: HTTP ${res.status}: ${res.body.slice(0, 500)}\n`);
    return res.status === 400 ? 2 : 1;
  }
  return printPreview(JSON.parse(res.body) as unknown, format, 'kubectl rampart preview');
}

main(argv.slice(2)).then(
  (code) => {
    stdout.write('', () => exit(code));
  },
  (e: unknown) => {
    stderr.write(`kubectl rampart: ${e instanceof ClusterError ? e.message : e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    stdout.write('', () => exit(1));
  },
);
