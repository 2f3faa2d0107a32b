/**
 * `rampart replay --flows <file> --listen <addr> [--loop] [--rate <flows/s>]`: a Hubble
 * Observer server over a capture. Without --rate the capture is history (what
 * `hubble observe --last N` reads); with --rate it plays live, timestamps shifted to now.
 * Prints one JSON log line with the bound address, then serves until SIGINT/SIGTERM.
 */
import { parseArgs } from 'node:util';
import process, { stderr, stdout } from 'node:process';
import { formatProblems } from '../../core/common/index.js';
import { loadCapture } from '../../replay/capture.js';
import { jsonLogger } from '../../replay/json-log.js';
import { startPlayback } from '../../replay/playback.js';
import { DEFAULT_RING_CAPACITY, HubbleServer } from '../../replay/server.js';

const USAGE = `usage: rampart replay --flows <file> --listen <host:port|unix:///path> [--loop] [--rate <flows/s>]
       [--ring-capacity <n>] [--node-name <name>]
`;

/** Hubble rings are 2^n−1 long; a history ring is sized to hold the whole capture. */
function historyCapacity(events: number): number {
  let cap = DEFAULT_RING_CAPACITY;
  while (cap < events) cap = cap * 2 + 1;
  return cap;
}

function fail(message: string): number {
  stderr.write(`rampart replay: ${message}\n${USAGE}`);
  return 2;
}

export async function run(args: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        flows: { type: 'string' },
        listen: { type: 'string' },
        loop: { type: 'boolean', default: false },
        rate: { type: 'string' },
        'ring-capacity': { type: 'string' },
        'node-name': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }
  if (values.flows === undefined) return fail('--flows is required');
  if (values.listen === undefined) return fail('--listen is required');
  const rate = values.rate === undefined ? null : Number(values.rate);
  if (rate !== null && !(Number.isFinite(rate) && rate > 0)) return fail(`--rate: expected a positive number of flows per second, got ${JSON.stringify(values.rate)}`);
  if (values.loop && rate === null) return fail('--loop needs --rate (without --rate the capture is loaded once as history)');
  const ringText = values['ring-capacity'];
  const ringCapacity = ringText === undefined ? null : Number(ringText);
  if (ringCapacity !== null && !(Number.isInteger(ringCapacity) && ringCapacity > 0)) {
    return fail(`--ring-capacity: expected a positive integer, got ${JSON.stringify(ringText)}`);
  }

  const capture = await loadCapture(values.flows);
  if (!capture.ok) {
    stderr.write(`rampart replay: bad capture (${capture.error.length} problem(s))\n${formatProblems(capture.error)}\n`);
    return 2;
  }
  const records = capture.value;
  const log = jsonLogger((l) => stdout.write(l)).child({ component: 'replay' });
  const firstNode = records.find((r) => typeof r['node_name'] === 'string')?.['node_name'] as string | undefined;
  const server = new HubbleServer({
    ringCapacity: ringCapacity ?? (rate === null ? historyCapacity(records.length) : DEFAULT_RING_CAPACITY),
    nodeName: values['node-name'] ?? firstNode ?? 'replay',
  });
  const controller = new AbortController();
  if (rate === null) server.loadHistory(records);

  let address: string;
  try {
    ({ address } = await server.listen(values.listen));
  } catch (e) {
    stderr.write(`rampart replay: cannot listen on ${values.listen}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  log.info('replay server listening', {
    address,
    flows: records.length,
    mode: rate === null ? 'history' : 'live',
    ratePerSecond: rate,
    loop: values.loop,
  });
  if (rate !== null) {
    startPlayback(records, server, {
      ratePerSecond: rate,
      loop: values.loop,
      signal: controller.signal,
      onDone: () => log.info('capture played', { flows: records.length }),
    });
  }

  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  controller.abort();
  await server.close();
  log.info('replay server stopped', { address });
  return 0;
}
