/**
 * `rampart status [--server <url>] [--token-file <file>] [-o table|json]`: every contract as
 * the control plane sees it, one row each, with the reasons of the last decision beneath.
 */
import { env, stderr, stdout } from 'node:process';
import { ApiError, getJson, resolveTarget } from '../../io/api-client.js';
import { formatTable } from '../../io/table.js';
import { readOneOf } from '../../io/flags.js';
import { commandFlags, usageError } from './command-flags.js';
import { asObject } from '../../core/common/index.js';
import type { ContractEvidenceJson, ContractJson, Received } from '../../io/api-types.js';

const USAGE = `usage: rampart status [--server <url>] [--token-file <file>] [-o table|json]
  --server      the control plane's HTTP API (default $RAMPART_SERVER or http://127.0.0.1:9968)
  --token-file  file holding the bearer token (default $RAMPART_TOKEN_FILE)
`;

const obj = asObject;
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);

export async function run(args: readonly string[]): Promise<number> {
  const parsed = commandFlags('rampart status', USAGE, args, { server: { type: 'string' }, 'token-file': { type: 'string' }, output: { type: 'string', short: 'o', default: 'table' }, help: { type: 'boolean', short: 'h', default: false } });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const output = readOneOf(values.output, '-o', ['table', 'json']);
  if (!output.ok) {
    return usageError('rampart status', [output.error], USAGE);
  }
  let body: unknown;
  try {
    body = await getJson(resolveTarget({ server: values.server, tokenFile: values['token-file'] }, env), '/api/v1/contracts');
  } catch (e) {
    stderr.write(`rampart status: ${e instanceof ApiError ? e.message : String(e)}\n`);
    return 1;
  }
  if (output.value === 'json') {
    stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return 0;
  }
  const items = Array.isArray(obj(body).items) ? (obj(body).items as unknown[]) : [];
  if (items.length === 0) {
    stdout.write('no contracts\n');
    return 0;
  }
  const rows = items.map((raw) => {
    const c: Received<ContractJson> = obj(raw);
    const stage: Received<ContractJson['stage']> = obj(c.stage);
    const e: Received<ContractEvidenceJson> = obj(c.evidence);
    const nodes: Received<ContractEvidenceJson['nodes']> = obj(e.nodes);
    const flows = num(e.flows);
    return [
      str(c.name),
      num(c.revision),
      `${str(stage.name, '?')} (${num(stage.index) + 1}/${num(stage.count) || '?'})`,
      str(c.phase, '-'),
      str(obj(c.decision).kind, '-'),
      flows,
      num(e.deny),
      flows > 0 ? `${((num(e.deny) / flows) * 100).toFixed(2)}%` : '-',
      num(e.alreadyDenied),
      num(e.newlyAllowed),
      num(e.actualDenies),
      `${num(nodes.reporting)}/${num(nodes.expected)}`,
      // History first: would-denies judged on the map before the revision started (apart from the live counts).
      c.historyEvidence === null || c.historyEvidence === undefined ? '-' : num(obj(c.historyEvidence).wouldDeny),
    ];
  });
  stdout.write(formatTable(['CONTRACT', 'REV', 'STAGE', 'PHASE', 'DECISION', 'EVALUATED', 'WOULD-DENY', 'RATIO', 'ALREADY-DENIED', 'NEWLY-ALLOWED', 'ACTUAL', 'NODES', 'HISTORY-DENY'], rows));
  for (const raw of items) {
    const c: Received<ContractJson> = obj(raw);
    const reasons = obj(c.decision).reasons;
    const problems = Array.isArray(c.problems) ? c.problems.map((p) => `${str(obj(p).path)}: ${str(obj(p).message)}`) : [];
    // What the contract changes of the policies in force: WOULD-DENY counts sides allowed before (with them) and denied after.
    const taken = (field: 'replaces' | 'removes'): string[] => (Array.isArray(c[field]) ? (c[field] as unknown[]).map((r) => str(r)) : []);
    const changes = [...taken('replaces').map((r) => `replaces ${r}`), ...taken('removes').map((r) => `removes ${r}`)];
    const lines = [...(changes.length > 0 ? [`${changes.join('; ')} (judged before = the policies in force, after = with the change)`] : []), ...(Array.isArray(reasons) ? reasons.map((r) => str(r)) : []), ...historyLines(c.historyEvidence), ...problems.map((p) => `problem ${p}`)];
    if (lines.length > 0) stdout.write(`\n${str(c.name)}:\n${lines.map((l) => `  - ${l}`).join('\n')}\n`);
  }
  return 0;
}

/** The history evidence beneath a contract: its span and the top would-deny edges it holds. */
function historyLines(h: unknown): string[] {
  if (h === null || h === undefined) return [];
  const o = obj(h);
  const top = Array.isArray(o.topEdges) ? o.topEdges.slice(0, 3).map((x) => obj(x)) : [];
  return [
    `history ${str(o.from)} → ${str(o.to)}: would-deny ${num(o.wouldDeny)} on ${num(o.wouldDenyEdges)} of ${num(o.edges)} edges (${num(o.connections)} connections)`,
    ...top.map((e) => `history edge ${str(e.from)} → ${str(e.to)}:${num(e.port)}/${str(e.protocol)} (${num(e.count)}, last seen ${str(e.lastSeen)})`),
  ];
}
