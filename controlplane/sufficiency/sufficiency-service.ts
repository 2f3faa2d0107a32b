/**
 * Whether a contract's evidence is enough (product.md "Enough evidence"), for the reconciler:
 * the history judgement of its revision (from the traffic map, once per revision and
 * baseline), the schedules of the CronJobs that matter to it, and the coverage of the
 * workloads it selects. The pure rules are core/sufficiency's; this joins them to the map,
 * the inventory and the schedule parser, and caches what does not change between passes.
 */
import type { Contract } from '../../core/contract/index.js';
import {
  assessHistory,
  assessSchedules,
  assessWorkloadCoverage,
  cronJobsThatMatter,
  judgeHistory,
  mergeInventories,
  PodSelection,
  selectedWorkloads,
  workloadId,
  type CronJobInfo,
  type HistoryEvidence,
  type Inventory,
  type InventoryWorkload,
  type JobSchedule,
  type PeerEdge,
  type SufficiencyGate,
  type SufficiencyView,
} from '../../core/sufficiency/index.js';
import type { ObservedPeer } from '../../core/summary/index.js';
import { parseCronSchedule } from '../../io/cron-schedule.js';
import type { MapService } from '../map/map-service.js';
import type { InventorySource } from './inventory-source.js';

export interface SufficiencyInput {
  readonly contract: Contract;
  readonly revision: number;
  readonly stageIndex: number;
  readonly stageEnteredAtMs: number;
  /** When the revision started: the history window ends there. */
  readonly revisionStartedAtMs: number;
  readonly nowMs: number;
}

export interface SufficiencyResult extends SufficiencyView {
  /** history and schedules (monitor stage only), minWorkloadCoverage (when the contract sets it). */
  readonly gates: readonly SufficiencyGate[];
}

/** What the map says, digested once per map change: who talks to whom, and when each workload was last seen. */
interface MapDigest {
  readonly changes: number;
  readonly lastSeen: ReadonlyMap<string, number>;
  readonly pairs: readonly PeerEdge[];
  readonly mapWorkloads: readonly InventoryWorkload[];
}

const podId = (p: ObservedPeer): string => `${p.namespace}/${p.workload}`;

export class SufficiencyService {
  private readonly map: MapService;
  private readonly inventory: InventorySource;
  private digest: MapDigest | null = null;
  private readonly histories = new Map<string, { key: string; history: HistoryEvidence }>();
  private readonly schedules = new Map<string, JobSchedule>();

  constructor(opts: { map: MapService; inventory: InventorySource }) {
    this.map = opts.map;
    this.inventory = opts.inventory;
  }

  forget(contract: string): void {
    this.histories.delete(contract);
  }

  private mapDigest(): MapDigest {
    const m = this.map.map;
    if (this.digest?.changes === m.changes) return this.digest;
    const lastSeen = new Map<string, number>();
    const pairs = new Map<string, PeerEdge>();
    const workloads = new Map<string, InventoryWorkload>();
    for (const e of m.all()) {
      for (const p of [e.from, e.to]) {
        if (p.kind !== 'pod') continue;
        const id = podId(p);
        lastSeen.set(id, Math.max(lastSeen.get(id) ?? 0, e.lastSeenMs));
        if (!workloads.has(id) && !p.labelsPartial) workloads.set(id, { namespace: p.namespace, name: p.workload, kind: 'Pod', podLabels: p.labels });
      }
      const key = `${podId(e.from)}\u0000${podId(e.to)}`;
      if (!pairs.has(key)) pairs.set(key, { from: e.from, to: e.to });
    }
    this.digest = { changes: m.changes, lastSeen, pairs: [...pairs.values()], mapWorkloads: [...workloads.values()] };
    return this.digest;
  }

  private scheduleOf(job: CronJobInfo): JobSchedule {
    const key = `${job.schedule}\u0000${job.timeZone ?? ''}`;
    let s = this.schedules.get(key);
    if (s === undefined) {
      const r = parseCronSchedule(job.schedule, job.timeZone);
      s = r.ok ? { ok: true, schedule: r.value } : { ok: false, error: r.error };
      if (this.schedules.size > 1000) this.schedules.clear();
      this.schedules.set(key, s);
    }
    return s;
  }

  /** The revision's history, judged once per (revision, baseline revision, window). */
  history(input: SufficiencyInput): HistoryEvidence | null {
    const { contract } = input;
    const windowMs = contract.spec.gates.historyWindowMs;
    if (windowMs <= 0) return null;
    const to = input.revisionStartedAtMs;
    const held = this.map.map.heldSinceMs(input.nowMs) ?? to;
    // To the map's bucket: the start moves (as old buckets leave the retention) at most once a bucket, not every pass.
    const bucket = this.map.map.bucketMs;
    const from = Math.min(to, Math.max(to - windowMs, held - (held % bucket)));
    const { judge, baselineRevision } = this.map.judgeFor(contract);
    const key = `${contract.policiesHash}\u0000${input.revision}\u0000${baselineRevision}\u0000${from}\u0000${to}`;
    const cached = this.histories.get(contract.name);
    if (cached?.key === key) return cached.history;
    const m = this.map.map;
    const edges = (function* () {
      for (const { edge, count } of m.window(from, to)) yield { from: edge.from, to: edge.to, port: edge.port, protocol: edge.protocol, count, lastSeenMs: Math.min(edge.lastSeenMs, to), flow: m.flowOf(edge) };
    })();
    const history = judgeHistory(edges, (e) => judge.judge(e, e.flow), from, to);
    this.histories.set(contract.name, { key, history });
    return history;
  }

  assess(input: SufficiencyInput): SufficiencyResult {
    const { contract, nowMs } = input;
    const gates = contract.spec.gates;
    const stage = contract.spec.stages[input.stageIndex];
    const history = this.history(input);
    const digest = this.mapDigest();
    const inventory: Inventory = mergeInventories(this.inventory.snapshot(), { workloads: digest.mapWorkloads, cronJobs: [] });
    const selection = new PodSelection(contract.spec.policies);
    const heldSince = this.map.map.heldSinceMs(nowMs);
    // The evidence reaches back over the history window, as far as the map holds, and over the stage.
    const historyFrom = gates.historyWindowMs > 0 && heldSince !== null ? Math.max(nowMs - gates.historyWindowMs, heldSince) : input.stageEnteredAtMs;
    const evidenceFromMs = Math.min(historyFrom, input.stageEnteredAtMs);
    const out: SufficiencyGate[] = [];
    let waitingFor: string[] = [];
    if (stage?.kind === 'monitor') {
      out.push(assessHistory(history, gates.maxWouldDeny));
      const matters = cronJobsThatMatter(selection, inventory.cronJobs, digest.pairs);
      const g = assessSchedules(
        matters.map((m) => ({ matters: m, schedule: this.scheduleOf(m.job) })),
        { evidenceFromMs, stageEnteredAtMs: input.stageEnteredAtMs, nowMs, settleMs: gates.maxReportAgeMs },
      );
      out.push({ gate: g.gate, phase: g.phase, message: g.message });
      waitingFor = g.waiting.map((v) => v.message);
    }
    let silentWorkloads: readonly string[] = [];
    if (gates.minWorkloadCoverage > 0) {
      const selected = selectedWorkloads(selection, inventory.workloads).map(workloadId);
      const seen = new Set<string>();
      for (const id of selected) if ((digest.lastSeen.get(id) ?? -Infinity) >= evidenceFromMs) seen.add(id);
      const c = assessWorkloadCoverage(selected, seen, gates.minWorkloadCoverage);
      silentWorkloads = c.silent;
      out.push({ gate: c.gate, phase: c.phase, message: c.message });
    }
    return { gates: out, history, silentWorkloads, waitingFor };
  }
}
