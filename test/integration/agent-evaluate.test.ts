/**
 * Two paths, one answer: a real `rampart replay` serving a real capture → a real
 * `rampart agent` process → a real gRPC collector. The agent's window counts, summed, equal
 * what `rampart evaluate` says about the same capture and policies; its /metrics say the same;
 * a contract set that does not compile is rejected with a clear error and the old one kept.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCollector } from '../support/collector.js';
import { evaluateCapture, spawnRampart, startAgentProcess, startReplay, TCP_CAPTURE, type AgentProcess, type ReplayProcess } from '../support/agent-harness.js';
import { waitFor } from '../support/wait-for.js';
import type { ContractSet } from '../../core/summary/index.js';

// bookinfo locked down, with one allow rule: some connection-sides allowed, many denied.
const POLICIES = [
  { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all', namespace: 'bookinfo' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } },
  {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: 'productpage-to-reviews', namespace: 'bookinfo' },
    spec: { podSelector: { matchLabels: { app: 'reviews' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'productpage' } } }], ports: [{ port: 9080 }] }] },
  },
];
const CONTRACT = 'bookinfo-lockdown';
const contractSet = (generation: number, policies: unknown[]): ContractSet => ({
  generation,
  contracts: [{ name: CONTRACT, revision: 1, stageIndex: 0, stageName: 'monitor', policies, enforcement: { mode: 'monitor' } }],
});

describe('agent vs rampart evaluate', () => {
  let dir: string;
  let collector: TestCollector;
  let replay: ReplayProcess;
  let agent: AgentProcess;
  const TOKEN = 'agent-secret-1';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'rampart-agent-eval-'));
    writeFileSync(join(dir, 'policies.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: POLICIES }));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
    collector = new TestCollector({ token: TOKEN, contracts: contractSet(1, POLICIES) });
    await collector.start(0);
    replay = await startReplay(TCP_CAPTURE);
    agent = await startAgentProcess({
      hubble: replay.address,
      controlplane: `127.0.0.1:${collector.port}`,
      node: 'kind-control-plane',
      extra: ['--hubble-history', '100000', '--token-file', join(dir, 'token')],
    });
  });

  afterAll(async () => {
    await agent?.stop('SIGKILL');
    await replay?.stop();
    await collector?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('sums its windows to exactly what rampart evaluate gives', async () => {
    const records = await evaluateCapture(join(dir, 'policies.json'), TCP_CAPTURE);
    const counted = records.filter((r) => r.verdict !== 'skip');
    const expected = {
      connections: counted.length,
      egress: { allow: 0, deny: 0, indeterminate: 0 },
      ingress: { allow: 0, deny: 0, indeterminate: 0 },
    };
    for (const r of counted) {
      for (const side of ['egress', 'ingress'] as const) {
        const v = r[side];
        if (v === 'allow' || v === 'deny' || v === 'indeterminate') expected[side][v]++;
      }
    }
    // Sanity: the comparison means something only if both verdicts occur.
    expect(expected.connections).toBeGreaterThan(20);
    expect(expected.egress.deny + expected.ingress.deny).toBeGreaterThan(0);
    expect(expected.ingress.allow).toBeGreaterThan(0);

    const connections = (): number => collector.accepted.reduce((n, w) => n + w.hubble.connections, 0);
    await waitFor(() => connections() >= expected.connections, { timeoutMs: 20_000, what: `${expected.connections} connections at the collector` });
    // Let one more window close so that nothing is still in flight, then compare.
    const windowsNow = collector.accepted.length;
    await waitFor(() => collector.accepted.length > windowsNow + 1, { what: 'two more windows' });
    expect(connections()).toBe(expected.connections);
    for (const side of ['egress', 'ingress'] as const) {
      for (const verdict of ['allow', 'deny', 'indeterminate'] as const) {
        expect({ side, verdict, n: collector.total(CONTRACT, (c) => c[side][verdict]) }).toEqual({ side, verdict, n: expected[side][verdict] });
      }
    }
    // Every window names contract, revision and stage, and the token was presented.
    const withContract = collector.accepted.filter((w) => w.contracts.length > 0);
    expect(withContract.length).toBeGreaterThan(0);
    for (const w of withContract) expect(w.contracts[0]).toMatchObject({ contract: CONTRACT, revision: 1, stageIndex: 0, stageName: 'monitor' });
    expect(collector.authorizations).toContain(`Bearer ${TOKEN}`);
    expect(collector.duplicates).toBe(0);
    expect(collector.malformed).toEqual([]);
    // Would-deny edges name workloads, never pods or IPs.
    const edges = collector.accepted.flatMap((w) => w.contracts.flatMap((c) => c.wouldDenyEdges));
    expect(edges.length).toBeGreaterThan(0);
    for (const e of edges) {
      expect(`${e.fromWorkload} ${e.toWorkload}`).not.toMatch(/\d+\.\d+\.\d+\.\d+|-[a-z0-9]{8,10}-[a-z0-9]{5}/);
      expect(JSON.parse(e.sampleFlowJson)).toHaveProperty('flow');
    }
  });

  it('serves metrics that agree with the windows, and is ready', async () => {
    const m = await agent.metrics();
    for (const side of ['egress', 'ingress'] as const) {
      for (const verdict of ['allow', 'deny'] as const) {
        expect(m.value('rampart_agent_evaluations_total', { contract: CONTRACT, stage: 'monitor', side, verdict })).toBe(collector.total(CONTRACT, (c) => c[side][verdict]));
      }
    }
    expect(m.value('rampart_agent_connections_total')).toBe(collector.accepted.reduce((n, w) => n + w.hubble.connections, 0));
    expect(m.value('rampart_agent_hubble_connected')).toBe(1);
    expect(m.value('rampart_agent_controlplane_connected')).toBe(1);
    expect(m.value('rampart_agent_contracts_generation')).toBe(1);
    // Labels come from bounded vocabularies only.
    const labelNames = new Set(m.samples.filter((s) => s.name.startsWith('rampart_agent_')).flatMap((s) => Object.keys(s.labels)));
    for (const l of labelNames) expect(['contract', 'stage', 'side', 'verdict', 'source']).toContain(l);
    expect(await agent.get('/healthz')).toMatchObject({ status: 200 });
    expect(await agent.get('/readyz')).toMatchObject({ status: 200 });
  });

  it('rejects a contract set that does not compile, names the problem, and keeps the old set', async () => {
    const bad = [{ ...POLICIES[1], spec: { podSelector: {}, ingress: [{ ports: [{ port: 70_000 }] }] } }];
    collector.setContracts(contractSet(2, bad));
    const line = await agent.waitForLog((l) => l['msg'] === 'contract set rejected; keeping the previous set', 'the rejection');
    expect(line).toMatchObject({ level: 'error', generation: 2, kept: 1 });
    expect(JSON.stringify(line['problems'])).toMatch(/contracts\[0\]\.policies\[0\].*port/);
    const m = await agent.metrics();
    expect(m.value('rampart_agent_contract_sets_rejected_total')).toBe(1);
    expect(m.value('rampart_agent_contracts_generation')).toBe(1);
    const after = collector.accepted.length;
    await waitFor(() => collector.accepted.length > after, { what: 'a window after the rejection' });
    expect(collector.accepted.at(-1)).toMatchObject({ contractsGeneration: 1, contracts: [expect.objectContaining({ contract: CONTRACT, revision: 1 })] });
  });

  it('reads Hubble over a unix socket, as the DaemonSet does', async () => {
    const socket = `unix://${join(dir, 'hubble.sock')}`;
    const unixReplay = await startReplay(TCP_CAPTURE, [], socket);
    const unixCollector = new TestCollector({ contracts: contractSet(1, POLICIES) });
    await unixCollector.start(0);
    const unixAgent = await startAgentProcess({ hubble: socket, controlplane: `127.0.0.1:${unixCollector.port}`, node: 'kind-control-plane', extra: ['--hubble-history', '100000'] });
    try {
      await waitFor(() => unixCollector.accepted.reduce((n, w) => n + w.hubble.connections, 0) === collector.accepted.reduce((n, w) => n + w.hubble.connections, 0), {
        timeoutMs: 20_000,
        what: 'the same connections over the unix socket',
      });
      expect(unixCollector.total(CONTRACT, (c) => c.ingress.allow)).toBe(collector.total(CONTRACT, (c) => c.ingress.allow));
      expect(await unixAgent.stop('SIGTERM')).toBe(0);
    } finally {
      await unixAgent.stop('SIGKILL');
      await unixReplay.stop();
      await unixCollector.stop();
    }
  });

  it('refuses bad configuration with every problem listed and exit 2', async () => {
    const bad = spawnRampart(['agent', '--hubble', 'not an address', '--window', 'soon', '--top-k', '0']);
    const code = await new Promise<number | null>((resolve) => bad.proc.on('close', (c) => resolve(c)));
    expect(code).toBe(2);
    for (const expected of ['--node: is required', '--controlplane: is required', '--hubble: expected host:port', '--window: expected a duration', '--top-k: expected an integer']) {
      expect(bad.stderr()).toContain(expected);
    }
  });

  it('stops on SIGTERM with exit 0 after draining the outbox', async () => {
    const code = await agent.stop('SIGTERM');
    if (code !== 0) throw new Error(JSON.stringify({ code, tail: agent.logs.slice(-6), stderr: agent.stderr() }));
    expect(agent.logs.some((l) => l['msg'] === 'outbox drained')).toBe(true);
    expect(collector.duplicates).toBe(0);
  });
});
