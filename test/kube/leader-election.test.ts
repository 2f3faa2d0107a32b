/**
 * Two real `rampart controlplane --kubernetes` processes against the real API server: one
 * holds the Lease `rampart-controlplane` and reconciles, the other answers /readyz 503 and
 * writes nothing. kill -9 of the leader: the standby takes over within the lease duration
 * (plus one retry period), continues from the status (no stage applied twice, no transition
 * repeated or lost), and carries the ramp on. Prints the measured failover time.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, EventsV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { contractBody, createContract, deleteContract, ensureNamespace, getContract, type ContractObject } from '../support/kube/contracts.js';
import { CollectorClient } from '../support/collector-client.js';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { waitFor } from '../support/wait-for.js';

const kubeconfig = inject('kubeconfig');
const admin: KubeConfig = loadKubeConfig(kubeconfig);
const namespace = uniqueName('ha');
const contract = uniqueName('failover');
const LEASE_MS = 15_000;
const RETRY_MS = 2_000;
const replicas: ControlplaneProcess[] = [];
const agents: CollectorClient[] = [];
const dir = mkdtempSync(join(tmpdir(), 'rampart-ha-'));
const TOKEN = 'test-token-ha';
const auth = { authorization: `Bearer ${TOKEN}` };
writeFileSync(join(dir, 'token'), TOKEN);

function start(identity: string): Promise<ControlplaneProcess> {
  return startControlplaneProcess(
    ['--kubernetes', '--kubeconfig', kubeconfig, '--namespace', namespace, '--reconcile-interval', '200ms', '--expected-nodes', 'node-a', '--token-file', join(dir, 'token')],
    { RAMPART_LEADER_IDENTITY: identity },
  ).then((p) => {
    replicas.push(p);
    return p;
  });
}

const readyz = async (p: ControlplaneProcess): Promise<number> => (await fetch(`${p.base}/readyz`)).status;

async function holder(): Promise<string | undefined> {
  const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'rampart-controlplane', namespace });
  return lease.spec?.holderIdentity;
}

async function status(what: string, ok: (c: ContractObject) => boolean, timeoutMs = 30_000): Promise<ContractObject> {
  return waitFor(
    async () => {
      const c = await getContract(admin, contract);
      return ok(c) ? c : false;
    },
    { timeoutMs, intervalMs: 100, what },
  );
}

/** An agent for node-a that reports a clean window every 300 ms to one replica. */
function feed(p: ControlplaneProcess): { stop(): void } {
  const agent = new CollectorClient({ port: p.grpcPort, node: 'node-a', token: TOKEN });
  agents.push(agent);
  const timer = setInterval(() => agent.sendWindow({ allow: 100 }), 300);
  return {
    stop() {
      clearInterval(timer);
      agent.close();
    },
  };
}

async function approve(p: ControlplaneProcess): Promise<void> {
  await status('AwaitingApproval', (c) => c.status?.['phase'] === 'AwaitingApproval');
  const res = await fetch(`${p.base}/api/v1/contracts/${contract}/approve`, { method: 'POST', body: '{}', headers: auth });
  expect(res.status, await res.text()).toBe(200);
}

const transitionKey = (h: Record<string, unknown>): string => JSON.stringify([h['at'], h['kind'], h['from'], h['to'], h['phase']]);

beforeAll(async () => {
  await installCrd(admin);
  await ensureNamespace(admin, namespace);
});

afterAll(async () => {
  for (const a of agents) a.close();
  for (const p of replicas) await p.stop('SIGKILL');
  await deleteContract(admin, contract);
  rmSync(dir, { recursive: true, force: true });
});

describe('two control-plane replicas on one Lease', () => {
  it('one leads, the other stands by; kill -9 of the leader hands over from status', { timeout: 180_000 }, async () => {
    const a = await start('replica-a');
    await waitFor(async () => (await readyz(a)) === 200, { timeoutMs: 20_000, what: 'replica-a to lead' });
    const b = await start('replica-b');
    expect(await holder()).toBe('replica-a');

    await createContract(admin, contractBody(contract, { advance: 'manual', namespace }));
    const feedA = feed(a);
    await approve(a);
    const half = await status('stage half applied', (c) => (c.status?.['stage'] as { name?: string } | undefined)?.name === 'half' && c.status?.conditions?.some((x) => x.type === 'Applied' && x.status === 'True') === true);
    // The standby has been standing by all along: not ready, not reconciling anything.
    expect(await readyz(b)).toBe(503);
    expect(((await (await fetch(`${b.base}/api/v1/contracts`, { headers: auth })).json()) as { items: unknown[] }).items).toEqual([]);
    const metric = async (p: ControlplaneProcess): Promise<string> => (await (await fetch(`${p.base}/metrics`)).text()).match(/^rampart_controlplane_leader (\d)$/m)?.[1] ?? '';
    expect([await metric(a), await metric(b)]).toEqual(['1', '0']);
    expect(await (await fetch(`${b.base}/metrics`)).text()).toMatch(/^rampart_controlplane_status_writes_total\{result="ok"\} 0$/m);
    expect(Number((await (await fetch(`${a.base}/metrics`)).text()).match(/^rampart_controlplane_status_writes_total\{result="ok"\} (\d+)$/m)?.[1])).toBeGreaterThan(0);
    expect(await holder()).toBe('replica-a');
    feedA.stop();

    const before = half.status!.history!.map(transitionKey);
    const killedAt = performance.now();
    a.proc.kill('SIGKILL');
    await waitFor(async () => (await readyz(b)) === 200, { timeoutMs: LEASE_MS + RETRY_MS + 5_000, intervalMs: 50, what: 'replica-b to take over' });
    const failoverMs = Math.round(performance.now() - killedAt);
    process.stderr.write(`kube: failover after kill -9 of the leader: ${failoverMs} ms (lease ${LEASE_MS} ms, retry ${RETRY_MS} ms)\n`);
    expect(failoverMs).toBeLessThanOrEqual(LEASE_MS + RETRY_MS + 1_000);
    expect(await holder()).toBe('replica-b');
    const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'rampart-controlplane', namespace });
    expect(lease.spec?.leaseTransitions).toBe(1);

    // B continues from the status: same revision and stage, nothing re-registered or re-applied.
    const feedB = feed(b);
    await approve(b);
    const full = await status('stage full', (c) => (c.status?.['stage'] as { name?: string } | undefined)?.name === 'full');
    feedB.stop();
    const after = full.status!.history!.map(transitionKey);
    expect(after.slice(0, before.length)).toEqual(before); // no status write lost
    expect(new Set(after).size).toBe(after.length); // no transition repeated
    const hist = full.status!.history!;
    expect(hist.filter((h) => h['kind'] === 'revision')).toHaveLength(1);
    expect(hist.filter((h) => h['kind'] === 'approve').map((h) => h['to'])).toEqual(['half', 'full']);
    expect(full.status!['revisionNumber']).toBe(1);

    // One Event per transition across both leaders.
    const events = await waitFor(
      async () => {
        const list = await admin.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: 'default' });
        const mine = list.items.filter((e) => e.regarding?.name === contract && e.reason === 'Approved');
        return mine.length >= 2 ? mine : false;
      },
      { timeoutMs: 10_000, what: 'two Approved events' },
    );
    expect(events.map((e) => e.reportingInstance).sort()).toEqual(['replica-a', 'replica-b']);

    // A clean stop (SIGTERM, as a rollout does) releases the Lease: the next standby need not
    // wait out the lease duration.
    const c = await start('replica-c');
    // Not a sleep: wait until the leader has renewed the Lease at a time more than a retry
    // period after replica-c was up, so replica-c has tried (and failed) to take it since.
    const cUpAt = Date.now();
    await waitFor(
      async () => {
        const renewed = (await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'rampart-controlplane', namespace })).spec?.renewTime;
        const at = renewed instanceof Date ? renewed.getTime() : Date.parse(String(renewed));
        return renewed !== undefined && at > cUpAt + RETRY_MS + 500;
      },
      { timeoutMs: LEASE_MS, intervalMs: 100, what: 'a renewal by the leader a retry period after replica-c started' },
    );
    expect(await readyz(c)).toBe(503);
    const stoppedAt = performance.now();
    expect(await b.stop('SIGTERM')).toBe(0);
    await waitFor(async () => (await readyz(c)) === 200, { timeoutMs: LEASE_MS, intervalMs: 50, what: 'replica-c to take over' });
    const handoverMs = Math.round(performance.now() - stoppedAt);
    process.stderr.write(`kube: hand-over after SIGTERM of the leader (Lease released): ${handoverMs} ms\n`);
    expect(handoverMs).toBeLessThan(LEASE_MS / 2);
    expect(await holder()).toBe('replica-c');
  });
});
