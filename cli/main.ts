/**
 * `rampart <command> [flags]`: the single entry point. Each command lives in its own module
 * under cli/commands/ and is loaded only when called, so `rampart evaluate` never pays for
 * gRPC or Kubernetes client start-up.
 */
import { readFileSync } from 'node:fs';
import { argv, exit, stderr, stdout } from 'node:process';

interface CommandModule {
  run(args: readonly string[]): Promise<number>;
}

const COMMANDS: Readonly<Record<string, { readonly summary: string; readonly load: () => Promise<CommandModule> }>> = {
  evaluate: { summary: 'verdicts of proposed policies for recorded Hubble flows', load: () => import('./commands/evaluate.js') },
  replay: { summary: 'a Hubble Observer server over a capture', load: () => import('./commands/replay.js') },
  observe: { summary: 'read flows from a Hubble server', load: () => import('./commands/observe.js') },
  agent: { summary: 'the node agent (DaemonSet)', load: () => import('./commands/agent.js') },
  controlplane: { summary: 'the control plane', load: () => import('./commands/controlplane.js') },
  simulate: { summary: 'a simulated cluster with one Hubble server per node', load: () => import('./commands/simulate.js') },
  demo: { summary: 'everything on one machine with a simulated cluster', load: () => import('./commands/demo.js') },
  watch: { summary: 'a live terminal view of the deny-rate stream', load: () => import('./commands/watch.js') },
  status: { summary: 'contracts as the control plane sees them', load: () => import('./commands/status.js') },
  history: { summary: "a contract's transitions", load: () => import('./commands/history.js') },
  map: { summary: 'the traffic map the control plane has seen, optionally judged against a contract', load: () => import('./commands/map.js') },
  preview: { summary: 'which seen edges a contract would break (exit 1 if any)', load: () => import('./commands/preview.js') },
  suggest: { summary: 'a RampContract from recorded traffic, the traffic map or manifests', load: () => import('./commands/suggest.js') },
  audit: { summary: 'open namespaces, unused and over-broad rules, redundant policies of existing policies', load: () => import('./commands/audit.js') },
  fix: { summary: 'the smallest NetworkPolicies that admit the denied flows of a contract', load: () => import('./commands/fix.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `usage: rampart <command> [flags]\n       rampart help <command>\n       rampart --version\n\ncommands:\n${lines.join('\n')}\n`;
}

/** The version in package.json, read beside the compiled CLI (dist/cli/main.js → package.json). */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

async function main(): Promise<number> {
  const [name, ...rest] = argv.slice(2);
  // Asked-for help goes to stdout (`rampart --help | grep`); a bare `rampart` is a usage error.
  if (name === undefined) {
    stderr.write(usage());
    return 2;
  }
  if (name === '--version' || name === 'version') {
    stdout.write(`rampart ${version()}\n`);
    return 0;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const topic = rest[0];
    if (name !== 'help' || topic === undefined) {
      stdout.write(usage());
      return 0;
    }
    const command = COMMANDS[topic];
    if (!command) {
      stderr.write(`rampart help: unknown command ${JSON.stringify(topic)}\n\n${usage()}`);
      return 2;
    }
    return (await command.load()).run(['--help']);
  }
  const command = COMMANDS[name];
  if (!command) {
    stderr.write(`rampart: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return 2;
  }
  const mod = await command.load();
  return mod.run(rest);
}

/**
 * Exits once what was written to stdout and stderr has been handed to the OS: a pipe to a
 * slow reader (`rampart simulate --capture 5m | head`) must not lose the tail of the output.
 */
function exitAfterFlush(code: number): void {
  let pending = 2;
  const done = (): void => {
    if (--pending === 0) exit(code);
  };
  stdout.write('', done);
  stderr.write('', done);
}

main().then(
  (code) => {
    exitAfterFlush(code);
  },
  (e: unknown) => {
    stderr.write(`rampart: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    exitAfterFlush(2);
  },
);
