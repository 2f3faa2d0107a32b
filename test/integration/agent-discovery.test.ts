/**
 * Agents reach every replica through a headless Service's name (product.md "Kubernetes mode",
 * High availability): `--controlplane dns://<server>/<name>:<port>` resolves the name to all
 * its A/AAAA records and keeps one stream per address, adding and dropping streams as the
 * answer changes. Real peers: a DNS server on UDP loopback (test/support/dns-responder.ts),
 * two collectors on 127.0.0.1 and 127.0.0.2 sharing one port (as replicas behind one Service
 * do), the replay server, and the agent process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseDnsTarget, resolveAll } from '../../agent/report/discovery.js';
import type { ContractSet } from '../../core/summary/index.js';
import { startAgentProcess, startReplay, TCP_CAPTURE } from '../support/agent-harness.js';
import { TestCollector } from '../support/collector.js';
import { DnsResponder } from '../support/dns-responder.js';
import { waitFor } from '../support/wait-for.js';

const NAME = 'rampart-controlplane-replicas.rampart-system.svc';
const POLICIES = [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny-all', namespace: 'bookinfo' }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } }];
const CONTRACTS: ContractSet = { generation: 3, contracts: [{ name: 'lockdown', revision: 1, stageIndex: 0, stageName: 'monitor', policies: POLICIES, enforcement: { mode: 'monitor' } }] };

describe('control-plane replicas from DNS', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('resolves every A and AAAA record of the name from the given server; a missing name fails', async () => {
    const dns = new DnsResponder();
    const server = await dns.start();
    cleanups.push(() => dns.close());
    dns.records.set(NAME, ['127.0.0.2', '127.0.0.1', 'fd00::1']);
    dns.records.set('only-v4.test', ['10.0.0.7']);
    const target = (name: string) => {
      const t = parseDnsTarget(`dns://${server}/${name}:9967`);
      if (t === null || !t.ok) throw new Error(`bad target: ${JSON.stringify(t)}`);
      return t.value;
    };
    expect(await resolveAll(target(NAME))).toEqual(['127.0.0.1', '127.0.0.2', 'fd00::1']);
    expect(await resolveAll(target('only-v4.test'))).toEqual(['10.0.0.7']);
    await expect(resolveAll(target('gone.test'))).resolves.toEqual([]);
    dns.failing = true;
    await expect(resolveAll(target(NAME))).rejects.toThrow();
  });

  it('streams to each address, adds a replica that appears, drops one that goes, and keeps the set while DNS fails', { timeout: 60_000 }, async () => {
    const dns = new DnsResponder();
    const server = await dns.start();
    cleanups.push(() => dns.close());
    const leader = new TestCollector({ contracts: CONTRACTS });
    const port = await leader.start(0);
    const standby = new TestCollector({ host: '127.0.0.2' });
    await standby.start(port);
    cleanups.push(() => leader.stop(), () => standby.stop());
    dns.records.set(NAME, ['127.0.0.1']);
    const replay = await startReplay(TCP_CAPTURE, ['--rate', '200', '--loop']);
    cleanups.push(() => replay.stop('SIGKILL'));
    const agent = await startAgentProcess({
      hubble: replay.address,
      controlplane: `dns://${server}/${NAME}:${port}`,
      node: 'kind-control-plane',
      window: '200ms',
      extra: ['--controlplane-resolve-interval', '200ms'],
    });
    cleanups.push(() => agent.stop('SIGKILL'));

    // One address: only the leader gets windows.
    await waitFor(() => leader.accepted.length >= 3, { timeoutMs: 20_000, what: 'windows at the leader' });
    expect(standby.connects).toBe(0);

    // The standby appears in DNS: a stream of its own, every window from then on.
    dns.records.set(NAME, ['127.0.0.1', '127.0.0.2']);
    await waitFor(() => standby.accepted.length >= 3, { timeoutMs: 20_000, what: 'windows at the added replica' });
    await agent.waitForLog((l) => l['msg'] === 'control plane replica added' && l['target'] === `127.0.0.2:${port}`, 'the added replica in the log');

    // The leader leaves the answer: its stream ends, the standby goes on.
    dns.records.set(NAME, ['127.0.0.2']);
    await agent.waitForLog((l) => l['msg'] === 'control plane replica dropped' && l['target'] === `127.0.0.1:${port}`, 'the dropped replica in the log');
    const atLeader = leader.accepted.length;
    const atStandby = standby.accepted.length;
    await waitFor(() => standby.accepted.length >= atStandby + 3, { timeoutMs: 20_000, what: 'more windows at the remaining replica' });
    expect(leader.accepted.length).toBe(atLeader);

    // DNS fails: the set is kept (the remaining replica's stream goes on).
    dns.failing = true;
    await agent.waitForLog((l) => l['msg'] === 'control plane replicas not resolved; keeping the current set', 'the DNS failure in the log');
    const during = standby.accepted.length;
    await waitFor(() => standby.accepted.length >= during + 3, { timeoutMs: 20_000, what: 'windows while DNS fails' });

    expect(await agent.stop('SIGTERM')).toBe(0);
    // Each replica got its own contiguous sequence, with nothing twice.
    for (const c of [leader, standby]) {
      const seqs = c.accepted.map((w) => w.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
      expect(c.duplicates).toBe(0);
    }
    process.stderr.write(`integration: agent discovery: ${dns.queries} DNS queries; windows at the first replica ${leader.accepted.length} (until dropped), at the added one ${standby.accepted.length}\n`);
  });
});
