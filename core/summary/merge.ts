/**
 * Adding window summaries. Every count is additive, so two windows of one agent process merge
 * into one that reports exactly their sum; top-K edges are re-ranked through the same sketch,
 * and what no longer fits moves to overflow (never dropped).
 */
import { contractWindowId } from './aggregator.js';
import type { BaselineCounts, ContractWindow, Edge, HubbleStats, SideChangeCounts, SideCounts, WindowSummary } from './summary.js';
import { mergeObservedEdges } from './observed-edges.js';
import { DEFAULT_TOP_K, TopEdges } from './top-edges.js';

const addSides = (a: SideCounts, b: SideCounts): SideCounts => ({
  allow: a.allow + b.allow,
  deny: a.deny + b.deny,
  indeterminate: a.indeterminate + b.indeterminate,
});

function mergeEdges(
  a: readonly Edge[],
  aOverflow: number,
  b: readonly Edge[],
  bOverflow: number,
  topK: number,
): { edges: Edge[]; overflow: number } {
  const sketch = new TopEdges(topK);
  // Largest first, so that a merge keeps the heaviest edges of both sides.
  for (const e of [...a, ...b].sort((x, y) => y.count - x.count)) sketch.addEdge(e);
  sketch.addOverflow(aOverflow + bOverflow);
  return { edges: sketch.edges(), overflow: sketch.overflow };
}

const addChanges = (a: SideChangeCounts, b: SideChangeCounts): SideChangeCounts => ({ alreadyDenied: a.alreadyDenied + b.alreadyDenied, newlyAllowed: a.newlyAllowed + b.newlyAllowed });

/** Brownfield counts add up; the later window's baseline revision is the one kept. */
function mergeBaseline(a: BaselineCounts | undefined, b: BaselineCounts | undefined, topK: number): BaselineCounts | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  const edges = mergeEdges(a.newlyAllowedEdges, a.newlyAllowedEdgesOverflow, b.newlyAllowedEdges, b.newlyAllowedEdgesOverflow, topK);
  return {
    revision: b.revision,
    egress: addChanges(a.egress, b.egress),
    ingress: addChanges(a.ingress, b.ingress),
    newlyAllowedEdges: edges.edges,
    newlyAllowedEdgesOverflow: edges.overflow,
  };
}

export function mergeContractWindows(a: ContractWindow, b: ContractWindow, topK = DEFAULT_TOP_K): ContractWindow {
  const would = mergeEdges(a.wouldDenyEdges, a.wouldDenyEdgesOverflow, b.wouldDenyEdges, b.wouldDenyEdgesOverflow, topK);
  const actual = mergeEdges(a.actualDenyEdges, a.actualDenyEdgesOverflow, b.actualDenyEdges, b.actualDenyEdgesOverflow, topK);
  const baseline = mergeBaseline(a.baseline, b.baseline, topK);
  return {
    contract: a.contract,
    revision: a.revision,
    stageIndex: a.stageIndex,
    stageName: a.stageName,
    egress: addSides(a.egress, b.egress),
    ingress: addSides(a.ingress, b.ingress),
    actualDenies: a.actualDenies + b.actualDenies,
    wouldDenyEdges: would.edges,
    wouldDenyEdgesOverflow: would.overflow,
    actualDenyEdges: actual.edges,
    actualDenyEdgesOverflow: actual.overflow,
    ...(baseline === undefined ? {} : { baseline }),
  };
}

function mergeHubble(a: HubbleStats, b: HubbleStats): HubbleStats {
  const lost: Record<string, number> = { ...a.lost };
  for (const [source, n] of Object.entries(b.lost)) lost[source] = (lost[source] ?? 0) + n;
  return {
    flowsSeen: a.flowsSeen + b.flowsSeen,
    connections: a.connections + b.connections,
    lost,
    reconnects: a.reconnects + b.reconnects,
    connected: a.connected && b.connected,
  };
}

/**
 * Merges two summaries of the same agent process (same node and boot id) into one covering
 * both windows. The result keeps `a`'s seq; callers merge only windows not yet sent.
 */
export function mergeSummaries(a: WindowSummary, b: WindowSummary, topK = DEFAULT_TOP_K): WindowSummary {
  const byId = new Map<string, ContractWindow>();
  for (const c of [...a.contracts, ...b.contracts]) {
    const id = contractWindowId(c);
    const prev = byId.get(id);
    byId.set(id, prev ? mergeContractWindows(prev, c, topK) : c);
  }
  const observed =
    a.observedEdges === undefined && b.observedEdges === undefined
      ? null
      : mergeObservedEdges(a.observedEdges ?? [], a.observedEdgesOverflow ?? 0, b.observedEdges ?? [], b.observedEdgesOverflow ?? 0);
  return {
    node: a.node,
    bootId: a.bootId,
    seq: a.seq,
    windowStartMs: Math.min(a.windowStartMs, b.windowStartMs),
    windowEndMs: Math.max(a.windowEndMs, b.windowEndMs),
    mergedWindows: a.mergedWindows + b.mergedWindows,
    hubble: mergeHubble(a.hubble, b.hubble),
    contracts: [...byId.values()],
    contractsGeneration: Math.max(a.contractsGeneration, b.contractsGeneration),
    ...(observed === null ? {} : { observedEdges: observed.edges, observedEdgesOverflow: observed.overflow }),
  };
}
