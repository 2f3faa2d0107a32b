/**
 * Judging the traffic map: each observed edge (workload → workload : port/protocol, with the
 * workloads' representative labels) evaluated against the baseline and, for a preview, the
 * baseline plus a contract's policies (product.md "Traffic map, preview, admission" and "What
 * is already enforced: the baseline").
 *
 * An edge becomes a Flow-like connection: a pod end carries its representative pod and
 * namespace labels; an end whose labels are unknown or were cut at the bound is an unknown
 * endpoint, so whatever depends on it is indeterminate, never guessed. External ends carry no
 * IP (the map never keeps IPs), so ipBlock rules on them are indeterminate too.
 */
import { fnv1a32 } from '../common/index.js';
import type { Endpoint, Flow } from '../flow/index.js';
import { createChangeEvaluator, createEvaluator, type EvaluatedSides, type Evaluation, type Policy, type PolicyChange, type PolicyEvaluator, type SideVerdict } from '../policy/index.js';
import type { ObservedPeer } from '../summary/index.js';

export const MAP_VERDICTS = ['allow', 'would-deny', 'already-denied', 'newly-allowed', 'denied', 'indeterminate'] as const;
export type MapVerdict = (typeof MAP_VERDICTS)[number];

/** What a side did: under the baseline alone, or its change once the contract is added. */
export type SideJudgement = 'same' | 'newly-denied' | 'newly-allowed' | 'already-denied' | 'indeterminate' | 'none';

export interface EdgeJudgement {
  readonly verdict: MapVerdict;
  readonly egress: SideJudgement;
  readonly ingress: SideJudgement;
  /** One line a person can act on (the deciding side's reason). */
  readonly reason: string;
}

export interface JudgeableEdge {
  readonly from: ObservedPeer;
  readonly to: ObservedPeer;
  readonly port: number;
  readonly protocol: string;
}

const L4 = new Set(['TCP', 'UDP', 'SCTP', 'ICMPv4', 'ICMPv6', 'VRRP', 'IGMP']);

/**
 * The identity labels Hubble would print for these labels, and a synthetic identity number
 * from them: core/policy memoises per identity (and verifies every hit against the labels), so
 * edges of one workload share their selector work however many there are.
 */
function identityOf(p: ObservedPeer): { identity: number; labels: readonly string[] } {
  const labels = [
    ...Object.entries(p.labels).map(([k, v]) => `k8s:${k}=${v}`),
    ...Object.entries(p.namespaceLabels).map(([k, v]) => `k8s:io.cilium.k8s.namespace.labels.${k}=${v}`),
    `k8s:io.kubernetes.pod.namespace=${p.namespace}`,
  ].sort();
  // Above Cilium's reserved range; a collision only costs a recomputation.
  return { identity: 256 + (fnv1a32(labels.join('\n')) % 16_000_000), labels };
}

function endpointOf(p: ObservedPeer): Endpoint {
  const base = { id: 1, identity: 0, labels: [] as readonly string[] };
  if (p.kind === 'pod' && !p.labelsPartial) {
    return { ...base, ...identityOf(p), kind: 'pod', namespace: p.namespace, podName: '', podLabels: p.labels, namespaceLabels: p.namespaceLabels, workloads: [] };
  }
  if (p.kind === 'external') return { ...base, kind: 'external' };
  if (p.kind === 'reserved') {
    const name = p.workload.startsWith('reserved:') ? p.workload.slice('reserved:'.length) : p.workload;
    const known = ['host', 'remote-node', 'health', 'init', 'ingress', 'unmanaged', 'kube-apiserver'];
    if (known.includes(name)) return { ...base, kind: 'reserved', name: name as 'host' };
  }
  return { ...base, kind: 'unknown', namespace: p.namespace === '' ? null : p.namespace, podName: '' };
}

/** The connection an edge stands for (built once per edge and reused across previews). */
export function edgeFlow(e: JudgeableEdge): Flow {
  const protocol = L4.has(e.protocol) ? (e.protocol as 'TCP') : null;
  return {
    timeMs: 0,
    time: '',
    uuid: null,
    node: '',
    type: 'L3_L4',
    eventType: 4,
    eventSubType: 0,
    observed: 'FORWARDED',
    dropReason: null,
    direction: 'unknown',
    isReply: false,
    traceReason: 'NEW',
    observationPoint: null,
    ip: null,
    l4: protocol === null ? null : { protocol, sourcePort: 0, destinationPort: e.port, flags: null, icmpType: null, icmpCode: null },
    source: endpointOf(e.from),
    destination: endpointOf(e.to),
  };
}

/** Both sides are judged wherever the end is a pod (the map is cluster-wide, not per node). */
const sidesOf = (e: JudgeableEdge): { egress: boolean; ingress: boolean } => ({ egress: e.from.kind === 'pod', ingress: e.to.kind === 'pod' });

type Side = SideVerdict | 'none';

function change(base: Side, combined: Side): SideJudgement {
  if (base === 'none' && combined === 'none') return 'none';
  if (base === 'indeterminate' || combined === 'indeterminate') return 'indeterminate';
  if (base === 'deny') return combined === 'deny' ? 'already-denied' : 'newly-allowed';
  return combined === 'deny' ? 'newly-denied' : 'same';
}

function alone(v: Side): SideJudgement {
  if (v === 'none') return 'none';
  if (v === 'indeterminate') return 'indeterminate';
  return v === 'deny' ? 'already-denied' : 'same';
}

/** The edge's verdict from its two sides: a connection is denied when either side denies it. */
function verdictOf(egress: SideJudgement, ingress: SideJudgement, preview: boolean): MapVerdict {
  const sides = [egress, ingress];
  if (sides.includes('newly-denied')) return 'would-deny';
  if (sides.includes('already-denied')) {
    // Denied today by a side the contract leaves denied: the connection stays denied.
    return preview ? 'already-denied' : 'denied';
  }
  if (sides.includes('indeterminate')) return 'indeterminate';
  if (sides.includes('newly-allowed')) return 'newly-allowed';
  return 'allow';
}

type Judged = { readonly baseline: Evaluation; readonly combined: Evaluation | null };
type Evaluate = (flow: Flow, sides: EvaluatedSides, edge: JudgeableEdge) => Judged;

/**
 * Judges edges under the policies in force and, for a preview, under the policies once the
 * change is made. Compiled once; `judge` is cheap.
 *
 * - `baselineOnly`: the map as it is today (allow, denied, indeterminate);
 * - `forContract`: core/policy's change evaluator, the baseline (*before*) against the
 *   baseline less what the contract replaces or removes, plus its policies (*after*);
 * - `between`: any two sets (admission: the set with one NetworkPolicy created or replaced).
 *   A NetworkPolicy or CNP only ever selects pods of its own namespace, so only sides whose pod
 *   lives in a namespace the change touches ('' for a CCNP: all) are evaluated under the new set, and the evaluator of
 *   the set in force can be shared by every review of one baseline revision.
 */
export class MapJudge {
  private readonly evaluate: Evaluate;
  readonly preview: boolean;

  private constructor(evaluate: Evaluate, preview: boolean) {
    this.evaluate = evaluate;
    this.preview = preview;
  }

  static baselineOnly(policies: readonly Policy[] | PolicyEvaluator): MapJudge {
    const e = isEvaluator(policies) ? policies : createEvaluator(policies);
    return new MapJudge((flow, sides) => ({ baseline: e.evaluate(flow, sides), combined: null }), false);
  }

  static forContract(change: PolicyChange): MapJudge {
    const e = createChangeEvaluator(change);
    return new MapJudge((flow, sides) => {
      const r = e.evaluate(flow, sides);
      return { baseline: r.before, combined: r.after };
    }, true);
  }

  static between(before: readonly Policy[] | PolicyEvaluator, after: readonly Policy[], touched: ReadonlySet<string>): MapJudge {
    const b = isEvaluator(before) ? before : createEvaluator(before);
    const a = createEvaluator(after);
    return new MapJudge((flow, sides, edge) => {
      const baseline = b.evaluate(flow, sides);
      // '' stands for a cluster-wide change (a CCNP): every namespace is touched.
      const everywhere = touched.has('');
      const egress = sides.egress && (everywhere || touched.has(edge.from.namespace));
      const ingress = sides.ingress && (everywhere || touched.has(edge.to.namespace));
      if (!egress && !ingress) return { baseline, combined: baseline };
      const c = a.evaluate(flow, { egress, ingress });
      // Untouched sides keep their verdict: splice the baseline's into the combined evaluation.
      return { baseline, combined: { ...c, egress: egress ? c.egress : baseline.egress, ingress: ingress ? c.ingress : baseline.ingress } };
    }, true);
  }

  judge(edge: JudgeableEdge, flow: Flow = edgeFlow(edge)): EdgeJudgement {
    const sides = sidesOf(edge);
    if (!sides.egress && !sides.ingress) return { verdict: 'allow', egress: 'none', ingress: 'none', reason: 'neither end is a pod: no NetworkPolicy applies' };
    const { baseline: b, combined: c } = this.evaluate(flow, sides, edge);
    if (c === null) {
      const egress = alone(b.egress);
      const ingress = alone(b.ingress);
      return { verdict: verdictOf(egress, ingress, false), egress, ingress, reason: b.reason };
    }
    const egress = change(b.egress, c.egress);
    const ingress = change(b.ingress, c.ingress);
    const verdict = verdictOf(egress, ingress, true);
    const reason = verdict === 'would-deny' || verdict === 'already-denied' || verdict === 'indeterminate' || b.reason === c.reason ? c.reason : `${c.reason} (baseline: ${b.reason})`;
    return { verdict, egress, ingress, reason };
  }
}

function isEvaluator(x: readonly Policy[] | PolicyEvaluator): x is PolicyEvaluator {
  return !Array.isArray(x);
}
