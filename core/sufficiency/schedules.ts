/**
 * Schedules (product.md "Enough evidence"): a monitor stage proves nothing about a job that
 * has not run. For each CronJob that matters to a contract, the stage stays inconclusive until
 * one of its runs fell inside the evidence (the map's history or the stage), or the stage has
 * lasted one full schedule period; the reason names the CronJob and its next run.
 *
 * A run counts once its evidence has had time to arrive: `settleMs` after it started (the
 * contract's maxReportAge: a node that has not reported by then is flagged silent by the node
 * coverage gate instead). With the API server's status, only the runs it records count; from
 * manifests alone, the schedule's run times after the CronJob's creation do.
 */
import type { CronJobInfo, Schedule } from './inventory.js';
import type { MattersBecause } from './selection.js';
import type { SufficiencyGate } from './gate.js';

export interface ScheduleWindow {
  /** Where the evidence starts: the history window's start (as far as the map holds), or the stage's entry if earlier. */
  readonly evidenceFromMs: number;
  readonly stageEnteredAtMs: number;
  readonly nowMs: number;
  readonly settleMs: number;
}

export type JobSchedule = { readonly ok: true; readonly schedule: Schedule } | { readonly ok: false; readonly error: string };

export interface JobVerdict {
  readonly job: string;
  readonly ready: boolean;
  readonly message: string;
}

const iso = (ms: number): string => new Date(ms).toISOString().replace('.000Z', 'Z');

/** The gap between the first two runs after `fromMs` (null: the schedule runs fewer than twice). */
function periodAfter(s: Schedule, fromMs: number): number | null {
  const a = s.next(fromMs);
  const b = a === null ? null : s.next(a);
  return a === null || b === null ? null : b - a;
}

export function judgeJob(m: MattersBecause, parsed: JobSchedule, w: ScheduleWindow): JobVerdict {
  const job = m.job;
  const id = `${job.namespace}/${job.name}`;
  if (job.suspend) return { job: id, ready: true, message: `CronJob ${id} is suspended: no run to wait for` };
  if (!parsed.ok) return { job: id, ready: false, message: `CronJob ${id} (${m.why}): schedule ${JSON.stringify(job.schedule)} not understood (${parsed.error}); cannot tell when it runs` };
  const s = parsed.schedule;
  const from = Math.min(w.evidenceFromMs, w.stageEnteredAtMs);
  const settledBefore = w.nowMs - w.settleMs;

  const ran = lastRun(job, s, settledBefore);
  // A run at the very time the CronJob was created did not happen: the controller starts later ones.
  if (ran !== null && ran >= from && (job.createdMs === null || ran > job.createdMs)) {
    const where = ran >= w.stageEnteredAtMs ? 'in this stage' : 'inside the history window';
    return { job: id, ready: true, message: `CronJob ${id} ran at ${iso(ran)}, ${where}` };
  }
  const period = periodAfter(s, w.stageEnteredAtMs);
  if (period !== null && w.nowMs - w.stageEnteredAtMs >= period + w.settleMs) {
    return { job: id, ready: true, message: `CronJob ${id}: the stage has lasted a full schedule period (${Math.round(period / 1000)}s) without a recorded run` };
  }
  // A run that started but whose evidence is still arriving is the one waited for.
  const pending = s.next(Math.max(settledBefore, from - 1));
  const next = pending === null ? 'none scheduled' : pending <= w.nowMs ? `${iso(pending)}, evidence settling` : iso(pending);
  return { job: id, ready: false, message: `waiting for CronJob ${id} (next run ${next})` };
}

/** The latest run started at or before `beforeMs` that is known to have happened. */
function lastRun(job: CronJobInfo, s: Schedule, beforeMs: number): number | null {
  if (job.statusKnown) {
    const recorded = [job.lastSuccessfulMs, job.lastScheduleMs].filter((t): t is number => t !== null && t <= beforeMs);
    return recorded.length === 0 ? null : Math.max(...recorded);
  }
  return s.previous(beforeMs);
}

/** At most this many jobs are named in one message (the rest are counted). */
const NAMED = 3;

/** The schedules gate: passed when every CronJob that matters has run inside the evidence. */
export function assessSchedules(jobs: readonly { readonly matters: MattersBecause; readonly schedule: JobSchedule }[], w: ScheduleWindow): SufficiencyGate & { readonly waiting: readonly JobVerdict[] } {
  if (jobs.length === 0) return { gate: 'schedules', phase: 'passed', message: 'no CronJob is selected by the contract or talks to its pods', waiting: [] };
  const verdicts = jobs.map((j) => judgeJob(j.matters, j.schedule, w));
  const waiting = verdicts.filter((v) => !v.ready);
  const shown = (vs: readonly JobVerdict[]): string => vs.slice(0, NAMED).map((v) => v.message).join('; ') + (vs.length > NAMED ? `; +${vs.length - NAMED} more` : '');
  if (waiting.length === 0) return { gate: 'schedules', phase: 'passed', message: shown(verdicts), waiting };
  return { gate: 'schedules', phase: 'inconclusive', message: shown(waiting), waiting };
}
