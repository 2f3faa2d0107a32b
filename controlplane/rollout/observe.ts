/**
 * A contract's pass as the metrics show it: stage, phase, decision, the evidence ratios and
 * node coverage, and how long each report took to reach a decision.
 */
import type { ContractDecision, RampState, StageEvidence } from '../../core/rollout/index.js';
import type { ControlplaneMetrics } from '../metrics/metrics.js';

/** `arrivals`: when the reports this pass decided on were received (ms). */
export function observeContract(m: ControlplaneMetrics, name: string, state: RampState, e: StageEvidence, decision: ContractDecision, arrivals: Iterable<number>, nowMs: number): void {
  m.stage.set({ contract: name }, state.stageIndex);
  m.setPhase(name, state.phase);
  m.setDecision(name, decision.kind);
  m.wouldDenyRatio.set({ contract: name }, e.flows > 0 ? e.deny / e.flows : 0);
  m.evaluatedFlows.set({ contract: name }, e.flows);
  m.alreadyDenied.set({ contract: name }, e.alreadyDenied);
  m.newlyAllowed.set({ contract: name }, e.newlyAllowed);
  m.nodeCoverage.set({ contract: name }, e.nodes.expected.length > 0 ? e.nodes.reporting.length / e.nodes.expected.length : 0);
  for (const arrived of arrivals) m.decisionLatency.observe(Math.max(0, nowMs - arrived) / 1000);
}
