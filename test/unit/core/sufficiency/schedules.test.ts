import { describe, expect, it } from 'vitest';
import { assessSchedules, buildInventory, cronJobsThatMatter, judgeJob, PodSelection, type CronJobInfo } from '../../../../core/sufficiency/index.js';
import { parseCronSchedule } from '../../../../io/cron-schedule.js';
import { parsePolicy, type Policy } from '../../../../core/policy/index.js';
import { aPeer, denyIngress, policy, policyDoc } from '../../../support/map-builders.js';

const T = (s: string): number => Date.parse(s);

/** A CiliumNetworkPolicy (namespace given) or CiliumClusterwideNetworkPolicy selecting `endpointSelector`. */
function cilium(namespace: string | null, endpointSelector: Record<string, unknown>): Policy {
  const doc = {
    apiVersion: 'cilium.io/v2',
    kind: namespace === null ? 'CiliumClusterwideNetworkPolicy' : 'CiliumNetworkPolicy',
    metadata: { name: 'lock', ...(namespace === null ? {} : { namespace }) },
    spec: { endpointSelector, ingress: [{ fromEndpoints: [{ matchLabels: { app: 'web' } }] }] },
  };
  const r = parsePolicy(doc, 'test');
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

function cronJob(o: Partial<CronJobInfo> = {}): CronJobInfo {
  return {
    namespace: 'payments',
    name: 'invoice-job',
    kind: 'CronJob',
    podLabels: { app: 'invoice-job' },
    schedule: '*/3 * * * *',
    timeZone: null,
    suspend: false,
    createdMs: null,
    statusKnown: false,
    lastScheduleMs: null,
    lastSuccessfulMs: null,
    ...o,
  };
}

const parsed = (job: CronJobInfo) => {
  const r = parseCronSchedule(job.schedule, job.timeZone);
  return r.ok ? { ok: true as const, schedule: r.value } : { ok: false as const, error: r.error };
};
const matters = (job: CronJobInfo) => ({ job, why: 'selected by the contract' });

describe('cron schedules (croner, Kubernetes dialect)', () => {
  it('reads five fields, macros and time zones, and refuses what the CronJob API does not mean', () => {
    const at = T('2026-12-06T17:04:30Z');
    const next = (s: string, tz: string | null = null) => {
      const r = parseCronSchedule(s, tz);
      if (!r.ok) throw new Error(r.error);
      return new Date(r.value.next(at)!).toISOString();
    };
    expect(next('*/3 * * * *')).toBe('2026-12-06T17:06:00.000Z');
    expect(next('@hourly')).toBe('2026-12-06T18:00:00.000Z');
    expect(next('@daily')).toBe('2026-12-07T00:00:00.000Z');
    expect(next('@weekly')).toBe('2026-12-13T00:00:00.000Z'); // Sunday midnight
    expect(next('0 2 * * *', 'Europe/Berlin')).toBe('2026-12-07T01:00:00.000Z'); // CET is UTC+1 in December
    // Day-of-month and day-of-week restricted together are ORed, as cron does: the 1st or any Monday.
    expect(next('0 0 1 * 1')).toBe('2026-12-07T00:00:00.000Z');
    for (const [s, tz, why] of [
      ['0 0 2 * * *', null, 'expected five fields'],
      ['@every 1h', null, '@every'],
      ['@fortnightly', null, 'unknown macro'],
      ['61 * * * *', null, 'minute'],
      ['0 2 * * *', 'Mars/Olympus', 'unknown time zone'],
    ] as const) {
      const r = parseCronSchedule(s, tz);
      expect(r.ok, s).toBe(false);
      if (!r.ok) expect(r.error).toContain(why);
    }
  });

  it('previous() counts a run at exactly the reference time', () => {
    const r = parseCronSchedule('*/3 * * * *', null);
    if (!r.ok) throw new Error(r.error);
    expect(r.value.previous(T('2026-12-06T17:03:00Z'))).toBe(T('2026-12-06T17:03:00Z'));
    expect(r.value.previous(T('2026-12-06T17:02:59Z'))).toBe(T('2026-12-06T17:00:00Z'));
  });
});

describe('which CronJobs matter to a contract', () => {
  const jobs = [cronJob(), cronJob({ namespace: 'data', name: 'backup', podLabels: { app: 'backup' } }), cronJob({ namespace: 'data', name: 'report', podLabels: { app: 'report' } })];

  it('a CronJob the policies select matters; one in another namespace matters only when the map shows it talking to a selected pod', () => {
    const sel = new PodSelection([policy(denyIngress('payments'))]);
    const edges = [
      { from: aPeer('data', 'backup'), to: aPeer('payments', 'ledger') },
      { from: aPeer('data', 'report'), to: aPeer('data', 'postgres') },
    ];
    const out = cronJobsThatMatter(sel, jobs, edges);
    expect(out.map((m) => [`${m.job.namespace}/${m.job.name}`, m.why])).toEqual([
      ['payments/invoice-job', 'selected by the contract'],
      ['data/backup', 'talks to payments/ledger'],
    ]);
  });

  it('a selector that does not match the job pods leaves it out', () => {
    const sel = new PodSelection([policy(policyDoc('payments', 'ledger', { podSelector: { matchLabels: { app: 'ledger' } }, policyTypes: ['Ingress'] }))]);
    expect(cronJobsThatMatter(sel, [cronJob()], []).map((m) => m.job.name)).toEqual([]);
    // ... until the map shows the job calling the ledger.
    expect(cronJobsThatMatter(sel, [cronJob()], [{ from: aPeer('payments', 'invoice-job'), to: aPeer('payments', 'ledger') }]).map((m) => m.why)).toEqual(['talks to payments/ledger']);
  });
});

describe('which CronJobs matter to a contract of Cilium policies', () => {
  it('a CNP whose endpointSelector selects the job pods makes the job matter; one in another namespace does not', () => {
    const job = cronJob();
    expect(cronJobsThatMatter(new PodSelection([cilium('payments', { matchLabels: { app: 'invoice-job' } })]), [job], []).map((m) => m.why)).toEqual(['selected by the contract']);
    // Source-prefixed keys read as Cilium reads them.
    expect(cronJobsThatMatter(new PodSelection([cilium('payments', { matchLabels: { 'k8s:app': 'invoice-job' } })]), [job], []).map((m) => m.job.name)).toEqual(['invoice-job']);
    expect(cronJobsThatMatter(new PodSelection([cilium('data', { matchLabels: { app: 'invoice-job' } })]), [job], [])).toEqual([]);
    expect(cronJobsThatMatter(new PodSelection([cilium('payments', { matchLabels: { app: 'ledger' } })]), [job], [])).toEqual([]);
  });

  it('a CCNP selects in every namespace, down to its own namespace requirement', () => {
    const job = cronJob();
    expect(cronJobsThatMatter(new PodSelection([cilium(null, {})]), [job], []).map((m) => m.why)).toEqual(['selected by the contract']);
    expect(cronJobsThatMatter(new PodSelection([cilium(null, { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'payments' } })]), [job], []).length).toBe(1);
    expect(cronJobsThatMatter(new PodSelection([cilium(null, { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'data' } })]), [job], [])).toEqual([]);
  });

  it('a CNP that selects the ledger makes the job matter once the map shows it calling the ledger', () => {
    const sel = new PodSelection([cilium('payments', { matchLabels: { app: 'ledger' } })]);
    expect(cronJobsThatMatter(sel, [cronJob()], [{ from: aPeer('payments', 'invoice-job'), to: aPeer('payments', 'ledger') }]).map((m) => m.why)).toEqual(['talks to payments/ledger']);
  });
});

describe('the schedules gate', () => {
  const settleMs = 10_000;

  it('waits for a job that has not run inside the evidence, naming it and its next run', () => {
    const job = cronJob();
    const stage = T('2026-12-06T17:03:30Z');
    const v = judgeJob(matters(job), parsed(job), { evidenceFromMs: stage, stageEnteredAtMs: stage, nowMs: T('2026-12-06T17:05:00Z'), settleMs });
    expect(v).toEqual({ job: 'payments/invoice-job', ready: false, message: 'waiting for CronJob payments/invoice-job (next run 2026-12-06T17:06:00Z)' });
  });

  it('a run inside the stage counts once its evidence has settled', () => {
    const job = cronJob();
    const stage = T('2026-12-06T17:03:30Z');
    const w = (now: string) => ({ evidenceFromMs: stage, stageEnteredAtMs: stage, nowMs: T(now), settleMs });
    const settling = judgeJob(matters(job), parsed(job), w('2026-12-06T17:06:05Z'));
    expect(settling.ready).toBe(false);
    expect(settling.message).toContain('2026-12-06T17:06:00Z, evidence settling');
    const done = judgeJob(matters(job), parsed(job), w('2026-12-06T17:06:10Z'));
    expect(done).toMatchObject({ ready: true, message: 'CronJob payments/invoice-job ran at 2026-12-06T17:06:00Z, in this stage' });
  });

  it('a run inside the history window counts from the first second', () => {
    const job = cronJob({ schedule: '0 2 * * *' });
    const now = T('2026-12-06T17:00:00Z');
    const v = judgeJob(matters(job), parsed(job), { evidenceFromMs: now - 7 * 86_400_000, stageEnteredAtMs: now, nowMs: now, settleMs });
    expect(v).toMatchObject({ ready: true, message: 'CronJob payments/invoice-job ran at 2026-12-06T02:00:00Z, inside the history window' });
    // The map holds only two hours: the nightly run is outside it, so the stage waits.
    const short = judgeJob(matters(job), parsed(job), { evidenceFromMs: now - 2 * 3_600_000, stageEnteredAtMs: now, nowMs: now, settleMs });
    expect(short.message).toBe('waiting for CronJob payments/invoice-job (next run 2026-12-07T02:00:00Z)');
  });

  it('no run before the CronJob existed counts', () => {
    const job = cronJob({ schedule: '0 2 * * *', createdMs: T('2026-12-06T03:00:00Z') });
    const now = T('2026-12-06T17:00:00Z');
    expect(judgeJob(matters(job), parsed(job), { evidenceFromMs: now - 7 * 86_400_000, stageEnteredAtMs: now, nowMs: now, settleMs }).ready).toBe(false);
  });

  it('with the API server status only recorded runs count; after one full period without one the stage stops waiting', () => {
    const job = cronJob({ schedule: '@hourly', statusKnown: true, lastScheduleMs: T('2026-12-01T00:00:00Z') });
    const stage = T('2026-12-06T17:30:00Z');
    const w = (now: string) => ({ evidenceFromMs: stage - 3_600_000, stageEnteredAtMs: stage, nowMs: T(now), settleMs });
    // The schedule says 17:00 and 18:00 happened, but the status records no run since Dec 1 (suspended, failing?).
    expect(judgeJob(matters(job), parsed(job), w('2026-12-06T18:05:00Z')).ready).toBe(false);
    const after = judgeJob(matters(job), parsed(job), w('2026-12-06T18:30:10Z'));
    expect(after.ready).toBe(true);
    expect(after.message).toContain('full schedule period (3600s)');
    const recorded = judgeJob(matters({ ...job, lastSuccessfulMs: T('2026-12-06T17:40:00Z') }), parsed(job), w('2026-12-06T17:45:00Z'));
    expect(recorded).toMatchObject({ ready: true, message: 'CronJob payments/invoice-job ran at 2026-12-06T17:40:00Z, in this stage' });
  });

  it('a schedule it cannot read keeps the stage inconclusive with the parser reason; a suspended job is not waited for', () => {
    const bad = cronJob({ schedule: '@every 1h' });
    const now = T('2026-12-06T17:00:00Z');
    const g = assessSchedules([{ matters: matters(bad), schedule: parsed(bad) }, { matters: matters(cronJob({ name: 'paused', suspend: true })), schedule: parsed(cronJob()) }], { evidenceFromMs: now, stageEnteredAtMs: now, nowMs: now, settleMs });
    expect(g.phase).toBe('inconclusive');
    expect(g.message).toContain('CronJob payments/invoice-job (selected by the contract): schedule "@every 1h" not understood (@every is not supported');
    expect(g.message).not.toContain('paused');
    expect(assessSchedules([], { evidenceFromMs: now, stageEnteredAtMs: now, nowMs: now, settleMs }).phase).toBe('passed');
  });
});

describe('inventory from objects', () => {
  it('reads CronJobs (schedule, zone, template labels, status) and workloads from Lists and Pods, naming bad objects by path', () => {
    const { inventory, problems } = buildInventory(
      [
        {
          path: 'cronjobs.json',
          object: {
            kind: 'List',
            items: [
              {
                kind: 'CronJob',
                metadata: { name: 'invoice-job', namespace: 'payments', creationTimestamp: '2026-12-01T00:00:00Z' },
                spec: { schedule: '*/3 * * * *', timeZone: 'Europe/Berlin', jobTemplate: { spec: { template: { metadata: { labels: { app: 'invoice-job' } } } } } },
                status: { lastScheduleTime: '2026-12-06T17:03:00Z' },
              },
              { kind: 'CronJob', metadata: { name: 'broken', namespace: 'payments' }, spec: {} },
            ],
          },
        },
        { path: 'pods.json', object: { kind: 'Pod', metadata: { name: 'ledger-0', namespace: 'payments', labels: { app: 'ledger' }, ownerReferences: [{ kind: 'StatefulSet', name: 'ledger', controller: true }] } } },
        { path: 'svc.yaml', object: { kind: 'Service', metadata: { name: 'ledger' } } },
      ],
      true,
    );
    expect(problems).toEqual([{ path: 'cronjobs.json.items[1].spec.schedule', message: expect.stringContaining('needs a schedule') }]);
    expect(inventory.cronJobs).toEqual([
      expect.objectContaining({ namespace: 'payments', name: 'invoice-job', schedule: '*/3 * * * *', timeZone: 'Europe/Berlin', podLabels: { app: 'invoice-job' }, statusKnown: true, lastScheduleMs: T('2026-12-06T17:03:00Z'), createdMs: T('2026-12-01T00:00:00Z') }),
    ]);
    expect(inventory.workloads.map((w) => `${w.kind}:${w.namespace}/${w.name}`)).toEqual(['CronJob:payments/invoice-job', 'Pod:payments/ledger']);
  });
});
