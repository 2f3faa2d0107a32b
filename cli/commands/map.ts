/**
 * `rampart map [--contract C] [--since <dur>] [--format table|dot|json]`: the traffic map the
 * control plane has seen (GET /api/v1/map), judged under the baseline, or against contract C
 * (would-deny, already-denied, newly-allowed edges).
 */
import { env, stderr, stdout } from 'node:process';
import { parseArgs } from 'node:util';
import { ApiError, getJson, resolveTarget } from '../../io/api-client.js';
import { renderDot, renderTable } from './map-render.js';

const USAGE = `usage: rampart map [--contract <name>] [--since <dur>] [--format table|dot|json] [--server <url>] [--token-file <file>]
  --contract    judge every edge against this contract (default: the baseline alone)
  --since       only edges seen within this duration (default: the map's retention)
  --format      table (default), dot (Graphviz), or json (the API's answer)
  --server      the control plane's HTTP API (default $RAMPART_SERVER or http://127.0.0.1:9968)
  --token-file  file holding the bearer token (default $RAMPART_TOKEN_FILE)
`;

export async function run(args: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        contract: { type: 'string' },
        since: { type: 'string' },
        format: { type: 'string', default: 'table' },
        server: { type: 'string' },
        'token-file': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    stderr.write(`rampart map: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }
  if (!['table', 'dot', 'json'].includes(values.format)) {
    stderr.write(`rampart map: --format: expected table, dot or json, got ${JSON.stringify(values.format)}\n`);
    return 2;
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
  if (values.format === 'json') stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  else if (values.format === 'dot') stdout.write(renderDot(body));
  else stdout.write(renderTable(body));
  return 0;
}
