/**
 * The demo's working folder: the bundled contracts (durations compressed by a factor for
 * `--fast`), a state folder, a random bearer token and the processes' logs. A fresh folder per
 * run, so a demo never resumes an old ramp by accident.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parse, stringify } from 'yaml';
import { parseDurationMs, isObject } from '../../core/common/index.js';
import { parseCronSchedule } from '../../io/cron-schedule.js';
import type { ClusterSpec } from '../cluster-spec.js';

export interface DemoWorkdir {
  readonly root: string;
  readonly contractsDir: string;
  /** The policies already in force (the cluster spec's `policies`), for `--baseline`. */
  readonly baselineDir: string;
  /** The cluster's workloads and CronJobs as manifests, for `--workloads` (null: none given). */
  readonly workloadsFile: string | null;
  readonly stateDir: string;
  readonly logDir: string;
  readonly tokenFile: string;
  readonly token: string;
}

type Obj = Record<string, unknown>;

/** Report ages below this would flap with one-second windows on a busy 2-core machine. */
const MIN_REPORT_AGE_MS = 5000;

const scaleDuration = (value: unknown, factor: number, minMs = 0): unknown => {
  if (typeof value !== 'string') return value;
  const r = parseDurationMs(value);
  return r.ok ? `${Math.max(minMs, Math.round(r.value / factor))}ms` : value;
};

/** A contract document with its stage durations, report age and minimum flows divided by `factor`. */
export function compressContract(doc: unknown, factor: number): unknown {
  if (factor === 1 || !isObject(doc) || !isObject(doc.spec)) return doc;
  const spec: Obj = { ...doc.spec };
  if (isObject(spec.rollout) && Array.isArray(spec.rollout.stages)) {
    spec.rollout = {
      ...spec.rollout,
      stages: spec.rollout.stages.map((s: unknown) => (isObject(s) ? { ...s, minDuration: scaleDuration(s.minDuration, factor) } : s)),
    };
  }
  if (isObject(spec.gates)) {
    const g: Obj = { ...spec.gates };
    g.maxReportAge = scaleDuration(g.maxReportAge, factor, MIN_REPORT_AGE_MS);
    if (typeof g.minFlows === 'number') g.minFlows = Math.max(1, Math.ceil(g.minFlows / factor));
    spec.gates = g;
  }
  return { ...doc, spec };
}

/** The cluster spec with its periodic jobs' period and offset divided by `factor`. */
export function compressSpec(spec: ClusterSpec, factor: number): ClusterSpec {
  if (factor === 1) return spec;
  return {
    ...spec,
    calls: spec.calls.map((c) => (c.everyMs === null ? c : { ...c, everyMs: Math.round(c.everyMs / factor), offsetMs: Math.round(c.offsetMs / factor) })),
  };
}

export function createWorkdir(opts: { contractsFrom: string; factor: number; root?: string; baseline?: readonly unknown[]; workloads?: Record<string, unknown> }): DemoWorkdir {
  const root = opts.root ?? mkdtempSync(path.join(tmpdir(), 'rampart-demo-'));
  const contractsDir = path.join(root, 'contracts');
  const baselineDir = path.join(root, 'baseline');
  const stateDir = path.join(root, 'state');
  const logDir = path.join(root, 'logs');
  for (const d of [contractsDir, baselineDir, stateDir, logDir]) mkdirSync(d, { recursive: true });
  if ((opts.baseline ?? []).length > 0) writeFileSync(path.join(baselineDir, 'preexisting.yaml'), stringify({ apiVersion: 'v1', kind: 'List', items: opts.baseline }));
  for (const file of readdirSync(opts.contractsFrom).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    const doc: unknown = parse(readFileSync(path.join(opts.contractsFrom, file), 'utf8'));
    writeFileSync(path.join(contractsDir, file), stringify(compressContract(doc, opts.factor)));
  }
  const workloadsFile = opts.workloads === undefined ? null : path.join(root, 'workloads.yaml');
  if (workloadsFile !== null) writeFileSync(workloadsFile, stringify(opts.workloads));
  const token = randomBytes(12).toString('hex');
  const tokenFile = path.join(root, 'token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  return { root, contractsDir, baselineDir, workloadsFile, stateDir, logDir, tokenFile, token };
}

/**
 * Pins the minute offset of `*\/N` CronJob schedules (`*\/3 * * * *` becomes `1-59/3 * * * *`)
 * so the first run comes between `leadMs` and `leadMs` + N minutes after `nowMs`: every N
 * minutes still, but the demo's story (a contract held until the job's first run) never
 * starts with a run a second away or waits the whole period for its first one.
 */
export function pinFirstRuns(spec: ClusterSpec, nowMs: number, leadMs: number): ClusterSpec {
  const pinned = new Map<string, string>();
  const workloads = spec.workloads.map((w) => {
    const m = w.schedule === null ? null : /^\*\/(\d+)(\s.*)$/.exec(w.schedule);
    if (m === null) return w;
    const step = Number(m[1]);
    const target = nowMs + leadMs;
    const firstMinute = new Date(Math.ceil(target / 60_000) * 60_000).getUTCMinutes();
    const schedule = `${firstMinute % step}-59/${step}${m[2]}`;
    pinned.set(`${w.namespace}/${w.name}`, schedule);
    return { ...w, schedule };
  });
  if (pinned.size === 0) return spec;
  const calls = spec.calls.map((c) => {
    const s = pinned.get(c.from);
    if (s === undefined || c.schedule === null) return c;
    const parsed = parseCronSchedule(s, null);
    return parsed.ok ? { ...c, schedule: parsed.value } : c;
  });
  return { ...spec, workloads, calls };
}
