/**
 * `rampart watch [--contract <name>] [--server <url>] [--token-file <file>] [--count <n>]`:
 * a live terminal view of the control plane's stream: per-contract rates, stage and phase,
 * the last decision, and recent transitions and denied edges. On a terminal it redraws in
 * place; piped, it prints one line per event and a rates line every few seconds. Reconnects
 * when the stream drops.
 */
import process, { env, stderr, stdout } from 'node:process';
import WebSocket from 'ws';
import { ApiError, getJson, resolveTarget, streamUrl, type ApiTarget } from '../../io/api-client.js';
import { formatTable } from '../../io/table.js';
import { readInteger } from '../../io/flags.js';
import { commandFlags, usageError } from './command-flags.js';
import { asObject } from '../../core/common/index.js';
import type { ContractJson, ContractRatesJson, EdgeJson, Received, StreamMessage } from '../../io/api-types.js';

const USAGE = `usage: rampart watch [--contract <name>] [--server <url>] [--token-file <file>] [--count <n>]
  --count   exit after this many rate updates (for scripts)
`;

const obj = asObject;
/** Any stream message's fields (io/api-types.ts), each read with a fallback. */
type StreamFields = Received<Extract<StreamMessage, { type: 'snapshot' }>> &
  Received<Extract<StreamMessage, { type: 'rates' }>> &
  Received<Extract<StreamMessage, { type: 'transition' }>> &
  Received<Extract<StreamMessage, { type: 'edge' }>>;
type ContractFields = Received<ContractJson> & Received<ContractRatesJson>;
const loose = <T>(v: unknown): Received<T> => obj(v);
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);
const clock = (at: unknown): string => (typeof at === 'string' ? at.slice(11, 19) : new Date().toISOString().slice(11, 19));

interface Row {
  name: string;
  stage: string;
  phase: string;
  decision: string;
  reason: string;
  flows: number;
  deny: number;
  /** Judged against the baseline: sides it denies already, and sides the contract newly allows. */
  alreadyDenied: number;
  newlyAllowed: number;
  actual: number;
}

const LINE_MODE_RATES_EVERY = 5;

export async function run(args: readonly string[]): Promise<number> {
  const parsed = commandFlags('rampart watch', USAGE, args, {
    contract: { type: 'string' },
    server: { type: 'string' },
    'token-file': { type: 'string' },
    count: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const countRead = values.count === undefined ? null : readInteger(values.count, '--count', { min: 1 });
  if (countRead !== null && !countRead.ok) {
    return usageError('rampart watch', [countRead.error], USAGE);
  }
  const count = countRead === null ? null : countRead.value;
  let target: ApiTarget;
  try {
    target = resolveTarget({ server: values.server, tokenFile: values['token-file'] }, env);
    // One GET first: a wrong address or token is reported clearly instead of as a socket error.
    await getJson(target, '/api/v1/contracts');
  } catch (e) {
    stderr.write(`rampart watch: ${e instanceof ApiError ? e.message : String(e)}\n`);
    return 1;
  }

  const only = values.contract;
  const rows = new Map<string, Row>();
  const events: string[] = [];
  const tty = stdout.isTTY;
  let updates = 0;
  let done: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (done = resolve));

  const event = (text: string): void => {
    if (tty) {
      events.unshift(text);
      events.length = Math.min(events.length, 10);
    } else {
      stdout.write(`${text}\n`);
    }
  };
  const draw = (): void => {
    const table = formatTable(
      ['CONTRACT', 'STAGE', 'PHASE', 'EVALS/S', 'WOULD-DENY/S', 'RATIO', 'ALREADY-DENIED/S', 'NEWLY-ALLOWED/S', 'DENIES/S', 'DECISION'],
      [...rows.values()].map((r) => [
        r.name,
        r.stage,
        r.phase,
        r.flows.toFixed(1),
        r.deny.toFixed(2),
        r.flows > 0 ? `${((r.deny / r.flows) * 100).toFixed(2)}%` : '-',
        r.alreadyDenied.toFixed(2),
        r.newlyAllowed.toFixed(2),
        r.actual.toFixed(2),
        `${r.decision}${r.reason ? `: ${r.reason}` : ''}`,
      ]),
      [null, null, null, null, null, null, null, null, null, 90],
    );
    if (tty) {
      stdout.write(`\u001b[H\u001b[2J${target.server}  ${new Date().toISOString().slice(11, 19)}  (Ctrl-C quits)\n\n${table}\n${events.length ? `recent:\n${events.map((e) => `  ${e}`).join('\n')}\n` : ''}`);
    } else if (updates % LINE_MODE_RATES_EVERY === 1 || count !== null) {
      for (const r of rows.values()) {
        stdout.write(`${clock(undefined)} rates ${r.name} ${r.stage} ${r.phase} evals/s=${r.flows.toFixed(1)} would-deny/s=${r.deny.toFixed(2)} already-denied/s=${r.alreadyDenied.toFixed(2)} newly-allowed/s=${r.newlyAllowed.toFixed(2)} denies/s=${r.actual.toFixed(2)}\n`);
      }
    }
  };

  const onMessage = (m: StreamFields): void => {
    const type = str(m.type);
    if (type === 'snapshot' || type === 'rates') {
      for (const raw of Array.isArray(m.contracts) ? m.contracts : []) {
        const c: ContractFields = obj(raw);
        const name = str(c.name);
        if (only !== undefined && name !== only) continue;
        const prev = rows.get(name);
        const decision = typeof c.decision === 'string' ? c.decision : str(loose<ContractJson['decision']>(c.decision).kind, prev?.decision ?? '-');
        const reasons = loose<ContractJson['decision']>(c.decision).reasons;
        rows.set(name, {
          name,
          stage: str(loose<ContractJson['stage']>(c.stage).name, prev?.stage ?? '?'),
          phase: str(c.phase, prev?.phase ?? '-'),
          decision,
          reason: Array.isArray(reasons) && typeof reasons[0] === 'string' ? reasons[0] : (prev?.reason ?? ''),
          flows: type === 'rates' ? num(c.flowsPerSecond) : (prev?.flows ?? 0),
          deny: type === 'rates' ? num(c.denyPerSecond) : (prev?.deny ?? 0),
          alreadyDenied: type === 'rates' ? num(c.alreadyDeniedPerSecond) : (prev?.alreadyDenied ?? 0),
          newlyAllowed: type === 'rates' ? num(c.newlyAllowedPerSecond) : (prev?.newlyAllowed ?? 0),
          actual: type === 'rates' ? num(c.actualDeniesPerSecond) : (prev?.actual ?? 0),
        });
      }
      if (type === 'rates') updates++;
      draw();
      if (count !== null && updates >= count) done(0);
      return;
    }
    const name = str(m.contract);
    if (only !== undefined && name !== only) return;
    if (type === 'transition') {
      const reasons = Array.isArray(m.reasons) ? m.reasons : [];
      const decision = typeof m.decision === 'string' ? m.decision : str(loose<ContractJson['decision']>(m.decision).kind);
      const row = rows.get(name);
      if (row) Object.assign(row, { stage: str(m.to, row.stage), phase: str(m.phase, row.phase), decision, reason: str(reasons[0], row.reason) });
      event(`${clock(m.at)} ${name}: ${str(m.from, '-')} → ${str(m.to)} ${str(m.phase)} (${decision}, ${str(m.actor, 'auto')}) ${str(reasons[0])}`);
    } else if (type === 'edge') {
      const e = loose<EdgeJson>(m.edge);
      const what = str(e.kind) === 'actual-deny' ? 'DENIED' : str(e.kind) === 'newly-allowed' ? 'would newly allow' : 'would deny';
      event(`${clock(m.at)} ${name}: ${what} ${str(e.from)} → ${str(e.to)}:${num(e.port)}/${str(e.protocol)}`);
    }
    if (tty) draw();
  };

  let socket: WebSocket | null = null;
  let stopped = false;
  let backoffMs = 1000;
  const connect = (): void => {
    socket = new WebSocket(streamUrl(target));
    socket.on('open', () => {
      backoffMs = 1000;
    });
    socket.on('message', (data: WebSocket.RawData) => {
      try {
        onMessage(obj(JSON.parse(data.toString())) as StreamFields);
      } catch {
        // a message we cannot read is skipped; the next rates update redraws everything
      }
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      if (stopped) return;
      event(`${clock(undefined)} stream closed; reconnecting in ${backoffMs / 1000}s`);
      setTimeout(connect, backoffMs);
      backoffMs = Math.min(backoffMs * 2, 10_000);
    });
  };
  connect();
  const onSignal = (): void => done(0);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const code = await finished;
  stopped = true;
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  (socket as WebSocket | null)?.close();
  return code;
}
