/**
 * Hot standby from the agent's side: `--controlplane a,b` streams every window to each
 * control-plane replica, each through its own outbox (its own sequence numbers and acks), and
 * takes the contract set from whichever replica pushes one (the leader; a standby pushes none).
 * Real processes: the agent, the replay server, two collectors on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { TestCollector } from '../support/collector.js';
import { startAgentProcess, startReplay, TCP_CAPTURE } from '../support/agent-harness.js';
import { waitFor } from '../support/wait-for.js';
import type { ContractSet } from '../../core/summary/index.js';

const POLICIES = [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all', namespace: 'bookinfo' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }];
const CONTRACTS: ContractSet = { generation: 7, contracts: [{ name: 'lockdown', revision: 1, stageIndex: 0, stageName: 'monitor', policies: POLICIES, enforcement: { mode: 'monitor' } }] };

describe('an agent with two control-plane replicas', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('sends every window to each replica exactly once, following the leader’s contract set', { timeout: 60_000 }, async () => {
    const leader = new TestCollector({ contracts: CONTRACTS });
    const standby = new TestCollector({});
    await leader.start(0);
    await standby.start(0);
    cleanups.push(() => leader.stop(), () => standby.stop());
    const replay = await startReplay(TCP_CAPTURE, ['--rate', '200', '--loop']);
    cleanups.push(() => replay.stop('SIGKILL'));
    const agent = await startAgentProcess({ hubble: replay.address, controlplane: `127.0.0.1:${leader.port},127.0.0.1:${standby.port}`, node: 'kind-control-plane', window: '300ms' });
    cleanups.push(() => agent.stop('SIGKILL'));

    await waitFor(() => standby.accepted.filter((w) => w.contracts.some((c) => c.contract === 'lockdown')).length >= 5, { timeoutMs: 20_000, what: 'evaluated windows at the standby' });
    expect(await agent.stop('SIGTERM')).toBe(0);
    const stopped = agent.logs.find((l) => l['msg'] === 'stopped')!;
    for (const c of [leader, standby]) {
      const seqs = c.accepted.map((w) => w.seq).sort((a, b) => a - b);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(c.accepted.reduce((n, w) => n + w.mergedWindows, 0)).toBe(stopped['windows']);
      expect(c.accepted.reduce((n, w) => n + w.hubble.flowsSeen, 0)).toBe(stopped['flows']);
    }
    // The same evidence at both: the standby's totals equal the leader's.
    const evaluated = (c: TestCollector): number => c.total('lockdown', (w) => w.ingress.allow + w.ingress.deny + w.egress.allow + w.egress.deny);
    expect(evaluated(standby)).toBe(evaluated(leader));
    expect(evaluated(leader)).toBeGreaterThan(0);
  });
});
