/**
 * Outages on both sides, with real processes: the collector down for 30 s (override with
 * RAMPART_TEST_OUTAGE_MS) then back → every window arrives exactly once; Hubble (the replay
 * server) killed and restarted mid-stream → nothing counted twice.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCollector } from '../support/collector.js';
import { evaluateCapture, startAgentProcess, startReplay, TCP_CAPTURE, type AgentProcess, type ReplayProcess } from '../support/agent-harness.js';
import { waitFor } from '../support/wait-for.js';
import type { ContractSet } from '../../core/summary/index.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const OUTAGE_MS = Number(process.env['RAMPART_TEST_OUTAGE_MS'] ?? 30_000);
const WINDOW_MS = 500;
const POLICIES = [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all', namespace: 'bookinfo' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }];
const CONTRACTS: ContractSet = {
  generation: 1,
  contracts: [{ name: 'lockdown', revision: 1, stageIndex: 0, stageName: 'monitor', policies: POLICIES, enforcement: { mode: 'monitor' } }],
};

describe('agent outages', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it(`delivers every window exactly once across a ${OUTAGE_MS / 1000} s collector outage, with a rotated token`, { timeout: OUTAGE_MS + 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-agent-outage-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'token-before');
    const collector = new TestCollector({ contracts: CONTRACTS, token: 'token-before' });
    // A Unix socket: it comes back at the same address, which no one can take meanwhile.
    await collector.start(`unix://${join(dir, 'controlplane.sock')}`);
    cleanups.push(() => collector.stop());
    // Live playback, looping: traffic keeps coming during the outage.
    const replay: ReplayProcess = await startReplay(TCP_CAPTURE, ['--rate', '200', '--loop']);
    cleanups.push(() => replay.stop('SIGKILL'));
    const agent: AgentProcess = await startAgentProcess({
      hubble: replay.address,
      controlplane: collector.target,
      node: 'kind-control-plane',
      window: `${WINDOW_MS}ms`,
      extra: ['--controlplane-max-backoff', '2s', '--drain-timeout', '20s', '--token-file', tokenFile],
    });
    cleanups.push(() => agent.stop('SIGKILL'));

    await waitFor(() => collector.accepted.filter((w) => w.hubble.flowsSeen > 0).length >= 3, { timeoutMs: 20_000, what: 'windows with flows before the outage' });
    await collector.stop();
    const downAt = Date.now();
    // The outage lasts until the agent holds OUTAGE_MS worth of unacknowledged windows.
    await waitFor(
      async () => {
        const pending = (await agent.metrics()).value('rampart_agent_outbox_windows') ?? 0;
        return pending * WINDOW_MS >= OUTAGE_MS && Date.now() - downAt >= OUTAGE_MS;
      },
      { timeoutMs: OUTAGE_MS + 30_000, intervalMs: 250, what: 'the outbox to hold the outage' },
    );
    const during = await agent.metrics();
    expect(during.value('rampart_agent_controlplane_connected')).toBe(0);
    expect(during.value('rampart_agent_outbox_merges_total')).toBe(0); // 10 minutes of room by default

    // The projected token rotates while the control plane is away: the agent must read the new one.
    writeFileSync(tokenFile, 'token-after\n');
    collector.setToken('token-after');
    await collector.start();
    await waitFor(async () => (await agent.metrics()).value('rampart_agent_outbox_windows') === 0, { timeoutMs: 30_000, intervalMs: 200, what: 'the outbox to drain' });
    expect(await agent.stop('SIGTERM')).toBe(0);
    const stopped = agent.logs.find((l) => l['msg'] === 'stopped')!;
    expect(stopped).toMatchObject({ unacknowledgedWindows: 0 });

    // Exactly once: every number from 1 to the last, once; windows and flows add up to the agent's own totals.
    const seqs = collector.accepted.map((w) => w.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(collector.accepted.reduce((n, w) => n + w.mergedWindows, 0)).toBe(stopped['windows']);
    expect(collector.accepted.reduce((n, w) => n + w.hubble.flowsSeen, 0)).toBe(stopped['flows']);
    expect(collector.accepted.reduce((n, w) => n + w.hubble.connections, 0)).toBe(stopped['connections']);
    expect(seqs.length).toBeGreaterThan(OUTAGE_MS / WINDOW_MS);
    expect(collector.authorizations[0]).toBe('Bearer token-before');
    expect(collector.authorizations.at(-1)).toBe('Bearer token-after');
    // Windows are contiguous in time: nothing missing between them.
    const byStart = [...collector.accepted].sort((a, b) => a.windowStartMs - b.windowStartMs);
    for (let i = 1; i < byStart.length; i++) expect(byStart[i]!.windowStartMs).toBe(byStart[i - 1]!.windowEndMs);
  });

  it('merges the oldest windows when a small outbox fills, counts the merges, and still loses nothing', { timeout: 90_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-agent-merge-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const collector = new TestCollector({ contracts: CONTRACTS });
    await collector.start(`unix://${join(dir, 'controlplane.sock')}`); // comes back at the same address
    cleanups.push(() => collector.stop());
    const replay = await startReplay(TCP_CAPTURE, ['--rate', '200', '--loop']);
    cleanups.push(() => replay.stop('SIGKILL'));
    const agent = await startAgentProcess({
      hubble: replay.address,
      controlplane: collector.target,
      node: 'kind-control-plane',
      window: `${WINDOW_MS}ms`,
      // Room for 4 reports: an outage of a few seconds must merge.
      extra: ['--controlplane-max-backoff', '1s', '--outbox-duration', '2s'],
    });
    cleanups.push(() => agent.stop('SIGKILL'));
    await waitFor(() => collector.accepted.length >= 2, { timeoutMs: 20_000, what: 'windows before the outage' });
    await collector.stop();
    await waitFor(async () => ((await agent.metrics()).value('rampart_agent_outbox_merges_total') ?? 0) >= 5, { timeoutMs: 30_000, intervalMs: 200, what: 'merges in the full outbox' });
    const full = await agent.metrics();
    expect(full.value('rampart_agent_outbox_entries')).toBeLessThanOrEqual(4);
    expect(full.value('rampart_agent_outbox_windows')).toBeGreaterThan(4);
    await collector.start();
    await waitFor(async () => (await agent.metrics()).value('rampart_agent_outbox_windows') === 0, { timeoutMs: 30_000, intervalMs: 200, what: 'the outbox to drain' });
    expect(await agent.stop('SIGTERM')).toBe(0);
    const stopped = agent.logs.find((l) => l['msg'] === 'stopped')!;
    expect(stopped['outboxMerges']).toBeGreaterThanOrEqual(5);
    expect(collector.accepted.some((w) => w.mergedWindows > 1)).toBe(true);
    expect(collector.accepted.reduce((n, w) => n + w.mergedWindows, 0)).toBe(stopped['windows']);
    expect(collector.accepted.reduce((n, w) => n + w.hubble.flowsSeen, 0)).toBe(stopped['flows']);
    expect(collector.accepted.reduce((n, w) => n + w.hubble.connections, 0)).toBe(stopped['connections']);
  });

  // Fault suite: Hubble restart mid-stream (the other faults are in faults-*.test.ts).
  it('counts nothing twice when Hubble restarts mid-stream, resuming with since', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-agent-restart-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, 'policies.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: POLICIES }));
    const expected = (await evaluateCapture(join(dir, 'policies.json'), TCP_CAPTURE)).filter((r) => r.verdict !== 'skip');

    const collector = new TestCollector({ contracts: CONTRACTS });
    await collector.start(0);
    cleanups.push(() => collector.stop());
    // A Unix socket: the restarted Hubble comes back at an address no one can take meanwhile.
    let replay = await startReplay(TCP_CAPTURE, [], `unix://${join(dir, 'hubble.sock')}`);
    cleanups.push(() => replay.stop('SIGKILL'));
    const agent = await startAgentProcess({
      hubble: replay.address,
      controlplane: collector.target,
      node: 'kind-control-plane',
      window: `${WINDOW_MS}ms`,
      extra: ['--hubble-history', '100000'],
    });
    cleanups.push(() => agent.stop('SIGKILL'));
    const sum = (pick: (w: (typeof collector.accepted)[number]) => number): number => collector.accepted.reduce((n, w) => n + pick(w), 0);
    await waitFor(() => sum((w) => w.hubble.connections) >= expected.length, { timeoutMs: 20_000, what: 'the whole capture evaluated' });
    const flowsBefore = sum((w) => w.hubble.flowsSeen);

    // Kill Hubble while the agent follows its stream, and bring it back with the same history.
    await replay.stop('SIGKILL');
    replay = await startReplay(TCP_CAPTURE, [], replay.address);
    await waitFor(
      () => {
        if (agent.exitCode() !== undefined) throw new Error(`agent exited: ${JSON.stringify(agent.logs.slice(-3))}`);
        return collector.accepted.some((w) => w.hubble.reconnects > 0);
      },
      { timeoutMs: 30_000, what: 'a window that saw the reconnect' },
    );
    await waitFor(async () => (await agent.metrics()).value('rampart_agent_hubble_connected') === 1, { timeoutMs: 10_000, what: 'Hubble connected again' });
    // It asked the new server for what it had not seen, with `since` (not from scratch, not from now).
    const connects = agent.logs.filter((l) => l['msg'] === 'hubble stream connected');
    expect(connects[0]).toMatchObject({ resumedFrom: null, previous: 'connecting' });
    const resumed = connects.at(-1)!;
    expect(resumed['previous']).toBe('reconnecting');
    expect(resumed['resumedFrom']).toEqual({ seconds: expect.any(Number), nanos: expect.any(Number) });
    const windowsNow = collector.accepted.length;
    await waitFor(() => collector.accepted.length >= windowsNow + 3, { what: 'three more windows' });

    expect(sum((w) => w.hubble.flowsSeen)).toBe(flowsBefore);
    expect(sum((w) => w.hubble.connections)).toBe(expected.length);
    const denies = expected.filter((r) => r.egress === 'deny').length + expected.filter((r) => r.ingress === 'deny').length;
    expect(collector.total('lockdown', (c) => c.egress.deny + c.ingress.deny)).toBe(denies);
    expect(collector.duplicates).toBe(0);
    expect(await agent.stop('SIGTERM')).toBe(0);
  });
});
