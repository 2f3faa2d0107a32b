/**
 * `rampart controlplane --contracts <dir> --state <dir> [--grpc-listen <addr>] [--http-listen <addr>]
 * [--token-file <file>]` (product.md "Interfaces"). Logs JSON lines on stdout; the `listening`
 * line carries the bound ports (useful with port 0). SIGTERM/SIGINT stop it cleanly.
 */
import { env, stderr, stdout } from 'node:process';
import { formatProblems } from '../../core/common/index.js';
import { CONTROLPLANE_USAGE, loadControlplaneConfig } from '../../controlplane/config/config.js';
import { startControlplane, type ControlplaneHandle } from '../../controlplane/main.js';
import { createJsonLogger } from '../../io/json-logger.js';

export async function run(args: readonly string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    stdout.write(CONTROLPLANE_USAGE);
    return 0;
  }
  const config = loadControlplaneConfig(args, env);
  if (!config.ok) {
    stderr.write(`rampart controlplane: invalid configuration\n${formatProblems(config.error)}\n\n${CONTROLPLANE_USAGE}`);
    return 2;
  }
  const log = createJsonLogger(config.value.logLevel, (line) => stdout.write(line));
  process.on('unhandledRejection', (e) => {
    log.error('unhandled rejection', { err: e instanceof Error ? e : { message: String(e) } });
    process.exit(1);
  });
  let handle: ControlplaneHandle | undefined;
  try {
    // Kubernetes mode: a replica that lost its Lease exits; Kubernetes starts a fresh one.
    handle = await startControlplane(config.value, {
      log,
      onFatal: (reason) => {
        log.error('exiting', { reason });
        // The map is this replica's own (its volume, not the API server's): keep what it saw.
        handle?.map.close();
        process.exit(1);
      },
    });
  } catch (e) {
    log.error('start failed', { err: e instanceof Error ? e : { message: String(e) } });
    return 1;
  }
  const started = handle;
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info('stopping', { signal });
      started.close().then(resolve, resolve);
    };
    process.once('SIGTERM', () => {
      stop('SIGTERM');
    });
    process.once('SIGINT', () => {
      stop('SIGINT');
    });
  });
  return 0;
}
