/**
 * Workload coverage and the inconclusive budget (product.md "Enough evidence").
 *
 * Coverage: the share of the workloads a contract selects that were seen with traffic in the
 * evidence; a workload never seen proves nothing either way, so below
 * `gates.minWorkloadCoverage` the stage is inconclusive and the silent ones are named.
 *
 * Budget: a stage still inconclusive `gates.maxInconclusive` after it was entered is Blocked
 * with the reasons, not left waiting forever. Counted from the stage's entry (persisted), so
 * every replica and every restart agrees on it.
 */
import { formatDurationMs } from '../common/index.js';
import type { SufficiencyGate } from './gate.js';

const NAMED = 5;

const percent = (r: number): string => `${Number((r * 100).toPrecision(3))}%`;

export function assessWorkloadCoverage(selected: readonly string[], seen: ReadonlySet<string>, min: number): SufficiencyGate & { readonly silent: readonly string[] } {
  if (selected.length === 0) {
    return { gate: 'minWorkloadCoverage', phase: 'inconclusive', message: 'workload coverage unknown: no workload the contract selects is known (none in the inventory or the map)', silent: [] };
  }
  const silent = selected.filter((w) => !seen.has(w));
  const coverage = (selected.length - silent.length) / selected.length;
  const enough = coverage >= min;
  const names = silent.length === 0 ? '' : `; silent: ${silent.slice(0, NAMED).join(', ')}${silent.length > NAMED ? `, +${silent.length - NAMED} more` : ''}`;
  return {
    gate: 'minWorkloadCoverage',
    phase: enough ? 'passed' : 'inconclusive',
    message: `workload coverage ${selected.length - silent.length}/${selected.length} (${percent(coverage)}) ${enough ? '>=' : '<'} ${percent(min)}${names}`,
    silent,
  };
}

/**
 * The budget's verdict: null while within it (or unlimited, or nothing is inconclusive), else
 * a failed gate carrying the inconclusive reasons.
 */
export function assessInconclusiveBudget(
  gates: readonly { readonly phase: string; readonly message: string }[],
  stageEnteredAtMs: number,
  nowMs: number,
  maxInconclusiveMs: number | null,
): SufficiencyGate | null {
  if (maxInconclusiveMs === null) return null;
  if (gates.some((g) => g.phase === 'failed' || g.phase === 'error')) return null;
  const open = gates.filter((g) => g.phase === 'inconclusive');
  if (open.length === 0) return null;
  const elapsed = Math.max(0, nowMs - stageEnteredAtMs);
  if (elapsed <= maxInconclusiveMs) return null;
  return {
    gate: 'maxInconclusive',
    phase: 'failed',
    message: `inconclusive for ${formatDurationMs(Math.floor(elapsed / 1000) * 1000)} > maxInconclusive ${formatDurationMs(maxInconclusiveMs)}: ${open.map((g) => g.message).join('; ')}`,
  };
}
