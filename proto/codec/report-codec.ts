/**
 * Domain ⇄ wire for proto/rampart/v1 `WindowReport` (core/summary WindowSummary): the agent
 * encodes its windows, the control plane decodes them. (`ContractSet` is contract-set-codec.ts.)
 *
 * The wire objects are what grpc-js hands over with proto/loader.ts options: proto field
 * names (snake_case), 64-bit integers as numbers, `defaults: false` (an absent field is
 * proto3's zero value). Decoding treats its input as untrusted: every problem is collected
 * with its field path, and a report that fails is never half-used.
 */
import { childPath, err, ok, problem, type Problem, type Result } from '../../core/common/index.js';
import type {
  BaselineCounts,
  ContractWindow,
  Edge,
  HubbleStats,
  ObservedEdge,
  ObservedPeer,
  ObservedPeerKind,
  SideCounts,
  WindowSummary,
} from '../../core/summary/index.js';
import { MAX_LABEL_CHARS, MAX_PEER_LABELS } from '../../core/summary/index.js';
import { describe, Reader } from './wire-reader.js';

// ---------------------------------------------------------------------------------------
// Wire shapes (what we send; what we accept is `unknown` and read field by field).

export interface SideCountsPb {
  allow: number;
  deny: number;
  indeterminate: number;
}

export interface EdgePb {
  from_namespace: string;
  from_workload: string;
  to_namespace: string;
  to_workload: string;
  port: number;
  protocol: string;
  side: string;
  count: number;
  first_seen_ms: number;
  last_seen_ms: number;
  sample_flow_json: string;
}

export interface ContractWindowPb {
  contract: string;
  revision: number;
  stage_index: number;
  stage_name: string;
  egress: SideCountsPb;
  ingress: SideCountsPb;
  actual_denies: number;
  would_deny_edges: EdgePb[];
  would_deny_edges_overflow: number;
  actual_deny_edges: EdgePb[];
  actual_deny_edges_overflow: number;
  /** Present only when the window was judged against a baseline. */
  egress_changes?: SideChangesPb;
  ingress_changes?: SideChangesPb;
  newly_allowed_edges?: EdgePb[];
  newly_allowed_edges_overflow?: number;
  /** Kubernetes mode: enrollment label checks (absent or 0 when no label is in play). */
  enroll_label_missing?: number;
  enroll_label_seen?: number;
  baseline_revision?: string;
}

export interface SideChangesPb {
  already_denied: number;
  newly_allowed: number;
}

export interface WindowReportPb {
  node: string;
  boot_id: string;
  seq: number;
  window_start_ms: number;
  window_end_ms: number;
  merged_windows: number;
  hubble: {
    flows_seen: number;
    connections: number;
    lost: { source: string; count: number }[];
    reconnects: number;
    connected: boolean;
  };
  contracts: ContractWindowPb[];
  contracts_generation: number;
  observed_edges: ObservedEdgePb[];
  observed_edges_overflow: number;
}

export interface ObservedEdgePb {
  from_namespace: string;
  from_workload: string;
  to_namespace: string;
  to_workload: string;
  port: number;
  protocol: string;
  count: number;
  first_seen_ms: number;
  last_seen_ms: number;
  from_kind: string;
  to_kind: string;
  from_labels: Record<string, string>;
  from_namespace_labels: Record<string, string>;
  to_labels: Record<string, string>;
  to_namespace_labels: Record<string, string>;
  from_labels_partial: boolean;
  to_labels_partial: boolean;
}


// ---------------------------------------------------------------------------------------
// Encoding (domain → wire): total, no validation needed (the domain types are trusted).

const sideToPb = (s: SideCounts): SideCountsPb => ({ allow: s.allow, deny: s.deny, indeterminate: s.indeterminate });

export function edgeToPb(e: Edge): EdgePb {
  return {
    from_namespace: e.fromNamespace,
    from_workload: e.fromWorkload,
    to_namespace: e.toNamespace,
    to_workload: e.toWorkload,
    port: e.port,
    protocol: e.protocol,
    side: e.side,
    count: e.count,
    first_seen_ms: e.firstSeenMs,
    last_seen_ms: e.lastSeenMs,
    sample_flow_json: e.sampleFlowJson,
  };
}

function baselineToPb(b: BaselineCounts | undefined): Partial<ContractWindowPb> {
  if (b === undefined) return {};
  return {
    egress_changes: { already_denied: b.egress.alreadyDenied, newly_allowed: b.egress.newlyAllowed },
    ingress_changes: { already_denied: b.ingress.alreadyDenied, newly_allowed: b.ingress.newlyAllowed },
    newly_allowed_edges: b.newlyAllowedEdges.map(edgeToPb),
    newly_allowed_edges_overflow: b.newlyAllowedEdgesOverflow,
    baseline_revision: b.revision,
  };
}

export function contractWindowToPb(c: ContractWindow): ContractWindowPb {
  return {
    contract: c.contract,
    revision: c.revision,
    stage_index: c.stageIndex,
    stage_name: c.stageName,
    egress: sideToPb(c.egress),
    ingress: sideToPb(c.ingress),
    actual_denies: c.actualDenies,
    would_deny_edges: c.wouldDenyEdges.map(edgeToPb),
    would_deny_edges_overflow: c.wouldDenyEdgesOverflow,
    actual_deny_edges: c.actualDenyEdges.map(edgeToPb),
    actual_deny_edges_overflow: c.actualDenyEdgesOverflow,
    ...baselineToPb(c.baseline),
    ...(c.enrollment ? { enroll_label_missing: c.enrollment.missing, enroll_label_seen: c.enrollment.seen } : {}),
  };
}

export function observedEdgeToPb(e: ObservedEdge): ObservedEdgePb {
  return {
    from_namespace: e.from.namespace,
    from_workload: e.from.workload,
    to_namespace: e.to.namespace,
    to_workload: e.to.workload,
    port: e.port,
    protocol: e.protocol,
    count: e.count,
    first_seen_ms: e.firstSeenMs,
    last_seen_ms: e.lastSeenMs,
    from_kind: e.from.kind,
    to_kind: e.to.kind,
    from_labels: { ...e.from.labels },
    from_namespace_labels: { ...e.from.namespaceLabels },
    to_labels: { ...e.to.labels },
    to_namespace_labels: { ...e.to.namespaceLabels },
    from_labels_partial: e.from.labelsPartial,
    to_labels_partial: e.to.labelsPartial,
  };
}

export function windowSummaryToPb(s: WindowSummary): WindowReportPb {
  return {
    node: s.node,
    boot_id: s.bootId,
    seq: s.seq,
    window_start_ms: s.windowStartMs,
    window_end_ms: s.windowEndMs,
    merged_windows: s.mergedWindows,
    hubble: {
      flows_seen: s.hubble.flowsSeen,
      connections: s.hubble.connections,
      lost: Object.entries(s.hubble.lost)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([source, count]) => ({ source, count })),
      reconnects: s.hubble.reconnects,
      connected: s.hubble.connected,
    },
    contracts: s.contracts.map(contractWindowToPb),
    contracts_generation: s.contractsGeneration,
    observed_edges: (s.observedEdges ?? []).map(observedEdgeToPb),
    observed_edges_overflow: s.observedEdgesOverflow ?? 0,
  };
}


// ---------------------------------------------------------------------------------------
// Decoding (wire → domain): every field checked, every problem collected.


function readSide(r: Reader): SideCounts {
  return { allow: r.count('allow'), deny: r.count('deny'), indeterminate: r.count('indeterminate') };
}

function readEdge(r: Reader): Edge {
  const side = r.string('side');
  if (side !== 'egress' && side !== 'ingress') {
    r.problems.push(problem(childPath(r.path, 'side'), `expected "egress" or "ingress", got ${describe(side)}`));
  }
  const firstSeenMs = r.count('first_seen_ms');
  const lastSeenMs = r.count('last_seen_ms');
  if (lastSeenMs < firstSeenMs) {
    r.problems.push(problem(childPath(r.path, 'last_seen_ms'), `must not be before first_seen_ms (${firstSeenMs}), got ${lastSeenMs}`));
  }
  return {
    fromNamespace: r.string('from_namespace'),
    fromWorkload: r.string('from_workload'),
    toNamespace: r.string('to_namespace'),
    toWorkload: r.string('to_workload'),
    port: r.count('port', { max: 65535 }),
    protocol: r.string('protocol'),
    side: side === 'ingress' ? 'ingress' : 'egress',
    count: r.count('count', { min: 1 }),
    firstSeenMs,
    lastSeenMs,
    sampleFlowJson: r.string('sample_flow_json'),
  };
}

function readEdges(r: Reader, key: string): Edge[] {
  return r.list(key).map((e, i) => readEdge(new Reader(e, childPath(childPath(r.path, key), i), r.problems)));
}

const PEER_KINDS: readonly ObservedPeerKind[] = ['pod', 'external', 'reserved', 'unknown'];
/** More observed edges than any agent sends (its capacity is configurable, default 2000). */
export const MAX_OBSERVED_EDGES_PER_REPORT = 20_000;

function readPeer(r: Reader, end: 'from' | 'to'): ObservedPeer {
  const kindText = r.string(`${end}_kind`);
  // An older sender (or an unset field) says nothing about labels: unknown, never a guess.
  const kind: ObservedPeerKind = (PEER_KINDS as readonly string[]).includes(kindText) ? (kindText as ObservedPeerKind) : 'unknown';
  if (kindText !== '' && kind !== kindText) r.problems.push(problem(childPath(r.path, `${end}_kind`), `expected one of ${PEER_KINDS.join(', ')}, got ${describe(kindText)}`));
  const labels = r.stringMap(`${end}_labels`);
  const namespaceLabels = r.stringMap(`${end}_namespace_labels`);
  // The receiver bounds what it keeps too: a peer that sends more is cut and marked partial.
  const tooMany = (m: Record<string, string>): boolean => Object.keys(m).length > MAX_PEER_LABELS || Object.entries(m).some(([k, v]) => k.length > MAX_LABEL_CHARS || v.length > MAX_LABEL_CHARS);
  const partial = r.bool(`${end}_labels_partial`) || tooMany(labels) || tooMany(namespaceLabels);
  const cut = (m: Record<string, string>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(m)
        .filter(([k, v]) => k.length <= MAX_LABEL_CHARS && v.length <= MAX_LABEL_CHARS)
        .slice(0, MAX_PEER_LABELS),
    );
  return {
    namespace: r.string(`${end}_namespace`),
    workload: r.string(`${end}_workload`, { required: true }),
    kind,
    labels: kind === 'pod' ? cut(labels) : {},
    namespaceLabels: kind === 'pod' ? cut(namespaceLabels) : {},
    labelsPartial: kind === 'pod' && partial,
  };
}

function readObservedEdge(r: Reader): ObservedEdge {
  const firstSeenMs = r.count('first_seen_ms');
  const lastSeenMs = r.count('last_seen_ms');
  if (lastSeenMs < firstSeenMs) {
    r.problems.push(problem(childPath(r.path, 'last_seen_ms'), `must not be before first_seen_ms (${firstSeenMs}), got ${lastSeenMs}`));
  }
  return {
    from: readPeer(r, 'from'),
    to: readPeer(r, 'to'),
    port: r.count('port', { max: 65535 }),
    protocol: r.string('protocol', { required: true }),
    count: r.count('count', { min: 1 }),
    firstSeenMs,
    lastSeenMs,
  };
}

function readObservedEdges(r: Reader): ObservedEdge[] {
  const list = r.list('observed_edges');
  if (list.length > MAX_OBSERVED_EDGES_PER_REPORT) {
    r.problems.push(problem('observed_edges', `at most ${MAX_OBSERVED_EDGES_PER_REPORT} edges per report, got ${list.length}`));
    return [];
  }
  return list.map((e, i) => readObservedEdge(new Reader(e, childPath('observed_edges', i), r.problems)));
}

function readBaselineCounts(r: Reader): BaselineCounts | undefined {
  const judged = ['egress_changes', 'ingress_changes', 'newly_allowed_edges', 'newly_allowed_edges_overflow', 'baseline_revision'].some((k) => {
    const v = r.raw(k);
    return v !== undefined && v !== null && v !== '' && v !== 0 && !(Array.isArray(v) && v.length === 0);
  });
  if (!judged) return undefined;
  const changes = (key: string): { alreadyDenied: number; newlyAllowed: number } => {
    const c = r.child(key);
    return { alreadyDenied: c.count('already_denied'), newlyAllowed: c.count('newly_allowed') };
  };
  return {
    revision: r.string('baseline_revision'),
    egress: changes('egress_changes'),
    ingress: changes('ingress_changes'),
    newlyAllowedEdges: readEdges(r, 'newly_allowed_edges'),
    newlyAllowedEdgesOverflow: r.count('newly_allowed_edges_overflow'),
  };
}

function readContractWindow(r: Reader): ContractWindow {
  const baseline = readBaselineCounts(r);
  const missing = r.count('enroll_label_missing');
  const seen = r.count('enroll_label_seen');
  return {
    contract: r.string('contract', { required: true }),
    revision: r.count('revision'),
    stageIndex: r.count('stage_index'),
    stageName: r.string('stage_name', { required: true }),
    egress: readSide(r.child('egress')),
    ingress: readSide(r.child('ingress')),
    actualDenies: r.count('actual_denies'),
    wouldDenyEdges: readEdges(r, 'would_deny_edges'),
    wouldDenyEdgesOverflow: r.count('would_deny_edges_overflow'),
    actualDenyEdges: readEdges(r, 'actual_deny_edges'),
    actualDenyEdgesOverflow: r.count('actual_deny_edges_overflow'),
    ...(baseline === undefined ? {} : { baseline }),
    ...(missing + seen > 0 ? { enrollment: { missing, seen } } : {}),
  };
}

function readHubble(r: Reader): HubbleStats {
  const lost: Record<string, number> = {};
  r.list('lost').forEach((item, i) => {
    const lr = new Reader(item, childPath(childPath(r.path, 'lost'), i), r.problems);
    const source = lr.string('source', { required: true });
    const count = lr.count('count');
    // Repeated sources add up: the list is a multiset of (source, count).
    if (source !== '') lost[source] = (lost[source] ?? 0) + count;
  });
  return {
    flowsSeen: r.count('flows_seen'),
    connections: r.count('connections'),
    lost,
    reconnects: r.count('reconnects'),
    connected: r.bool('connected'),
  };
}

/**
 * Validates and converts a `WindowReport` as received. Fails with every problem found
 * (field paths such as `contracts[1].would_deny_edges[0].side`).
 */
export function windowSummaryFromPb(pb: unknown): Result<WindowSummary, Problem[]> {
  const problems: Problem[] = [];
  const r = new Reader(pb, '', problems);
  const windowStartMs = r.count('window_start_ms');
  const windowEndMs = r.count('window_end_ms');
  if (windowEndMs < windowStartMs) {
    problems.push(problem('window_end_ms', `must not be before window_start_ms (${windowStartMs}), got ${windowEndMs}`));
  }
  const contracts = r.list('contracts').map((c, i) => readContractWindow(new Reader(c, childPath('contracts', i), problems)));
  const seen = new Set<string>();
  contracts.forEach((c, i) => {
    // One window per (contract, revision, stage): a stage change mid-window yields two.
    const key = `${c.contract}\u0000${c.revision}\u0000${c.stageIndex}`;
    if (seen.has(key)) {
      problems.push(problem(childPath(childPath('contracts', i), 'contract'), `duplicate window for ${c.contract} revision ${c.revision} stage ${c.stageIndex}`));
    }
    seen.add(key);
  });
  const observedEdges = readObservedEdges(r);
  const observedEdgesOverflow = r.count('observed_edges_overflow');
  const summary: WindowSummary = {
    node: r.string('node', { required: true }),
    bootId: r.string('boot_id', { required: true }),
    seq: r.count('seq', { min: 1 }),
    windowStartMs,
    windowEndMs,
    mergedWindows: r.count('merged_windows', { min: 1 }),
    hubble: readHubble(r.child('hubble')),
    contracts,
    contractsGeneration: r.count('contracts_generation'),
    // Absent (an older agent, or nothing seen) stays absent, so old summaries compare equal.
    ...(observedEdges.length > 0 || observedEdgesOverflow > 0 ? { observedEdges, observedEdgesOverflow } : {}),
  };
  return problems.length > 0 ? err(problems) : ok(summary);
}
