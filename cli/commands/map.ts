/**
 * `rampart map [--contract C] [--since <dur>] [--format table|dot|json]`: the traffic map the
 * control plane has seen (GET /api/v1/map), judged under the baseline, or against contract C
 * (would-deny, already-denied, newly-allowed edges).
 */
import { env, stderr, stdout } from 'node:process';
import { ApiError, getJson, resolveTarget } from '../../io/api-client.js';
import { readOneOf } from '../../io/flags.js';
import { commandFlags, usageError } from './command-flags.js';
import { renderDot, renderTable, warningLines } from './map-render.js';

const USAGE = `usage: rampart map [--contract <name>] [--since <dur>] [--format table|dot|json] [--server <url>] [--token-file <file>]
  --contract    judge every edge against this contract (default: the baseline alone)
  --since       only edges seen within this duration (default: the map's retention)
  --format      table (default), dot (Graphviz), or json (the API's answer)
  --server      the control plane's HTTP API (default $RAMPART_SERVER or http://127.0.0.1:9968)
  --token-file  file holding the bearer token (default $RAMPART_TOKEN_FILE)
`;

export async function run(args: readonly string[]): Promise<number> {
  const parsed = commandFlags('rampart map', USAGE, args, {
    contract: { type: 'string' },
    since: { type: 'string' },
    format: { type: 'string', default: 'table' },
    server: { type: 'string' },
    'token-file': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const format = readOneOf(values.format, '--format', ['table', 'dot', 'json']);
  if (!format.ok) {
    return usageError('rampart map', [format.error], USAGE);
  }
  const q = new URLSearchParams();
  if (values.contract !== undefined) q.set('contract', values.contract);
  if (values.since !== undefined) q.set('since', values.since);
  let body: unknown;
  try {
    const target = resolveTarget({ server: values.server, tokenFile: values['token-file'] }, env);
    body = await getJson(target, `/api/v1/map${q.size > 0 ? `?${q.toString()}` : ''}`);
  } catch (e) {
    stderr.write(`rampart map: ${e instanceof ApiError ? e.message : String(e)}\n`);
    return 1;
  }
  if (format.value === 'json') stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  else if (format.value === 'dot') stdout.write(renderDot(body));
  else stdout.write(renderTable(body));
  // Beside the answer, never in it: a dot or JSON consumer reads stdout alone.
  stderr.write(warningLines('rampart map', body));
  return 0;
}
