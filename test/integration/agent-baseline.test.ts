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
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sideChange, type SideVerdict } from '../../core/policy/index.js';
import { spawnRampart, startAgentProcess, startReplay, TCP_CAPTURE, waitForAgentSettled, type AgentProcess, type ReplayProcess } from '../support/agent-harness.js';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { parsePrometheusText } from '../support/prom-text.js';
import { waitFor } from '../support/wait-for.js';

const CONTRACT = 'bookinfo-brownfield';

// The proposal: bookinfo locked down both ways, with one allow into reviews.
const CONTRACT_YAML = `apiVersion: rampart.dev/v1alpha1
kind: RampContract
metadata: { name: ${CONTRACT} }
spec:
  policies:
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: deny-all, namespace: bookinfo }
      spec: { podSelector: {}, policyTypes: [Ingress, Egress] }
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: productpage-to-reviews, namespace: bookinfo }
      spec:
        podSelector: { matchLabels: { app: reviews } }
        ingress: [{ from: [{ podSelector: { matchLabels: { app: productpage } } }], ports: [{ port: 9080 }] }]
  rollout:
    strategy: percent
    stages:
      - { name: monitor, minDuration: 1h }
      - { name: all, percent: 100, minDuration: 1h }
  gates: { minFlows: 1 }
`;

// Already in force: ingress locked down, details open to productpage. So the proposal's
// egress lockdown is newly denied, its allow into reviews newly allowed, and ingress the
// legacy lock denies (and the proposal too) already denied.
const BASELINE_YAML = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: legacy-ingress-lock, namespace: bookinfo }
spec: { podSelector: {}, policyTypes: [Ingress] }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: legacy-details-from-productpage, namespace: bookinfo }
spec:
  podSelector: { matchLabels: { app: details } }
  ingress: [{ from: [{ podSelector: { matchLabels: { app: productpage } } }], ports: [{ port: 9080 }] }]
`;

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
  rollout:
    strategy: percent
    stages:
      - { name: monitor, minDuration: 1h }
      - { name: all, percent: 100, minDuration: 1h }
  gates: { minFlows: 1 }
`;

interface Line {
  verdict: string;
  egress: SideVerdict | 'none';
  ingress: SideVerdict | 'none';
  change: string;
  baseline: { egress: SideVerdict | 'none'; ingress: SideVerdict | 'none' };
}

interface Evidence {
  flows: number;
  allow: number;
  deny: number;
  indeterminate: number;
  alreadyDenied: number;
  newlyAllowed: number;
  baselineRevision: string | null;
  baselineRevisions: number;
}

async function evaluateWithBaseline(policies: string, baseline: string): Promise<{ code: number | null; lines: Line[] }> {
  const p = spawnRampart(['evaluate', '--policies', policies, '--baseline', baseline, '--flows', TCP_CAPTURE]);
  const code = await new Promise<number | null>((resolve) => p.proc.on('close', (c) => resolve(c)));
  return { code, lines: p.logs as unknown as Line[] };
}

describe('agent and control plane vs rampart evaluate --baseline', () => {
  let dir: string;
  let controlplane: ControlplaneProcess;
  let replay: ReplayProcess;
  let agent: AgentProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rampart-baseline-'));
    for (const d of ['contracts', 'baseline', 'state']) mkdirSync(join(dir, d));
    writeFileSync(join(dir, 'contracts', 'bookinfo.yaml'), CONTRACT_YAML);
    writeFileSync(join(dir, 'contracts', 'narrow.yaml'), NARROW_YAML);
    writeFileSync(join(dir, 'baseline', 'legacy.yaml'), BASELINE_YAML);
    controlplane = await startControlplaneProcess([
      '--contracts',
      join(dir, 'contracts'),
      '--state',
      join(dir, 'state'),
      '--baseline',
      join(dir, 'baseline'),
      '--contract-rescan',
      '200ms',
      '--reconcile-interval',
      '200ms',
    ]);
    replay = await startReplay(TCP_CAPTURE);
    agent = await startAgentProcess({ hubble: replay.address, controlplane: `127.0.0.1:${controlplane.grpcPort}`, node: 'kind-control-plane', extra: ['--hubble-history', '100000'] });
  });

  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await replay?.stop();
    await controlplane?.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  const evidence = async (name = CONTRACT): Promise<Evidence> => {
    const res = await fetch(`${controlplane.base}/api/v1/contracts/${name}`);
    const body = (await res.json()) as { evidence: Evidence };
    return body.evidence;
  };

  it('counts the same newly-denied, already-denied and newly-allowed sides as evaluate --baseline', async () => {
    writeFileSync(join(dir, 'contract.yaml'), CONTRACT_YAML);
    const { code, lines } = await evaluateWithBaseline(join(dir, 'contract.yaml'), join(dir, 'baseline'));
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
