/**
 * Brownfield verdicts, two paths and one answer: a real `rampart replay` serving a real
 * capture → a real `rampart agent` → a real `rampart controlplane --baseline <dir>`. The
 * control plane's evidence for the contract (newly denied as `deny`, `alreadyDenied`,
 * `newlyAllowed`) equals what `rampart evaluate --baseline` says about the same capture,
 * contract and baseline; a changed baseline is pushed to the agent as a new generation,
 * recorded in the evidence, and does not reset it. A second contract replaces and removes
 * baseline policies (product.md "Changes to what is enforced"): the agent receives them with
 * the contract set and judges *before* = the baseline, *after* = the baseline less them plus
 * the contract, as evaluate does.
 */
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sideChange, type SideVerdict } from '../../core/policy/index.js';
import { spawnRampart, TCP_CAPTURE, waitForAgentSettled, type AgentProcess } from '../support/agent-harness.js';
import { BROWNFIELD, BROWNFIELD_CONTRACT_YAML, BROWNFIELD_ROLLOUT } from '../support/bookinfo.js';
import { startBrownfieldChain, type BrownfieldChain } from '../support/brownfield-chain.js';
import type { ContractEvidenceJson } from '../../io/api-types.js';
import type { ControlplaneProcess } from '../support/controlplane-process.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { waitFor } from '../support/wait-for.js';

const CONTRACT = BROWNFIELD;
const CONTRACT_YAML = BROWNFIELD_CONTRACT_YAML;

const NARROW = 'bookinfo-narrow';

// Rewrites the legacy ingress lock into an egress lock and deletes the legacy allow into
// details: every egress side is newly denied, every ingress side the lock denied newly allowed.
const NARROW_YAML = `apiVersion: rampart.dev/v1alpha1
kind: RampContract
metadata: { name: ${NARROW} }
spec:
  policies:
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: legacy-ingress-lock, namespace: bookinfo }
      spec: { podSelector: {}, policyTypes: [Egress] }
  replaces:
    - { namespace: bookinfo, name: legacy-ingress-lock }
  removes:
    - { namespace: bookinfo, name: legacy-details-from-productpage }
${BROWNFIELD_ROLLOUT}`;

interface Line {
  verdict: string;
  egress: SideVerdict | 'none';
  ingress: SideVerdict | 'none';
  change: string;
  baseline: { egress: SideVerdict | 'none'; ingress: SideVerdict | 'none' };
}

/** The evidence the API shows (GET /api/v1/contracts/{name}). */
type Evidence = ContractEvidenceJson;

async function evaluateWithBaseline(policies: string, baseline: string): Promise<{ code: number | null; lines: Line[] }> {
  const p = spawnRampart(['evaluate', '--policies', policies, '--baseline', baseline, '--flows', TCP_CAPTURE]);
  const code = await new Promise<number | null>((resolve) => p.proc.on('close', (c) => resolve(c)));
  return { code, lines: p.logs as unknown as Line[] };
}

/** The evidence counts evaluate's lines imply: each evaluated side by its change from the baseline. */
function expectedEvidence(lines: readonly Line[]): { allow: number; deny: number; indeterminate: number; alreadyDenied: number; newlyAllowed: number } {
  const expected = { allow: 0, deny: 0, indeterminate: 0, alreadyDenied: 0, newlyAllowed: 0 };
  for (const l of lines.filter((x) => x.verdict !== 'skip')) {
    for (const side of ['egress', 'ingress'] as const) {
      const change = sideChange(l.baseline[side], l[side]);
      if (change === 'newly-denied') expected.deny++;
      else if (change === 'already-denied') expected.alreadyDenied++;
      else if (change === 'indeterminate') expected.indeterminate++;
      else if (change !== 'none') expected.allow++;
      if (change === 'newly-allowed') expected.newlyAllowed++;
    }
  }
  return expected;
}

describe('agent and control plane vs rampart evaluate --baseline', () => {
  let chain: BrownfieldChain;
  let dir: string;
  let controlplane: ControlplaneProcess;
  let agent: AgentProcess;

  beforeAll(async () => {
    chain = await startBrownfieldChain('rampart-baseline-', { 'bookinfo.yaml': CONTRACT_YAML, 'narrow.yaml': NARROW_YAML });
    ({ dir, controlplane, agent } = chain);
  });

  afterAll(async () => {
    await chain?.stop();
  });

  const evidence = async (name = CONTRACT): Promise<Evidence> => {
    const res = await fetch(`${controlplane.base}/api/v1/contracts/${name}`);
    const body = (await res.json()) as { evidence: Evidence };
    return body.evidence;
  };

  it('counts the same newly-denied, already-denied and newly-allowed sides as evaluate --baseline', async () => {
    writeFileSync(join(dir, 'contract.yaml'), CONTRACT_YAML);
    const { code, lines } = await evaluateWithBaseline(join(dir, 'contract.yaml'), join(dir, 'baseline'));
    const expected = expectedEvidence(lines);
    // The comparison means something only if every kind of change occurs.
    expect(code).toBe(1);
    expect(expected.deny).toBeGreaterThan(0);
    expect(expected.alreadyDenied).toBeGreaterThan(0);
    expect(expected.newlyAllowed).toBeGreaterThan(0);
    const total = expected.allow + expected.deny + expected.indeterminate + expected.alreadyDenied;

    await waitFor(async () => (await evidence()).flows >= total, { timeoutMs: 30_000, what: `${total} evaluated sides at the control plane` });
    // A window closed after that and every window acknowledged: nothing is still in flight.
    await waitForAgentSettled(agent);
    const e = await evidence();
    expect({ flows: e.flows, allow: e.allow, deny: e.deny, indeterminate: e.indeterminate, alreadyDenied: e.alreadyDenied, newlyAllowed: e.newlyAllowed }).toEqual({ flows: total, ...expected });
    expect(e.baselineRevision).toMatch(/^[0-9a-f]{16}$/);
    expect(e.baselineRevisions).toBe(1);
    // The agent's and the control plane's metrics say the same.
    const m = await agent.metrics();
    const agentSum = (change: string): number =>
      (['egress', 'ingress'] as const).reduce((n, side) => n + (m.value('rampart_agent_baseline_changes_total', { contract: CONTRACT, stage: 'monitor', side, change }) ?? 0), 0);
    expect(agentSum('already-denied')).toBe(expected.alreadyDenied);
    expect(agentSum('newly-allowed')).toBe(expected.newlyAllowed);
    const agentDeny = (['egress', 'ingress'] as const).reduce((n, side) => n + (m.value('rampart_agent_evaluations_total', { contract: CONTRACT, stage: 'monitor', side, verdict: 'deny' }) ?? 0), 0);
    expect(agentDeny).toBe(expected.deny);
    const cpMetrics = parsePrometheusText(await (await fetch(`${controlplane.base}/metrics`)).text());
    expect(cpMetrics.value('rampart_controlplane_stage_already_denied', { contract: CONTRACT })).toBe(expected.alreadyDenied);
    expect(cpMetrics.value('rampart_controlplane_stage_newly_allowed', { contract: CONTRACT })).toBe(expected.newlyAllowed);
    // The gate counts only the newly denied: the contract is held on exactly that number.
    const body = (await (await fetch(`${controlplane.base}/api/v1/contracts/${CONTRACT}`)).json()) as { gates: { gate: string; phase: string; message: string }[] };
    expect(body.gates.find((g) => g.gate === 'maxWouldDeny')).toMatchObject({ phase: 'failed', message: expect.stringContaining(`would-deny ${expected.deny} > 0`) as unknown });
  });

  it('a contract that replaces and removes baseline policies: the agent counts what evaluate --baseline says', async () => {
    writeFileSync(join(dir, 'narrow.yaml'), NARROW_YAML);
    const { code, lines } = await evaluateWithBaseline(join(dir, 'narrow.yaml'), join(dir, 'baseline'));
    const expected = expectedEvidence(lines);
    // The new text locks egress (newly denied); the old one no longer locks ingress (newly allowed).
    expect(code).toBe(1);
    expect(expected.deny).toBeGreaterThan(0);
    expect(expected.newlyAllowed).toBeGreaterThan(0);
    expect(lines.some((l) => (l as unknown as { replaced: string[] }).replaced.includes('bookinfo/legacy-ingress-lock'))).toBe(true);
    const total = expected.allow + expected.deny + expected.indeterminate + expected.alreadyDenied;
    await waitFor(async () => (await evidence(NARROW)).flows >= total, { timeoutMs: 30_000, what: `${total} evaluated sides of ${NARROW} at the control plane` });
    // A window closed after that and every window acknowledged: nothing is still in flight.
    await waitForAgentSettled(agent);
    const e = await evidence(NARROW);
    expect({ flows: e.flows, allow: e.allow, deny: e.deny, indeterminate: e.indeterminate, alreadyDenied: e.alreadyDenied, newlyAllowed: e.newlyAllowed }).toEqual({ flows: total, ...expected });
  });

  it('pushes a changed baseline as a new generation: evidence is kept and records the new revision', async () => {
    const before = await evidence();
    const generation = (): number | undefined => {
      const installed = agent.logs.filter((l) => l['msg'] === 'contract set installed');
      return installed.length === 0 ? undefined : Number(installed.at(-1)!['generation']);
    };
    const firstGeneration = generation();
    expect(firstGeneration).toBeDefined();
    const extra = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: legacy-egress-open, namespace: bookinfo }
spec: { podSelector: {}, policyTypes: [Egress], egress: [{}] }
`;
    writeFileSync(join(dir, 'baseline', 'egress.yaml.tmp'), extra);
    renameSync(join(dir, 'baseline', 'egress.yaml.tmp'), join(dir, 'baseline', 'egress.yaml'));
    await waitFor(() => (generation() ?? 0) > firstGeneration!, { timeoutMs: 15_000, what: 'the agent to install the new generation' });
    await waitFor(async () => {
      const e = await evidence();
      return e.baselineRevision !== before.baselineRevision ? e : undefined;
    }, { timeoutMs: 15_000, what: 'evidence judged against the new baseline' });
    const after = await evidence();
    expect(after.baselineRevisions).toBe(2);
    // Not reset: what was gathered under the first baseline is still there.
    expect(after.flows).toBeGreaterThanOrEqual(before.flows);
    expect(after.deny).toBeGreaterThanOrEqual(before.deny);
  });
});
