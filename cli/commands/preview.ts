/**
 * `rampart preview <contract.yaml> [--since <dur>] [--format table|json]`: what would this
 * contract break? POSTs it to /api/v1/preview, which judges the stored traffic map against it
 * (and the baseline), and prints the edges it would newly deny. Exit 0: none; 1: some edge
 * would be denied; 2: bad input or the control plane could not answer.
 */
import { readFileSync } from 'node:fs';
import { env, stderr, stdout } from 'node:process';
import { problem } from '../../core/common/index.js';
import { ApiError, postText, resolveTarget } from '../../io/api-client.js';
import { readOneOf } from '../../io/flags.js';
import { commandFlags, usageError } from './command-flags.js';
import { formatTable } from '../../io/table.js';
import { edgesOf, warningLines } from './map-render.js';

const USAGE = `usage: rampart preview <contract.yaml> [--since <dur>] [--format table|json] [--server <url>] [--token-file <file>]
  exit 0: no edge seen in the map would be newly denied; 1: some would; 2: bad input
`;

export async function run(args: readonly string[]): Promise<number> {
  const parsed = commandFlags(
    'rampart preview',
    USAGE,
    args,
    {
      since: { type: 'string' },
      format: { type: 'string', default: 'table' },
      server: { type: 'string' },
      'token-file': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    { positionals: true },
  );
  if ('exit' in parsed) return parsed.exit;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    return usageError('rampart preview', [problem('(arguments)', `expected one contract file, got ${positionals.length}`)], USAGE);
  }
  const format = readOneOf(values.format, '--format', ['table', 'json']);
  if (!format.ok) {
    return usageError('rampart preview', [format.error], USAGE);
  }
  const file = positionals[0]!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    stderr.write(`rampart preview: cannot read ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  let body: unknown;
  try {
    const target = resolveTarget({ server: values.server, tokenFile: values['token-file'] }, env);
    body = await postText(target, `/api/v1/preview${values.since !== undefined ? `?since=${encodeURIComponent(values.since)}` : ''}`, text);
  } catch (e) {
    stderr.write(`rampart preview: ${file}: ${e instanceof ApiError ? e.message : String(e)}\n`);
    return 2;
  }
  return printPreview(body, format.value);
}

/** Prints a preview answer (the map judged against a contract); returns the exit code. Also `kubectl rampart preview`'s output. */
export function printPreview(body: unknown, format: 'table' | 'json', command = 'rampart preview'): number {
  stderr.write(warningLines(command, body));
  const edges = edgesOf(body);
  const breaking = edges.filter((e) => e.verdict === 'would-deny');
  if (format === 'json') {
    stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return breaking.length > 0 ? 1 : 0;
  }
  const count = (v: string): number => edges.filter((e) => e.verdict === v).length;
  stdout.write(`${edges.length} edges judged: ${breaking.length} would be denied, ${count('newly-allowed')} newly allowed, ${count('already-denied')} already denied, ${count('indeterminate')} indeterminate\n`);
  if (breaking.length > 0) {
    stdout.write(`\nwould deny (largest first):\n`);
    stdout.write(formatTable(['FROM', 'TO', 'PORT', 'COUNT', 'WHY'], breaking.map((e) => [e.from, e.to, `${e.port}/${e.protocol}`, e.count, e.reason]), [null, null, null, null, 100]));
  }
  const allowed = edges.filter((e) => e.verdict === 'newly-allowed');
  if (allowed.length > 0) {
    stdout.write(`\nnewly allowed:\n`);
    stdout.write(formatTable(['FROM', 'TO', 'PORT', 'COUNT'], allowed.map((e) => [e.from, e.to, `${e.port}/${e.protocol}`, e.count])));
  }
  return breaking.length > 0 ? 1 : 0;
}
