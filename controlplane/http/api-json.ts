/**
 * The HTTP API's and the live stream's JSON (io/api-types.ts, documented in docs/api.md),
 * from the reconciler's views and the history.
 */
import { judgedCounts, type ContractView, type EdgeView } from '../../core/rollout/index.js';
import type { ContractJson, EdgeJson, HistoryEvidenceJson, HistoryItemJson } from '../../io/api-types.js';
import type { HistoryEvidence } from '../../core/sufficiency/index.js';
import type { HistoryEntry } from '../state/journal.js';
import { formatIdentity } from '../../core/policy/index.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export function edgeJson(edge: EdgeView, kind: EdgeJson['kind']): EdgeJson {
  return { from: edge.from, to: edge.to, port: edge.port, protocol: edge.protocol, count: edge.count, side: edge.side, kind };
}

export function historyItemJson(e: HistoryEntry): HistoryItemJson {
  return {
    id: e.id,
    at: iso(e.atMs),
    revision: e.revision,
    kind: e.kind,
    from: e.from?.stageName ?? null,
    to: e.to.stageName,
    fromStage: e.from ? { index: e.from.stageIndex, name: e.from.stageName, phase: e.from.phase } : null,
    toStage: { index: e.to.stageIndex, name: e.to.stageName, phase: e.to.phase },
    phase: e.to.phase,
    decision: e.decision,
    reasons: e.reasons,
    actor: e.actor,
    evidence: e.evidence,
  };
}

export function historyEvidenceJson(h: HistoryEvidence | null): HistoryEvidenceJson | null {
  if (h === null) return null;
  return {
    from: iso(h.fromMs),
    to: iso(h.toMs),
    edges: h.edges,
    connections: h.connections,
    wouldDeny: h.wouldDeny,
    wouldDenyEdges: h.wouldDenyEdges,
    indeterminateEdges: h.indeterminateEdges,
    topEdges: h.top.slice(0, 5).map((e) => ({ from: e.from, to: e.to, port: e.port, protocol: e.protocol, count: e.count, lastSeen: iso(e.lastSeenMs), reason: e.reason, kind: 'would-deny' as const })),
  };
}

/** A contract as GET /api/v1/contracts/{name} shows it. */
export function contractJson(v: ContractView, history: readonly HistoryEntry[], latestHistory = 10): ContractJson {
  const state = v.state;
  const stage = v.contract && state ? v.contract.spec.stages[state.stageIndex] : undefined;
  const e = v.evidence;
  return {
    name: v.name,
    origin: v.origin,
    revision: state?.revision ?? 0,
    stage: { index: state?.stageIndex ?? 0, name: stage?.name ?? '', count: v.contract?.spec.stages.length ?? 0 },
    stages: (v.contract?.spec.stages ?? []).map((s, index) => ({
      index,
      name: s.name,
      kind: s.kind,
      minDurationMs: s.minDurationMs,
      ...(s.kind === 'percent' ? { percent: s.percent } : {}),
      ...(s.kind === 'namespaces' ? { namespaces: s.namespaces } : {}),
    })),
    phase: state?.phase ?? null,
    advance: v.contract?.spec.advance ?? null,
    // What the contract changes of the policies in force (product.md "Changes to what is enforced").
    replaces: (v.contract?.spec.replaces ?? []).map(formatIdentity),
    removes: (v.contract?.spec.removes ?? []).map(formatIdentity),
    stageEnteredAt: state ? iso(state.stageEnteredAtMs) : null,
    decision: { kind: v.decision.kind, reasons: v.decision.reasons, at: iso(v.decision.atMs) },
    gates: (v.assessment?.gates ?? []).map((g) => ({ gate: g.gate, phase: g.phase, message: g.message })),
    // The numbers the gates and the rollback check compare against, so clients (the
    // dashboard's threshold lines) never have to read them out of a message.
    thresholds: v.contract
      ? {
          minFlows: v.contract.spec.gates.minFlows,
          maxWouldDeny: v.contract.spec.gates.maxWouldDeny,
          maxWouldDenyRatio: v.contract.spec.gates.maxWouldDenyRatio,
          maxNewlyAllowed: v.contract.spec.gates.maxNewlyAllowed,
          minNodeCoverage: v.contract.spec.gates.minNodeCoverage,
          maxLostEventsRatio: v.contract.spec.gates.maxLostEventsRatio,
          maxReportAgeMs: v.contract.spec.gates.maxReportAgeMs,
          maxActualDeniesPerMinute: v.contract.spec.rollback.maxActualDeniesPerMinute,
          historyWindowMs: v.contract.spec.gates.historyWindowMs,
          minWorkloadCoverage: v.contract.spec.gates.minWorkloadCoverage,
          maxInconclusiveMs: v.contract.spec.gates.maxInconclusiveMs,
        }
      : null,
    evidence: {
      ...judgedCounts(e),
      baselineRevisions: e.baselineRevisions,
      wouldDenyRatio: e.flows > 0 ? e.deny / e.flows : null,
      actualDenies: e.actualDenies,
      actualDeniesLastMinute: e.actualDeniesLastMinute,
      lostEvents: e.lostEvents,
      flowsSeen: e.flowsSeen,
      nodes: { expected: e.nodes.expected.length, reporting: e.nodes.reporting.length, silent: e.nodes.silent },
      topEdges: e.topWouldDenyEdges.slice(0, 5).map((x) => edgeJson(x, 'would-deny')),
      topNewlyAllowedEdges: e.topNewlyAllowedEdges.slice(0, 5).map((x) => edgeJson(x, 'newly-allowed')),
    },
    // History first: the revision judged against the traffic map before it started, apart from the live evidence.
    historyEvidence: historyEvidenceJson(v.sufficiency?.history ?? null),
    waitingFor: [...(v.sufficiency?.waitingFor ?? [])],
    silentWorkloads: [...(v.sufficiency?.silentWorkloads ?? [])],
    problems: v.problems.map((p) => ({ path: p.path, message: p.message })),
    // Non-blocking: where Cilium enforces a NetworkPolicy of the contract other than its text (netpol.md 4).
    warnings: (v.contract?.departures ?? []).map((p) => ({ path: p.path, message: p.message })),
    applied: v.applied
      ? {
          revision: v.applied.revision,
          stageIndex: v.applied.stageIndex,
          stageName: v.applied.stageName,
          mode: v.applied.mode,
          percent: v.applied.percent,
          namespaces: v.applied.namespaces,
          policies: v.applied.policies,
          // The simulated datapath takes these out of what governs enrolled pods.
          replaces: v.applied.replaces ?? [],
          removes: v.applied.removes ?? [],
        }
      : null,
    history: history.slice(-latestHistory).map(historyItemJson),
  };
}
