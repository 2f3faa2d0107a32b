/**
 * The simulated cluster as written in a scenario file (demo/cluster.yaml): namespaces,
 * workloads and the traffic model. Parsed into a frozen, defaulted spec; every problem is
 * reported with its field path, none is thrown.
 */
import { childPath, err, isObject, ok, parseCidr, parseDurationMs, problem, ProblemSink, readObject, type Problem, type Result } from '../core/common/index.js';
import { parsePolicy } from '../core/policy/index.js';
import type { Schedule } from '../core/sufficiency/index.js';
import { parseCronSchedule } from '../io/cron-schedule.js';

export type SimProtocol = 'TCP' | 'UDP';

export interface NamespaceSpec {
  readonly name: string;
  /** Extra namespace labels; `kubernetes.io/metadata.name` is always added, as Kubernetes does. */
  readonly labels: Readonly<Record<string, string>>;
}

export interface ContainerPort {
  readonly name: string | null;
  readonly port: number;
  readonly protocol: SimProtocol;
}

export interface WorkloadSpec {
  readonly namespace: string;
  readonly name: string;
  /** Deployment (default), StatefulSet, DaemonSet, Job or CronJob: what Hubble names in `workloads`. */
  readonly kind: string;
  readonly replicas: number;
  /** Pod labels. `pod-template-hash` is added to the pod but filtered from identity labels, as Cilium does. */
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string;
  readonly ports: readonly ContainerPort[];
  /** A workload that only starts calling when the scenario says so (the demo's "new caller"). */
  readonly late: boolean;
  /**
   * A CronJob's `spec.schedule` (five cron fields or a macro, UTC): its calls without a rate
   * or period run at these times, wall-clock aligned as the CronJob controller would start them.
   */
  readonly schedule: string | null;
}

export interface ExternalSpec {
  readonly name: string;
  /** An IPv4 CIDR; flows carry a `cidr:` identity for it (or `reserved:world` only, when `world` is true). */
  readonly cidr: string;
  readonly world: boolean;
  /** DNS names that resolve to it (Hubble's `destination_names`, what toFQDNs policies read); empty: none seen. */
  readonly dns: readonly string[];
}

/** `from` calls `to` on `port`: either at a steady rate, or as a periodic job. */
export interface CallSpec {
  /** `namespace/workload`. */
  readonly from: string;
  /** `namespace/workload`, or `external/<name>`. */
  readonly to: string;
  readonly port: number;
  readonly protocol: SimProtocol;
  /** New connections per second across the calling workload (steady calls). */
  readonly ratePerSec: number;
  /** Periodic calls: a burst every `everyMs`, the first after `offsetMs`. Null for steady calls. */
  readonly everyMs: number | null;
  /** Scheduled calls: a burst at each run of the calling CronJob's schedule. Null otherwise. */
  readonly schedule: Schedule | null;
  readonly offsetMs: number;
  readonly burst: number;
}

export interface ClusterSpec {
  readonly cluster: string;
  readonly nodes: number;
  readonly namespaces: readonly NamespaceSpec[];
  readonly workloads: readonly WorkloadSpec[];
  readonly externals: readonly ExternalSpec[];
  readonly calls: readonly CallSpec[];
  /** Share of pod-to-service connections preceded by a DNS lookup to kube-dns (UDP 53). */
  readonly dnsPerCall: number;
  /** `namespace/workload` of the DNS server (default kube-system/coredns). */
  readonly dnsServer: string;
  /** Kubelet probes (reserved:host → pod) per pod, in ms; 0 disables them. */
  readonly probeEveryMs: number;
  /**
   * NetworkPolicies already in force before any contract (the brownfield baseline): the
   * datapath enforces them from the start, and the demo's control plane judges contracts
   * against them (`--baseline`). Raw manifests, validated by core/policy.
   */
  readonly policies: readonly unknown[];
}

type Obj = Record<string, unknown>;

/** The cluster file's readers, on the shared toolkit (core/common/fields.ts). */
class Reader extends ProblemSink {
  string(o: Obj, key: string, path: string, fallback?: string): string {
    const v = o[key];
    if (v === undefined && fallback !== undefined) return fallback;
    if (typeof v !== 'string' || v === '') {
      this.add(childPath(path, key), `expected a non-empty string, got ${JSON.stringify(v)}`);
      return fallback ?? '';
    }
    return v;
  }
  number(o: Obj, key: string, path: string, opts: { min: number; max: number; fallback?: number }): number {
    const v = o[key];
    if (v === undefined && opts.fallback !== undefined) return opts.fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < opts.min || v > opts.max) {
      this.add(childPath(path, key), `expected a number in [${opts.min}, ${opts.max}], got ${JSON.stringify(v)}`);
      return opts.fallback ?? opts.min;
    }
    return v;
  }
  duration(o: Obj, key: string, path: string, fallback: number | null): number | null {
    const v = o[key];
    if (v === undefined) return fallback;
    if (typeof v !== 'string') {
      this.add(childPath(path, key), `expected a duration such as 30s or 2m, got ${JSON.stringify(v)}`);
      return fallback;
    }
    const r = parseDurationMs(v);
    if (!r.ok) {
      this.add(childPath(path, key), r.error);
      return fallback;
    }
    return r.value;
  }
  labels(o: Obj, key: string, path: string): Record<string, string> {
    const v = o[key];
    if (v === undefined) return {};
    if (!isObject(v)) {
      this.add(childPath(path, key), 'expected a map of label key to string value');
      return {};
    }
    const out: Record<string, string> = {};
    for (const [k, val] of Object.entries(v)) {
      if (typeof val !== 'string') this.add(childPath(childPath(path, key), k), `expected a string, got ${JSON.stringify(val)}`);
      else out[k] = val;
    }
    return out;
  }
  protocol(o: Obj, path: string): SimProtocol {
    const v = o.protocol ?? 'TCP';
    if (v !== 'TCP' && v !== 'UDP') {
      this.add(childPath(path, 'protocol'), `expected TCP or UDP, got ${JSON.stringify(v)}`);
      return 'TCP';
    }
    return v;
  }
  list(o: Obj, key: string, path: string): { item: Obj; path: string }[] {
    const v = o[key];
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.add(childPath(path, key), 'expected a list');
      return [];
    }
    const out: { item: Obj; path: string }[] = [];
    v.forEach((item: unknown, i) => {
      const p = childPath(childPath(path, key), i);
      const o = readObject(this, item, p, true);
      if (o !== undefined) out.push({ item: o, path: p });
    });
    return out;
  }
}

const kindOf = (item: Obj): string => (typeof item.kind === 'string' ? item.kind : 'Deployment');

function readSchedule(r: Reader, item: Obj, path: string, kind: string): string | null {
  const v = item.schedule;
  if (v === undefined) return null;
  const at = childPath(path, 'schedule');
  if (kind !== 'CronJob') {
    r.problems.push(problem(at, `only a CronJob has a schedule, this workload is a ${kind}`));
    return null;
  }
  if (typeof v !== 'string') {
    r.problems.push(problem(at, 'expected a cron schedule such as "*/3 * * * *" or "@hourly"'));
    return null;
  }
  const parsed = parseCronSchedule(v, null);
  if (!parsed.ok) {
    r.problems.push(problem(at, parsed.error));
    return null;
  }
  return v;
}

export function parseClusterSpec(doc: unknown): Result<ClusterSpec, Problem[]> {
  const r = new Reader();
  if (!isObject(doc)) return err([problem('', 'expected a mapping at the top level')]);
  const cluster = r.string(doc, 'cluster', '', 'default');
  const nodes = r.number(doc, 'nodes', '', { min: 1, max: 1000, fallback: 3 });
  const namespaces = r.list(doc, 'namespaces', '').map(({ item, path }) => ({
    name: r.string(item, 'name', path),
    labels: r.labels(item, 'labels', path),
  }));
  const nsNames = new Set(namespaces.map((n) => n.name));
  const workloads = r.list(doc, 'workloads', '').map(({ item, path }): WorkloadSpec => {
    const namespace = r.string(item, 'namespace', path);
    if (namespace && !nsNames.has(namespace)) r.problems.push(problem(childPath(path, 'namespace'), `unknown namespace ${JSON.stringify(namespace)}`));
    const name = r.string(item, 'name', path);
    return {
      namespace,
      name,
      kind: r.string(item, 'kind', path, 'Deployment'),
      replicas: r.number(item, 'replicas', path, { min: 1, max: 1000, fallback: 1 }),
      labels: { app: name, ...r.labels(item, 'labels', path) },
      serviceAccount: r.string(item, 'serviceAccount', path, name),
      ports: r.list(item, 'ports', path).map(({ item: p, path: pp }) => ({
        name: typeof p.name === 'string' ? p.name : null,
        port: r.number(p, 'port', pp, { min: 1, max: 65535 }),
        protocol: r.protocol(p, pp),
      })),
      late: item.late === true,
      schedule: readSchedule(r, item, path, kindOf(item)),
    };
  });
  const wlNames = new Set(workloads.map((w) => `${w.namespace}/${w.name}`));
  const schedules = new Map(workloads.filter((w) => w.schedule !== null).map((w) => [`${w.namespace}/${w.name}`, w.schedule!]));
  const externals = r.list(doc, 'externals', '').map(({ item, path }) => {
    const cidr = r.string(item, 'cidr', path);
    const parsed = cidr ? parseCidr(cidr) : null;
    if (parsed !== null && (typeof parsed === 'string' || parsed.range.version !== 4)) {
      r.problems.push(problem(childPath(path, 'cidr'), `expected an IPv4 CIDR such as 203.0.113.0/24, got ${JSON.stringify(cidr)}`));
    }
    const dns = Array.isArray(item.dns) ? item.dns.filter((d: unknown): d is string => typeof d === 'string' && /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(d)) : [];
    if (item.dns !== undefined && (!Array.isArray(item.dns) || dns.length !== item.dns.length)) r.problems.push(problem(childPath(path, 'dns'), 'expected a list of lowercase DNS names'));
    return { name: r.string(item, 'name', path), cidr, world: item.world === true, dns };
  });
  const extNames = new Set(externals.map((e) => `external/${e.name}`));
  const calls = r.list(doc, 'calls', '').map(({ item, path }): CallSpec => {
    const from = r.string(item, 'from', path);
    const to = r.string(item, 'to', path);
    if (from && !wlNames.has(from)) r.problems.push(problem(childPath(path, 'from'), `unknown workload ${JSON.stringify(from)} (expected namespace/name)`));
    if (to && !wlNames.has(to) && !extNames.has(to)) {
      r.problems.push(problem(childPath(path, 'to'), `unknown workload or external ${JSON.stringify(to)} (expected namespace/name or external/name)`));
    }
    const everyMs = r.duration(item, 'every', path, null);
    const scheduled = everyMs === null && item.rate === undefined ? (schedules.get(from) ?? null) : null;
    if (everyMs === null && item.rate === undefined && scheduled === null) {
      r.problems.push(problem(path, 'expected rate (connections/s), every (a duration), or a `from` CronJob with a schedule'));
    }
    const parsedSchedule = scheduled === null ? null : parseCronSchedule(scheduled, null);
    return {
      from,
      to,
      port: r.number(item, 'port', path, { min: 1, max: 65535 }),
      protocol: r.protocol(item, path),
      ratePerSec: everyMs === null && scheduled === null ? r.number(item, 'rate', path, { min: 0, max: 100_000, fallback: 0 }) : 0,
      everyMs,
      schedule: parsedSchedule?.ok ? parsedSchedule.value : null,
      offsetMs: r.duration(item, 'offset', path, 0) ?? 0,
      burst: r.number(item, 'burst', path, { min: 1, max: 10_000, fallback: 1 }),
    };
  });
  const dns = isObject(doc.dns) ? doc.dns : {};
  const dnsServer = r.string(dns, 'server', 'dns', 'kube-system/coredns');
  const dnsPerCall = r.number(dns, 'perCall', 'dns', { min: 0, max: 1, fallback: 0.3 });
  if (dnsPerCall > 0 && !wlNames.has(dnsServer)) r.problems.push(problem('dns.server', `unknown workload ${JSON.stringify(dnsServer)}`));
  const probeEveryMs = r.duration(doc, 'probeEvery', '', 10_000) ?? 10_000;
  const policies: unknown[] = [];
  if (doc.policies !== undefined) {
    if (!Array.isArray(doc.policies)) r.problems.push(problem('policies', 'expected a list of NetworkPolicy, CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy manifests'));
    else
      doc.policies.forEach((raw: unknown, i) => {
        const parsed = parsePolicy(raw, `policies[${i}]`);
        if (parsed.ok) policies.push(raw);
        else r.problems.push(...parsed.error);
      });
  }
  if (r.problems.length > 0) return err(r.problems);
  return ok({ cluster, nodes, namespaces, workloads, externals, calls, dnsPerCall, dnsServer, probeEveryMs, policies });
}
