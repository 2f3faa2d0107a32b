/**
 * The two outputs of `rampart evaluate`: one JSON line per input line (product.md "Interfaces",
 * the stable schema outside tests read), and a table for people (flows by verdict, skip
 * reasons, the top denied edges as `ns/workload → ns/workload:port/proto`; with a baseline,
 * side changes and the newly-denied and newly-allowed edges apart).
 */
import { flowEdge, type Flow } from '../../core/flow/index.js';
import type { Change, SideChange } from '../../core/policy/index.js';

export type LineVerdict = 'allow' | 'deny' | 'indeterminate' | 'skip';
export type SideOutcome = 'allow' | 'deny' | 'indeterminate' | 'none';

/** One output line; key order is the documented order. */
export interface LineResult {
  readonly index: number;
  readonly uuid: string | null;
  readonly verdict: LineVerdict;
  readonly egress: SideOutcome;
  readonly ingress: SideOutcome;
  readonly policies: readonly string[];
  readonly reason: string;
  /** With --baseline: the change against the baseline and its verdicts (absent on skip lines). */
  readonly change?: Change;
  readonly baseline?: { readonly egress: SideOutcome; readonly ingress: SideOutcome };
  /** With --baseline, for the table only (not printed in jsonl). */
  readonly egressChange?: SideChange;
  readonly ingressChange?: SideChange;
  /** With --baseline and a change that takes policies out of it: those that decided this line under *before*. */
  readonly replaced?: readonly string[];
  readonly removed?: readonly string[];
}

/** The policies a change takes out of the baseline, as the table lists them. */
export interface TakenOut {
  readonly replaced: readonly string[];
  readonly removed: readonly string[];
}

export function skipResult(index: number, uuid: string | null, reason: string): LineResult {
  return { index, uuid, verdict: 'skip', egress: 'none', ingress: 'none', policies: [], reason };
}

const NO_BASELINE_SIDES = { egress: 'none', ingress: 'none' } as const;

/**
 * One jsonl line; `withBaseline` adds `change` and `baseline` (a skip line: `same`, both sides
 * `none`), and `withTakenOut` the replaced and removed policies that decided it under *before*.
 */
export function formatJsonl(r: LineResult, withBaseline = false, withTakenOut = false): string {
  // Written field by field so the key order never depends on how the object was built.
  if (!withBaseline) return JSON.stringify({ index: r.index, uuid: r.uuid, verdict: r.verdict, egress: r.egress, ingress: r.ingress, policies: r.policies, reason: r.reason });
  const b = r.baseline ?? NO_BASELINE_SIDES;
  return JSON.stringify({
    index: r.index,
    uuid: r.uuid,
    verdict: r.verdict,
    egress: r.egress,
    ingress: r.ingress,
    policies: r.policies,
    reason: r.reason,
    change: r.change ?? 'same',
    baseline: { egress: b.egress, ingress: b.ingress },
    ...(withTakenOut ? { replaced: r.replaced ?? [], removed: r.removed ?? [] } : {}),
  });
}

const SIDE_CHANGES: readonly SideChange[] = ['same', 'newly-denied', 'newly-allowed', 'already-denied', 'indeterminate'];

const TOP_EDGES = 20;

/** Accumulates what the table shows; bounded by the number of distinct denied edges. */
export class TableReport {
  readonly #verdicts: Record<LineVerdict, number> = { allow: 0, deny: 0, indeterminate: 0, skip: 0 };
  readonly #skipReasons = new Map<string, number>();
  readonly #deniedEdges = new Map<string, number>();
  readonly #indeterminateReasons = new Map<string, number>();
  readonly #withBaseline: boolean;
  readonly #sideChanges = new Map<SideChange, number>();
  readonly #newlyDeniedEdges = new Map<string, number>();
  readonly #newlyAllowedEdges = new Map<string, number>();
  readonly #takenOut: TakenOut | null;
  #lines = 0;
  #lostEvents = 0;

  constructor(withBaseline = false, takenOut?: TakenOut) {
    this.#withBaseline = withBaseline;
    this.#takenOut = takenOut === undefined || takenOut.replaced.length + takenOut.removed.length === 0 ? null : takenOut;
  }

  add(result: LineResult, flow: Flow | null, skipCategory?: string): void {
    if (this.#withBaseline && result.verdict !== 'skip') this.#addChanges(result, flow);
    this.#lines++;
    this.#verdicts[result.verdict]++;
    if (result.verdict === 'skip') bump(this.#skipReasons, skipCategory ?? result.reason);
    if (result.verdict === 'indeterminate') bump(this.#indeterminateReasons, result.reason);
    if (!this.#withBaseline && result.verdict === 'deny' && flow !== null) {
      const e = flowEdge(flow);
      bump(this.#deniedEdges, `${e.from} → ${e.to}:${e.port}/${e.protocol}`);
    }
  }

  #addChanges(result: LineResult, flow: Flow | null): void {
    for (const side of [result.egressChange, result.ingressChange]) if (side !== undefined && side !== 'none') bump(this.#sideChanges, side);
    if (flow === null) return;
    const sides = [result.egressChange, result.ingressChange];
    if (!sides.includes('newly-denied') && !sides.includes('newly-allowed')) return;
    const e = flowEdge(flow);
    const key = `${e.from} → ${e.to}:${e.port}/${e.protocol}`;
    if (sides.includes('newly-denied')) bump(this.#newlyDeniedEdges, key);
    if (sides.includes('newly-allowed')) bump(this.#newlyAllowedEdges, key);
  }

  addLostEvents(count: number): void {
    this.#lostEvents += count;
  }

  render(title: string): string {
    const out: string[] = [title, ''];
    const evaluated = this.#verdicts.allow + this.#verdicts.deny + this.#verdicts.indeterminate;
    out.push(`${this.#lines} lines, ${evaluated} connection starts evaluated, ${this.#lostEvents} Hubble events lost`, '');
    out.push(...table(['verdict', 'flows'], (['allow', 'deny', 'indeterminate', 'skip'] as const).map((v) => [v, String(this.#verdicts[v])])));
    if (this.#skipReasons.size > 0) out.push('', ...table(['skipped because', 'lines'], sorted(this.#skipReasons)));
    if (this.#indeterminateReasons.size > 0) out.push('', ...table(['indeterminate because', 'flows'], sorted(this.#indeterminateReasons).slice(0, TOP_EDGES)));
    out.push('');
    if (this.#withBaseline) {
      if (this.#takenOut !== null) {
        const rows = [...this.#takenOut.replaced.map((r) => [r, 'replaced'] as const), ...this.#takenOut.removed.map((r) => [r, 'removed'] as const)];
        out.push(...table(['baseline policies taken out', 'how'], rows), '');
      }
      out.push(...table(['change against the baseline', 'sides'], SIDE_CHANGES.map((c) => [c, String(this.#sideChanges.get(c) ?? 0)])), '');
      out.push(...edgeTable('newly denied edges', this.#newlyDeniedEdges), '');
      out.push(...edgeTable('newly allowed edges', this.#newlyAllowedEdges));
    } else out.push(...edgeTable('denied edges', this.#deniedEdges));
    return `${out.join('\n')}\n`;
  }
}

/** `no <what>`, or the top edges by count as `top <what> (shown of all)`. */
function edgeTable(what: string, edges: ReadonlyMap<string, number>): string[] {
  if (edges.size === 0) return [`no ${what}`];
  const rows = sorted(edges);
  return table([`top ${what} (${Math.min(rows.length, TOP_EDGES)} of ${rows.length})`, 'count'], rows.slice(0, TOP_EDGES));
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** Largest count first; ties by name so the output is stable. */
function sorted(map: ReadonlyMap<string, number>): [string, string][] {
  return [...map.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([k, n]) => [k, String(n)]);
}

/** Left-aligned first column, right-aligned numbers. */
function table(header: readonly [string, string], rows: readonly (readonly [string, string])[]): string[] {
  const w0 = Math.max(header[0].length, ...rows.map((r) => [...r[0]].length));
  const w1 = Math.max(header[1].length, ...rows.map((r) => r[1].length));
  const line = (a: string, b: string): string => `${a}${' '.repeat(w0 - [...a].length)}  ${b.padStart(w1)}`;
  return [line(header[0], header[1]), ...rows.map((r) => line(r[0], r[1]))];
}
