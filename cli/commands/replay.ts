/**
 * `rampart replay --flows <file> --listen <addr> [--loop] [--rate <flows/s>]`: a Hubble
 * Observer server over a capture. Without --rate the capture is history (what
 * `hubble observe --last N` reads); with --rate it plays live, timestamps shifted to now.
 * Prints one JSON log line with the bound address, then serves until SIGINT/SIGTERM.
 */
import process, { stderr, stdout } from 'node:process';
import { formatProblems, problem, type Problem } from '../../core/common/index.js';
import { formatFlagProblems, parseFlags, readInteger, readPositiveNumber, readRequired } from '../../io/flags.js';
import { loadCapture } from '../../replay/capture.js';
import { createJsonLogger } from '../../io/json-logger.js';
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

function fail(problems: readonly Problem[]): number {
  stderr.write(formatFlagProblems('rampart replay', problems, USAGE));
  return 2;
}

export async function run(args: readonly string[]): Promise<number> {
  const { values, problems } = parseFlags(args, {
    flows: { type: 'string' },
    listen: { type: 'string' },
    loop: { type: 'boolean', default: false },
    rate: { type: 'string' },
    'ring-capacity': { type: 'string' },
    'node-name': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if (problems.length > 0) return fail(problems);
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }
  const flows = readRequired(values.flows, '--flows');
  const listen = readRequired(values.listen, '--listen');
  const rate = values.rate === undefined ? null : readPositiveNumber(values.rate, '--rate');
  const ring = values['ring-capacity'] === undefined ? null : readInteger(values['ring-capacity'], '--ring-capacity', { min: 1 });
  const bad = [flows, listen, rate, ring].flatMap((r) => (r === null || r.ok ? [] : [r.error]));
  if (bad.length > 0 || !flows.ok || !listen.ok) return fail(bad);
  const ratePerSecond = rate?.ok ? rate.value : null;
  const ringCapacity = ring?.ok ? ring.value : null;
  if (values.loop && ratePerSecond === null) return fail([problem('--loop', 'needs --rate (without --rate the capture is loaded once as history)')]);

  const capture = await loadCapture(flows.value);
  if (!capture.ok) {
    stderr.write(`rampart replay: bad capture (${capture.error.length} problem(s))\n${formatProblems(capture.error)}\n`);
    return 2;
  }
  const records = capture.value;
  const log = createJsonLogger('info', (l) => stdout.write(l), { component: 'replay' });
  const firstNode = records.find((r) => typeof r['node_name'] === 'string')?.['node_name'] as string | undefined;
  const server = new HubbleServer({
    ringCapacity: ringCapacity ?? (ratePerSecond === null ? historyCapacity(records.length) : DEFAULT_RING_CAPACITY),
    nodeName: values['node-name'] ?? firstNode ?? 'replay',
  });
  const controller = new AbortController();
  if (ratePerSecond === null) server.loadHistory(records);

  let address: string;
  try {
    ({ address } = await server.listen(listen.value));
  } catch (e) {
    stderr.write(`rampart replay: cannot listen on ${listen.value}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  log.info('replay server listening', {
    address,
    flows: records.length,
    mode: ratePerSecond === null ? 'history' : 'live',
    ratePerSecond,
    loop: values.loop,
  });
  if (ratePerSecond !== null) {
    startPlayback(records, server, {
      ratePerSecond,
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
