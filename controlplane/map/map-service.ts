/**
 * The traffic map's use cases: ingest agents' observed edges, persist the map, and judge it
 * (GET /api/v1/map, POST /api/v1/preview, the admission webhook) against the baseline
 * (controlplane/baseline/baseline-source.ts) and a contract or a NetworkPolicy change.
 *
 * Judges are compiled once per (baseline revision, proposal) and kept in a small cache, so a
 * dashboard polling the map of one contract costs one pass over the edges per request.
 */
import type { Clock, Logger } from '../../core/common/index.js';
import type { Contract } from '../../core/contract/index.js';
import { MapJudge, type EdgeJudgement, type MapVerdict } from '../../core/map/index.js';
import { ciliumDepartures, createEvaluator, identityKey, identityOf, isHostPolicyManifest, parsePolicy, policyRef, type Policy, type PolicyEvaluator } from '../../core/policy/index.js';
import { peerName, type WindowSummary } from '../../core/summary/index.js';
import { baselineFor, type BaselineSnapshot, type BaselineSource } from '../baseline/baseline-source.js';
import { EMPTY_BASELINE_SOURCE } from '../baseline/file-baseline-source.js';
import { loadMapFile, saveMapFile } from './map-file.js';
import { TrafficMap, type MapEdge, type TrafficMapOptions } from './traffic-map.js';

/** The default of `--map-save-interval`: what a kill -9 can lose of the map at most. */
export const MAP_SAVE_INTERVAL_MS = 5_000;
const JUDGE_CACHE = 16;

export interface MapNodeJson {
  readonly id: string;
  readonly namespace: string;
  readonly workload: string;
  readonly kind: string;
}

export interface MapEdgeJson {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly count: number;
  readonly lastSeen: string;
  readonly verdict: MapVerdict;
  readonly egress: EdgeJudgement['egress'];
  readonly ingress: EdgeJudgement['ingress'];
  readonly reason: string;
}

export interface MapJson {
  readonly contract: string | null;
  readonly since: string;
  readonly baselineRevision: string;
  readonly nodes: readonly MapNodeJson[];
  readonly edges: readonly MapEdgeJson[];
  /** Connections folded into "other" (edge bounds), within `since`. */
  readonly other: number;
  readonly verdicts: Readonly<Record<MapVerdict, number>>;
  /**
   * Where Cilium enforces a NetworkPolicy judged here differently from its upstream text
   * (core/policy/departures.ts): the contract's own policies, and the baseline's of a namespace
   * some edge shown has a pod in (only those can change a verdict shown). Never blocking.
   */
  readonly warnings: readonly { readonly path: string; readonly message: string }[];
  readonly elapsedMs: number;
}

/** An empty baseline (file mode without --baseline). */
export const EMPTY_BASELINE: BaselineSource = EMPTY_BASELINE_SOURCE;

export interface MapServiceOptions extends TrafficMapOptions {
  /** Where traffic-map.json lives; null keeps the map in memory only. */
  readonly stateDir: string | null;
  readonly baseline: BaselineSource;
  readonly clock: Clock;
  readonly log: Logger;
  /** How often a changed map is written (default MAP_SAVE_INTERVAL_MS); close() always writes. */
  readonly saveIntervalMs?: number;
}

/** The last write of the map file, for /metrics and the failover figures. */
export interface MapSaveStats {
  readonly saves: number;
  readonly failures: number;
  /** When the file was last written (the service's clock), or null. */
  readonly lastSavedAtMs: number | null;
  /** Edges in the file last written. */
  readonly lastSavedEdges: number;
}

export interface NewlyDeniedEdge {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly count: number;
}

export class MapService {
  readonly map: TrafficMap;
  private readonly o: MapServiceOptions;
  private timer: NodeJS.Timeout | null = null;
  private savedChanges = -1;
  private saveStats: MapSaveStats = { saves: 0, failures: 0, lastSavedAtMs: null, lastSavedEdges: 0 };
  private parsedBaseline: { revision: string; policies: { ref: string; owner: string | null; policy: Policy }[] } | null = null;
  private readonly judges = new Map<string, MapJudge>();
  private baselineEvaluator: PolicyEvaluator | undefined;

  constructor(options: MapServiceOptions) {
    this.o = options;
    this.map = new TrafficMap(options);
    if (options.stateDir !== null) {
      const loaded = loadMapFile(options.stateDir);
      if (loaded.kind === 'loaded') {
        this.map.restore(loaded.snapshot, options.clock.nowMs());
        options.log.info('traffic map loaded', { edges: this.map.size });
      } else if (loaded.kind === 'bad') {
        options.log.warn('traffic map unreadable; starting empty', { problem: loaded.problem, movedTo: loaded.movedTo });
      }
      this.savedChanges = this.map.changes;
    }
  }

  start(): void {
    if (this.o.stateDir === null || this.timer !== null) return;
    this.timer = setInterval(() => {
      this.save();
    }, this.o.saveIntervalMs ?? MAP_SAVE_INTERVAL_MS);
    this.timer.unref();
  }

  /** Stops the timer and writes the map one last time. */
  close(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.save();
  }

  save(): void {
    if (this.o.stateDir === null || this.map.changes === this.savedChanges) return;
    try {
      const changes = this.map.changes;
      saveMapFile(this.o.stateDir, this.map.toJSON());
      this.savedChanges = changes;
      this.saveStats = { ...this.saveStats, saves: this.saveStats.saves + 1, lastSavedAtMs: this.o.clock.nowMs(), lastSavedEdges: this.map.size };
    } catch (e) {
      this.saveStats = { ...this.saveStats, failures: this.saveStats.failures + 1 };
      this.o.log.warn('saving the traffic map failed', { err: e instanceof Error ? e : { message: String(e) } });
    }
  }

  saves(): MapSaveStats {
    return this.saveStats;
  }

  /** An accepted (deduplicated) report. */
  ingest(summary: WindowSummary, nowMs: number): void {
    if (summary.observedEdges === undefined && (summary.observedEdgesOverflow ?? 0) === 0) return;
    this.map.ingest(summary.observedEdges ?? [], summary.observedEdgesOverflow ?? 0, nowMs);
  }

  private baseline(): { snapshot: BaselineSnapshot; policies: { ref: string; owner: string | null; policy: Policy }[] } {
    const snapshot = this.o.baseline.snapshot();
    if (this.parsedBaseline?.revision !== snapshot.revision) {
      const policies: { ref: string; owner: string | null; policy: Policy }[] = [];
      for (const p of snapshot.policies) {
        // A host policy governs nodes, no pod side: nothing to judge an edge by, nothing to warn about.
        if (isHostPolicyManifest(p.manifest)) continue;
        const r = parsePolicy(p.manifest, p.ref);
        // An unparseable baseline policy is left out with a warning (the API server accepted it; we cannot judge it).
        if (r.ok) policies.push({ ref: p.ref, owner: p.owner, policy: r.value });
        else this.o.log.warn('baseline policy not understood; left out of map verdicts', { ref: p.ref, problems: r.error.slice(0, 3) });
      }
      this.parsedBaseline = { revision: snapshot.revision, policies };
      this.judges.clear();
      this.baselineEvaluator = undefined;
    }
    return { snapshot, policies: this.parsedBaseline.policies };
  }

  /** The evaluator of every policy in force, compiled once per baseline revision. */
  private inForce(policies: readonly { policy: Policy }[]): PolicyEvaluator {
    this.baselineEvaluator ??= createEvaluator(policies.map((p) => p.policy));
    return this.baselineEvaluator;
  }

  private cachedJudge(key: string, make: () => MapJudge): MapJudge {
    let j = this.judges.get(key);
    if (j === undefined) {
      j = make();
      if (this.judges.size >= JUDGE_CACHE) this.judges.delete(this.judges.keys().next().value!);
      this.judges.set(key, j);
    }
    return j;
  }

  /** The judge of a contract's preview (or of the baseline alone when `contract` is null), and the baseline policies it reads. */
  judgeFor(contract: Contract | null): { judge: MapJudge; baselineRevision: string; baseline: readonly { ref: string; policy: Policy }[] } {
    const { snapshot, policies } = this.baseline();
    if (contract === null) return { judge: this.cachedJudge('\u0000baseline', () => MapJudge.baselineOnly(this.inForce(policies))), baselineRevision: snapshot.revision, baseline: policies };
    const own = new Set(baselineFor(snapshot, contract.name).map((p) => p.ref));
    const removed = new Set([...contract.spec.replaces, ...contract.spec.removes].map(identityKey));
    const baseline = policies.filter((p) => own.has(p.ref));
    return {
      judge: this.cachedJudge(`${contract.name}\u0000${contract.policiesHash}`, () => MapJudge.forContract({ baseline: baseline.map((p) => p.policy), proposed: contract.spec.policies, removed: [...contract.spec.replaces, ...contract.spec.removes] })),
      baselineRevision: snapshot.revision,
      // What the contract replaces or removes is not judged after the change; its departures are the baseline's before it.
      baseline: baseline.filter((p) => !removed.has(identityKey(identityOf(p.policy)))),
    };
  }

  /** The map judged for a contract (or the baseline alone), edges seen since `sinceMs`. */
  judged(contract: Contract | null, sinceMs: number): MapJson {
    const started = performance.now();
    const nowMs = this.o.clock.nowMs();
    const { judge, baselineRevision, baseline } = this.judgeFor(contract);
    const nodes = new Map<string, MapNodeJson>();
    const verdicts: Record<MapVerdict, number> = { allow: 0, 'would-deny': 0, 'already-denied': 0, 'newly-allowed': 0, denied: 0, indeterminate: 0 };
    const edges: MapEdgeJson[] = [];
    for (const { edge, count } of this.map.query(sinceMs, nowMs)) {
      const j = judge.judge(edge, this.map.flowOf(edge));
      verdicts[j.verdict]++;
      const from = peerName(edge.from);
      const to = peerName(edge.to);
      if (!nodes.has(from)) nodes.set(from, { id: from, namespace: edge.from.namespace, workload: edge.from.workload, kind: edge.from.kind });
      if (!nodes.has(to)) nodes.set(to, { id: to, namespace: edge.to.namespace, workload: edge.to.workload, kind: edge.to.kind });
      edges.push({ from, to, port: edge.port, protocol: edge.protocol, count, lastSeen: new Date(edge.lastSeenMs).toISOString(), verdict: j.verdict, egress: j.egress, ingress: j.ingress, reason: j.reason });
    }
    const shown = new Set([...nodes.values()].filter((n) => n.kind === 'pod').map((n) => n.namespace));
    const touching = baseline.filter((p) => p.policy.namespace === '' || shown.has(p.policy.namespace));
    const warnings = [
      ...(contract?.departures ?? []),
      ...touching.flatMap((p) => ciliumDepartures([p.policy], () => `baseline ${p.ref}`)),
    ].map((w) => ({ path: w.path, message: w.message }));
    return {
      contract: contract?.name ?? null,
      since: new Date(sinceMs).toISOString(),
      baselineRevision,
      nodes: [...nodes.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
      edges,
      other: this.map.otherSince(sinceMs),
      verdicts,
      warnings,
      elapsedMs: Math.round((performance.now() - started) * 1000) / 1000,
    };
  }

  /**
   * Admission: the edges seen in the map that a policy change (NetworkPolicy, CNP or CCNP) would newly deny, largest
   * first. `policy` is created (or replaces the one of the same namespace/name); with
   * `deleted`, the policy of that ref is removed (deleting an allow can deny too). The work is
   * bounded: at most `maxEdges` of the largest edges are judged, and judging stops after
   * `budgetMs` (the answer then says it is partial) so the webhook answers within its
   * timeout whatever the map's size.
   */
  newlyDenied(change: { readonly policy: Policy; readonly deleted?: boolean }, options: { readonly maxEdges: number; readonly budgetMs: number }): { edges: NewlyDeniedEdge[]; judged: number; partial: boolean } {
    const started = performance.now();
    const nowMs = this.o.clock.nowMs();
    const { policies } = this.baseline();
    const policy = change.policy;
    const ref = policyRef(policy);
    const others = policies.filter((p) => p.ref !== ref).map((p) => p.policy);
    const after = change.deleted === true ? others : [...others, policy];
    const old = policies.find((p) => p.ref === ref)?.policy;
    const judge = MapJudge.between(this.inForce(policies), after, new Set([policy.namespace, ...(old ? [old.namespace] : [])]));
    const candidates = this.map.query(nowMs - this.map.retentionMs, nowMs);
    const out: NewlyDeniedEdge[] = [];
    let judged = 0;
    let partial = candidates.length > options.maxEdges;
    for (const { edge, count } of candidates.slice(0, options.maxEdges)) {
      // Only edges touching the policy's namespace can change (a CCNP's, '', touches all): a cheap filter before judging.
      if (policy.namespace !== '' && !touches(edge, policy.namespace)) continue;
      if ((judged & 255) === 0 && performance.now() - started > options.budgetMs) {
        partial = true;
        break;
      }
      judged++;
      if (judge.judge(edge, this.map.flowOf(edge)).verdict === 'would-deny') out.push({ from: peerName(edge.from), to: peerName(edge.to), port: edge.port, protocol: edge.protocol, count });
    }
    return { edges: out, judged, partial };
  }

  /** Namespace labels as the identities in the map carry them (the admission fallback without an API). */
  namespaceLabelsSeen(namespace: string): Readonly<Record<string, string>> | null {
    for (const { edge } of this.map.query(0, this.o.clock.nowMs())) {
      for (const p of [edge.from, edge.to]) if (p.kind === 'pod' && p.namespace === namespace && Object.keys(p.namespaceLabels).length > 0) return p.namespaceLabels;
    }
    return null;
  }
}

function touches(edge: MapEdge, namespace: string): boolean {
  return (edge.from.kind === 'pod' && edge.from.namespace === namespace) || (edge.to.kind === 'pod' && edge.to.namespace === namespace) || edge.from.kind === 'unknown' || edge.to.kind === 'unknown';
}
