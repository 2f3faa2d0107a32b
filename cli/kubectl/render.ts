/**
 * How `kubectl rampart` prints RampContract objects: a table for `get`, a description for
 * `status`, transitions for `history`, one line per change for `watch`. Reads only what the
 * control plane wrote to status (product.md "Kubernetes mode"); absent fields print as `-`.
 */
import { asObject } from '../../core/common/index.js';
import { formatTable } from '../../io/table.js';
import type { ContractObject } from './cluster.js';

const obj = asObject;
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown, fallback = '-'): string => (typeof v === 'string' && v !== '' ? v : fallback);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function stageCount(c: ContractObject): number {
  return list(obj(obj(c.spec).rollout).stages).length;
}

function stageText(c: ContractObject): string {
  const s = obj(c.status);
  const stage = obj(s.stage);
  if (typeof stage.name !== 'string') return '-';
  return `${stage.name} (${num(stage.index) + 1}/${stageCount(c) || '?'})`;
}

function condition(c: ContractObject, type: string): Record<string, unknown> | null {
  const found = list(obj(c.status).conditions).find((x) => obj(x).type === type);
  return found === undefined ? null : obj(found);
}

export function renderGet(items: readonly ContractObject[]): string {
  if (items.length === 0) return 'No RampContracts found.\n';
  const rows = items.map((c) => {
    const s = obj(c.status);
    const e = obj(s.evidence);
    return [
      str(c.metadata.name),
      typeof s.revisionNumber === 'number' ? s.revisionNumber : '-',
      stageText(c),
      str(s.phase),
      str(obj(s.decision).kind),
      str(condition(c, 'Ready')?.status),
      num(e.flows),
      num(e.deny),
      num(e.actualDenies),
      `${num(obj(e.nodes).reporting)}/${num(obj(e.nodes).expected)}`,
    ];
  });
  return formatTable(['NAME', 'REV', 'STAGE', 'PHASE', 'DECISION', 'READY', 'EVALUATED', 'WOULD-DENY', 'ACTUAL', 'NODES'], rows);
}

export function renderStatus(c: ContractObject): string {
  const s = obj(c.status);
  const e = obj(s.evidence);
  const decision = obj(s.decision);
  const out: string[] = [];
  const field = (k: string, v: string): void => {
    out.push(`${`${k}:`.padEnd(14)}${v}`);
  };
  field('Name', str(c.metadata.name));
  field('Generation', `${num(c.metadata.generation)} (observed ${typeof s.observedGeneration === 'number' ? s.observedGeneration : '-'})`);
  field('Revision', typeof s.revisionNumber === 'number' ? `${s.revisionNumber} (${str(s.revision)})` : '-');
  field('Stage', `${stageText(c)}${typeof s.stageEnteredAt === 'string' ? `, entered ${s.stageEnteredAt}` : ''}`);
  field('Phase', str(s.phase));
  field('Decision', `${str(decision.kind)}${typeof decision.at === 'string' ? ` at ${decision.at}` : ''}`);
  for (const r of list(decision.reasons)) out.push(`  - ${str(r, '')}`);
  const flows = num(e.flows);
  field(
    'Evidence',
    `${flows} evaluated, ${num(e.deny)} would deny${flows > 0 ? ` (${((num(e.deny) / flows) * 100).toFixed(2)}%)` : ''}, ${num(e.indeterminate)} indeterminate, ` +
      `${num(e.actualDenies)} actual denies, nodes ${num(obj(e.nodes).reporting)}/${num(obj(e.nodes).expected)}`,
  );
  const last = obj(s.lastAction);
  if (typeof last.id === 'string') field('Last action', `${str(last.action)} (id ${last.id}) by ${str(last.actor)} at ${str(last.at)}: ${str(last.result)}${typeof last.message === 'string' ? `: ${last.message}` : ''}`);
  const conditions = list(s.conditions).map(obj);
  if (conditions.length > 0) {
    out.push('Conditions:');
    out.push(
      formatTable(
        ['TYPE', 'STATUS', 'REASON', 'MESSAGE'],
        conditions.map((x) => [str(x.type), str(x.status), str(x.reason), str(x.message, '')]),
        [null, null, null, 80],
      )
        .trimEnd()
        .split('\n')
        .map((l) => `  ${l}`)
        .join('\n'),
    );
  }
  const problems = list(s.problems).map(obj);
  if (problems.length > 0) {
    out.push('Problems:');
    for (const p of problems) out.push(`  - ${str(p.path, '')}: ${str(p.message, '')}`);
  }
  return `${out.join('\n')}\n`;
}

export function renderHistory(c: ContractObject): string {
  const items = list(obj(c.status).history).map(obj);
  if (items.length === 0) return `No transitions recorded for ${str(c.metadata.name)}.\n`;
  return formatTable(
    ['AT', 'FROM', 'TO', 'PHASE', 'DECISION', 'ACTOR', 'REASONS'],
    items.map((h) => [str(h.at), str(h.from), str(h.to), str(h.phase), str(h.decision), str(h.actor), list(h.reasons).map((r) => str(r, '')).join('; ')]),
    [null, null, null, null, null, null, 100],
  );
}

/** What `watch` compares: a line is printed when it changes. */
export function watchKey(c: ContractObject): string {
  const s = obj(c.status);
  return JSON.stringify([s.revisionNumber, obj(s.stage).name, s.phase, obj(s.decision).kind, obj(s.decision).reasons, obj(s.lastAction).id]);
}

export function watchLine(event: string, c: ContractObject, nowIso: string): string {
  const s = obj(c.status);
  const decision = obj(s.decision);
  const reasons = list(decision.reasons).map((r) => str(r, ''));
  const what = event === 'delete' ? 'deleted' : `rev ${typeof s.revisionNumber === 'number' ? s.revisionNumber : '-'}  ${stageText(c)}  ${str(s.phase)}  ${str(decision.kind)}${reasons.length > 0 ? `: ${reasons[0]}` : ''}`;
  return `${nowIso}  ${str(c.metadata.name)}  ${what}\n`;
}
