/**
 * `rampart agent --hubble <addr> --controlplane <addr> --node <name> [--window <dur>]
 * [--metrics-listen <addr>] [--token-file <file>]`: the node agent (DaemonSet). Wires the
 * real Hubble client, connection tracker and policy engine into agent/main.ts, and turns
 * SIGTERM / SIGINT into a graceful stop (flush, bounded drain, exit 0).
 */
import process, { stderr, stdout } from 'node:process';
import { formatProblems } from '../../core/common/index.js';
import { ConnectionTracker } from '../../core/flow/index.js';
import { AGENT_USAGE, loadAgentConfig, type AgentConfig } from '../../agent/config.js';
import { createHubbleClient } from '../../agent/hubble/client.js';
import { createJsonLogger } from '../../io/json-logger.js';
import { startAgent, type HubbleInput } from '../../agent/main.js';
import { networkPolicyEngine } from '../../agent/monitor/policy-engine.js';
import type { Logger } from '../../core/common/index.js';

function openHubble(config: AgentConfig, logger: Logger): (signal: AbortSignal) => HubbleInput {
  return (signal) => {
    const tls = config.hubbleTls;
    const client = createHubbleClient({
      target: config.hubbleTarget,
      signal,
      logger: logger.child({ component: 'hubble', target: config.hubbleTarget }),
      ...(tls && tls.certFile && tls.keyFile
        ? { tls: { caFile: tls.caFile, certFile: tls.certFile, keyFile: tls.keyFile, ...(tls.serverName ? { serverName: tls.serverName } : {}) } }
        : {}),
      ...(config.hubbleHistory > 0 ? { initialNumber: config.hubbleHistory } : {}),
      // The pipeline classifies with ConnectionTracker (below), so its stateless skips may be taken on the wire.
      earlySkip: true,
    });
    return { events: client, status: client.stats };
  };
}

export async function run(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    stdout.write(AGENT_USAGE);
    return 0;
  }
  const loaded = loadAgentConfig(args, process.env);
  if (!loaded.ok) {
    // Exit 2, as for every command's usage errors: the flags or environment are wrong.
    stderr.write(`rampart agent: invalid configuration\n${formatProblems(loaded.error)}\n\n${AGENT_USAGE}`);
    return 2;
  }
  const config = loaded.value;
  const logger = createJsonLogger(config.logLevel, (line) => stdout.write(line), { component: 'agent' });
  process.on('unhandledRejection', (e) => {
    logger.error('unhandled rejection', { err: e instanceof Error ? e : new Error(String(e)) });
    process.exit(1);
  });
  let shuttingDown = false;
  /** grpc.status.CANCELLED: grpc-js errors carry their status as a number (Node's system errors have string codes). */
  const GRPC_CANCELLED = 1;
  process.on('uncaughtException', (e: Error & { code?: unknown }) => {
    // NOTE: cancelling the Hubble call on shutdown can surface as an 'error' event nobody
    // listens to (grpc-js emits CANCELLED). We cancelled it ourselves, so that one is not
    // a crash; anything else is, and exits 1 so Kubernetes restarts the pod.
    if (shuttingDown && e.code === GRPC_CANCELLED) {
      logger.debug('ignored a call cancelled during shutdown', { err: e });
      return;
    }
    logger.error('uncaught exception', { err: e });
    process.exit(1);
  });

  let agent: Awaited<ReturnType<typeof startAgent>>;
  try {
    agent = await startAgent(config, {
      openHubble: openHubble(config, logger),
      classifier: new ConnectionTracker(),
      engine: networkPolicyEngine,
      logger,
    });
  } catch (e) {
    // Unreadable TLS files, a metrics port in use: configuration the process cannot run with.
    const message = e instanceof Error ? e.message : String(e);
    logger.error('agent cannot start', { err: e instanceof Error ? e : new Error(message) });
    stderr.write(`rampart agent: cannot start: ${message}\n`);
    return 1;
  }

  return new Promise<number>((resolve) => {
    const onSignal = (signal: string): void => {
      shuttingDown = true;
      logger.info('shutting down', { signal });
      agent.stop().then(
        (report) => {
          logger.info('stopped', { ...report });
          resolve(0);
        },
        (e: unknown) => {
          logger.error('shutdown failed', { err: e instanceof Error ? e : new Error(String(e)) });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
  });
}
