/**
 * `rampart history <contract> [--server <url>] [--token-file <file>] [-o table|json]`: every
 * transition of a contract, oldest first, with its decision, reasons and actor.
 */
import { env, stderr, stdout } from 'node:process';
import { ApiError, getJson, resolveTarget } from '../../io/api-client.js';
import { formatTable } from '../../io/table.js';
import { readOneOf } from '../../io/flags.js';
import { commandFlags, usageError } from './command-flags.js';
import { asObject } from '../../core/common/index.js';
import type { HistoryItemJson, Received } from '../../io/api-types.js';

const USAGE = `usage: rampart history <contract> [--server <url>] [--token-file <file>] [-o table|json]
`;

const obj = asObject;
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);

export async function run(args: readonly string[]): Promise<number> {
  const parsed = commandFlags('rampart history', USAGE, args, { server: { type: 'string' }, 'token-file': { type: 'string' }, output: { type: 'string', short: 'o', default: 'table' }, help: { type: 'boolean', short: 'h', default: false } }, { positionals: true });
  if ('exit' in parsed) return parsed.exit;
  const { values, positionals } = parsed;
  const [name, ...extra] = positionals;
  if (name === undefined || extra.length > 0) {
    stderr.write(`rampart history: expected exactly one contract name\n${USAGE}`);
    return 2;
  }
  const output = readOneOf(values.output, '-o', ['table', 'json']);
  if (!output.ok) {
    return usageError('rampart history', [output.error], USAGE);
  }
  let body: unknown;
  try {
    body = await getJson(resolveTarget({ server: values.server, tokenFile: values['token-file'] }, env), `/api/v1/contracts/${encodeURIComponent(name)}/history`);
  } catch (e) {
    stderr.write(`rampart history: ${e instanceof ApiError && e.status === 404 ? `no contract named ${JSON.stringify(name)}` : e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  }
  if (output.value === 'json') {
    stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  const items = Array.isArray(obj(body).items) ? (obj(body).items as unknown[]) : [];
  const rows = items.map((raw) => {
    const h: Received<HistoryItemJson> = obj(raw);
    const decision = typeof h.decision === 'string' ? h.decision : str(obj(h.decision).kind, '-');
    const reasons = Array.isArray(h.reasons) ? h.reasons.map((r) => str(r)).join('; ') : '';
    return [str(h.at).replace('T', ' ').replace(/\.\d+Z$/, 'Z'), `${str(h.from, '-')} → ${str(h.to, '-')}`, str(h.phase, '-'), decision, str(h.actor, '-'), reasons];
  });
  stdout.write(formatTable(['AT', 'TRANSITION', 'PHASE', 'DECISION', 'ACTOR', 'REASONS'], rows, [null, null, null, null, 24, 120]));
  return 0;
}
