/**
 * What the cluster runs, as the sufficiency rules need it (product.md "Enough evidence"): its
 * workloads with their pod labels, and its CronJobs with their schedules. Read from plain
 * Kubernetes objects (a `kubectl get … -o json` List, rendered manifests, or the API server's
 * list-watch), never thrown on: a malformed object is skipped with a problem naming its path.
 *
 * Pure: parsing a cron expression needs a library, so a schedule arrives as the `Schedule`
 * interface, built outside core (io/cron-schedule.ts).
 */
import { childPath, isObject, problem, type Problem, type RawObject } from '../common/index.js';

/** A cron schedule, already parsed: the run times it names, in epoch ms. */
export interface Schedule {
  /** The first run strictly after `afterMs` (null: none, e.g. 30 February). */
  next(afterMs: number): number | null;
  /** The latest run at or before `atMs` (null: none). */
  previous(atMs: number): number | null;
}

export interface InventoryWorkload {
  readonly namespace: string;
  readonly name: string;
  /** Deployment, StatefulSet, DaemonSet, Job, CronJob, or Pod (a bare pod's controller). */
  readonly kind: string;
  /** The labels its pods carry (the pod template's, or the pod's own). */
  readonly podLabels: Readonly<Record<string, string>>;
}

export interface CronJobInfo extends InventoryWorkload {
  readonly kind: 'CronJob';
  /** `spec.schedule` as written: five fields, or a macro such as `@hourly`. */
  readonly schedule: string;
  /** `spec.timeZone` (IANA name); null: the controller's zone, taken as UTC. */
  readonly timeZone: string | null;
  readonly suspend: boolean;
  /** `metadata.creationTimestamp`: no run happened before it (null: unknown). */
  readonly createdMs: number | null;
  /**
   * True when the object came from the API server with its status: then only the runs the
   * status records (`lastScheduleTime`, `lastSuccessfulTime`) count, not the schedule's
   * arithmetic (a suspended, skipped or failing job did not run).
   */
  readonly statusKnown: boolean;
  readonly lastScheduleMs: number | null;
  readonly lastSuccessfulMs: number | null;
}

export interface Inventory {
  readonly workloads: readonly InventoryWorkload[];
  readonly cronJobs: readonly CronJobInfo[];
}

export const EMPTY_INVENTORY: Inventory = { workloads: [], cronJobs: [] };

const CONTROLLER_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'ReplicaSet']);

function labelsOf(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(v)) return out;
  for (const [k, x] of Object.entries(v)) if (typeof x === 'string') out[k] = x;
  return out;
}

function timeOf(v: unknown): number | null {
  if (typeof v !== 'string' || v === '') return null;
  const ms = Date.parse(v);
  return Number.isFinite(ms) ? ms : null;
}

const obj = (v: unknown): RawObject => (isObject(v) ? v : {});

/** The pod template's labels of a controller (a CronJob's sit one level deeper). */
function templateLabels(kind: string, spec: RawObject): Record<string, string> {
  const inner = kind === 'CronJob' ? obj(obj(spec['jobTemplate'])['spec']) : spec;
  return labelsOf(obj(obj(inner['template'])['metadata'])['labels']);
}

/** The controller a pod belongs to, from its ownerReferences (ReplicaSet `x-<hash>` → `x`, Job `x-<n>` → `x`). */
function podController(meta: RawObject, podName: string): string {
  const owners = Array.isArray(meta['ownerReferences']) ? (meta['ownerReferences'] as unknown[]) : [];
  const owner = owners.find((o) => isObject(o) && o['controller'] === true) ?? owners[0];
  if (isObject(owner) && typeof owner['name'] === 'string') {
    if (owner['kind'] === 'ReplicaSet') return owner['name'].replace(/-[a-z0-9]{6,10}$/, '');
    if (owner['kind'] === 'Job') return owner['name'].replace(/-\d{6,}$/, '');
    return owner['name'];
  }
  return podName;
}

/**
 * One object into the inventory: a controller, a Pod, or a CronJob. Other kinds (Services,
 * ConfigMaps, …) are not workloads and are skipped silently; a workload without a name, or a
 * CronJob without a schedule, is a problem at `path`.
 */
export function inventoryItem(o: unknown, path: string, fromApi: boolean): { workload?: InventoryWorkload; cronJob?: CronJobInfo; problem?: Problem } {
  if (!isObject(o)) return { problem: problem(path, 'expected a Kubernetes object') };
  const kind = o['kind'];
  if (typeof kind !== 'string' || (kind !== 'Pod' && !CONTROLLER_KINDS.has(kind))) return {};
  const meta = obj(o['metadata']);
  const name = meta['name'];
  if (typeof name !== 'string' || name === '') return { problem: problem(childPath(path, 'metadata.name'), `a ${kind} needs a name`) };
  const namespace = typeof meta['namespace'] === 'string' && meta['namespace'] !== '' ? meta['namespace'] : 'default';
  const spec = obj(o['spec']);
  if (kind === 'Pod') return { workload: { namespace, name: podController(meta, name), kind: 'Pod', podLabels: labelsOf(meta['labels']) } };
  if (kind !== 'CronJob') return { workload: { namespace, name, kind, podLabels: templateLabels(kind, spec) } };
  const schedule = spec['schedule'];
  if (typeof schedule !== 'string' || schedule.trim() === '') return { problem: problem(childPath(path, 'spec.schedule'), 'a CronJob needs a schedule (five cron fields or a macro such as @hourly)') };
  const tz = spec['timeZone'];
  if (tz !== undefined && tz !== null && typeof tz !== 'string') return { problem: problem(childPath(path, 'spec.timeZone'), 'expected an IANA time zone name such as Europe/Berlin') };
  const status = obj(o['status']);
  const cronJob: CronJobInfo = {
    namespace,
    name,
    kind: 'CronJob',
    podLabels: templateLabels(kind, spec),
    schedule: schedule.trim(),
    timeZone: typeof tz === 'string' && tz !== '' ? tz : null,
    suspend: spec['suspend'] === true,
    createdMs: timeOf(meta['creationTimestamp']),
    statusKnown: fromApi,
    lastScheduleMs: timeOf(status['lastScheduleTime']),
    lastSuccessfulMs: timeOf(status['lastSuccessfulTime']),
  };
  return { workload: cronJob, cronJob };
}

/**
 * Builds an inventory from objects (Lists are unwrapped). Pods of one controller fold into one
 * workload (the first pod's labels stand for it); a controller named by both its manifest and
 * its pods appears once, the manifest winning.
 */
export function buildInventory(objects: readonly { readonly object: unknown; readonly path: string }[], fromApi: boolean): { inventory: Inventory; problems: Problem[] } {
  const workloads = new Map<string, InventoryWorkload>();
  const cronJobs = new Map<string, CronJobInfo>();
  const problems: Problem[] = [];
  const add = (o: unknown, path: string): void => {
    if (isObject(o) && Array.isArray(o['items']) && typeof o['kind'] === 'string' && o['kind'].endsWith('List')) {
      (o['items'] as unknown[]).forEach((item, i) => add(item, childPath(childPath(path, 'items'), i)));
      return;
    }
    const r = inventoryItem(o, path, fromApi);
    if (r.problem) problems.push(r.problem);
    if (r.cronJob) cronJobs.set(`${r.cronJob.namespace}/${r.cronJob.name}`, r.cronJob);
    if (r.workload) {
      const key = `${r.workload.namespace}/${r.workload.name}`;
      const have = workloads.get(key);
      if (have === undefined || (have.kind === 'Pod' && r.workload.kind !== 'Pod')) workloads.set(key, r.workload);
    }
  };
  for (const { object, path } of objects) add(object, path);
  const byKey = <T extends InventoryWorkload>(m: Map<string, T>): T[] => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
  return { inventory: { workloads: byKey(workloads), cronJobs: byKey(cronJobs) }, problems };
}

/** Two inventories as one (file manifests beside what the map has seen): the first wins on a name clash. */
export function mergeInventories(a: Inventory, b: Inventory): Inventory {
  const names = new Set(a.workloads.map((w) => `${w.namespace}/${w.name}`));
  const jobs = new Set(a.cronJobs.map((w) => `${w.namespace}/${w.name}`));
  return {
    workloads: [...a.workloads, ...b.workloads.filter((w) => !names.has(`${w.namespace}/${w.name}`))],
    cronJobs: [...a.cronJobs, ...b.cronJobs.filter((w) => !jobs.has(`${w.namespace}/${w.name}`))],
  };
}
