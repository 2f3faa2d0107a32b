/**
 * `rampart controlplane --contracts <dir> --state <dir> [--grpc-listen <addr>] [--http-listen <addr>]
 * [--token-file <file>]` (product.md "Interfaces"). Logs JSON lines on stdout; the `listening`
 * line carries the bound ports (useful with port 0). SIGTERM/SIGINT stop it cleanly.
 */
import { env, execArgv, stderr, stdout } from 'node:process';
import { setFlagsFromString } from 'node:v8';
import { formatProblems } from '../../core/common/index.js';
import { CONTROLPLANE_USAGE, loadControlplaneConfig } from '../../controlplane/config/config.js';
import { startControlplane, type ControlplaneHandle } from '../../controlplane/main.js';
import { createJsonLogger } from '../../io/json-logger.js';

/**
 * How far V8 lets the old generation grow past what the last full collection kept alive,
 * in percent. The control plane's live heap is small and steady (connections and aggregate
 * evidence: about 135 MiB at 10,000 agents) while every report allocates short-lived
 * objects; V8's own factor (up to 4x for a fast-collecting heap) let the heap swing to
 * 430-510 MiB at 10,000 agents before a full collection, and RSS to 770-860 MiB. At 25 %
 * the heap stays near 140-150 MiB and RSS near 500-530 MiB (bench/controlplane.bench.ts).
 * Set here, at the process entry, so every way of starting the control plane (the image,
 * the chart, the benchmark) runs with it; a `--heap-growing-percent` given to node wins.
 */
export const CONTROLPLANE_HEAP_GROWING_PERCENT = 25;

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
  // Read by V8 at each heap limit computation, so setting it before any load takes effect.
  if (!execArgv.some((a) => a.startsWith('--heap-growing-percent') || a.startsWith('--heap_growing_percent'))) {
    setFlagsFromString(`--heap-growing-percent=${CONTROLPLANE_HEAP_GROWING_PERCENT}`);
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
