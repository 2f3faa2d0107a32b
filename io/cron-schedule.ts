/**
 * CronJob schedules as Kubernetes reads them (`spec.schedule`, `spec.timeZone`): five fields
 * (minute hour day-of-month month day-of-week; a restricted day-of-month and day-of-week are
 * ORed, as cron and the CronJob controller do) or a macro (`@yearly`, `@annually`,
 * `@monthly`, `@weekly`, `@daily`, `@midnight`, `@hourly`), in the CronJob's time zone (UTC
 * when none is given). Parsed by croner; this module only pins the dialect and gives the
 * core/sufficiency `Schedule` interface.
 */
import { Cron } from 'croner';
import { err, ok, type Result } from '../core/common/index.js';
import type { Schedule } from '../core/sufficiency/index.js';

const MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

/** How far back `previous` looks: past a year, a schedule that names no run is treated as never run. */
const PREVIOUS_LIMIT = 1;

export function parseCronSchedule(schedule: string, timeZone: string | null): Result<Schedule, string> {
  const text = schedule.trim();
  if (text.startsWith('@every')) return err('@every is not supported: its runs depend on when the CronJob controller started');
  if (/^(TZ|CRON_TZ)=/.test(text)) return err('a time zone inside the schedule is not allowed; use spec.timeZone');
  const pattern = MACROS[text.toLowerCase()] ?? text;
  if (pattern.startsWith('@')) return err(`unknown macro ${JSON.stringify(text)} (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)`);
  const fields = pattern.split(/\s+/).length;
  if (fields !== 5) return err(`expected five fields (minute hour day-of-month month day-of-week) or a macro such as @hourly, got ${fields} in ${JSON.stringify(text)}`);
  if (timeZone !== null) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone });
    } catch {
      return err(`unknown time zone ${JSON.stringify(timeZone)} (expected an IANA name such as Europe/Berlin)`);
    }
  }
  let cron: Cron;
  try {
    cron = new Cron(pattern, { paused: true, mode: '5-part', domAndDow: false, timezone: timeZone ?? 'UTC' });
    // An unknown time zone only shows when a date is computed.
    cron.nextRun(new Date(0));
  } catch (e) {
    return err((e instanceof Error ? e.message : String(e)).replace(/^Cron\w*: /, ''));
  }
  return ok({
    next(afterMs: number): number | null {
      return cron.nextRun(new Date(afterMs))?.getTime() ?? null;
    },
    previous(atMs: number): number | null {
      // croner's previousRuns looks strictly before its reference; a run at exactly atMs counts.
      const [run] = cron.previousRuns(PREVIOUS_LIMIT, new Date(atMs + 1));
      return run === undefined ? null : run.getTime();
    },
  });
}
