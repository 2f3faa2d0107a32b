/**
 * The two outputs of `rampart evaluate`: one JSON line per input line (product.md "Interfaces",
 * the stable schema outside tests read), and a table for people (flows by verdict, skip
 * reasons, the top denied edges as `ns/workload → ns/workload:port/proto`).
 */
import { flowEdge, type Flow } from '../../core/flow/index.js';

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
}

export function skipResult(index: number, uuid: string | null, reason: string): LineResult {
  return { index, uuid, verdict: 'skip', egress: 'none', ingress: 'none', policies: [], reason };
}

export function formatJsonl(r: LineResult): string {
  // Written field by field so the key order never depends on how the object was built.
  return JSON.stringify({ index: r.index, uuid: r.uuid, verdict: r.verdict, egress: r.egress, ingress: r.ingress, policies: r.policies, reason: r.reason });
}

const TOP_EDGES = 20;

/** Accumulates what the table shows; bounded by the number of distinct denied edges. */
export class TableReport {
  readonly #verdicts: Record<LineVerdict, number> = { allow: 0, deny: 0, indeterminate: 0, skip: 0 };
  readonly #skipReasons = new Map<string, number>();
  readonly #deniedEdges = new Map<string, number>();
  readonly #indeterminateReasons = new Map<string, number>();
  #lines = 0;
  #lostEvents = 0;

  add(result: LineResult, flow: Flow | null, skipCategory?: string): void {
    this.#lines++;
    this.#verdicts[result.verdict]++;
    if (result.verdict === 'skip') bump(this.#skipReasons, skipCategory ?? result.reason);
    if (result.verdict === 'indeterminate') bump(this.#indeterminateReasons, result.reason);
    if (result.verdict === 'deny' && flow !== null) {
      const e = flowEdge(flow);
      bump(this.#deniedEdges, `${e.from} → ${e.to}:${e.port}/${e.protocol}`);
    }
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
    if (this.#deniedEdges.size === 0) out.push('no denied edges');
    else {
      const rows = sorted(this.#deniedEdges);
      out.push(...table([`top denied edges (${Math.min(rows.length, TOP_EDGES)} of ${rows.length})`, 'count'], rows.slice(0, TOP_EDGES)));
    }
    return `${out.join('\n')}\n`;
  }
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
