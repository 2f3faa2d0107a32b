/**
 * Hot standby with durable history (product.md "Kubernetes mode", High availability; issue 21):
 * two real `rampart controlplane --kubernetes` replicas against the real API server, each with
 * its own state folder. An agent streams every window to each replica (as `--controlplane
 * a,b` does: one stream, one sequence space per replica). kill -9 of the leader in the middle
 * of the monitor stage: the standby takes over and advances on the evidence gathered before
 * the kill. The gate needs every window (minFlows is exactly what was sent), the evidence
 * names exactly the windows sent (none lost, none counted twice), and the new leader's traffic
 * map holds the edge seen before the failover (in memory, and in its own map file once it
 * saves); the killed replica's map file, written on the save interval without a clean stop,
 * gives it back its map when it restarts. Prints the failover figures.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoordinationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { ObservedPeer } from '../../core/summary/index.js';
import { installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { createContract, deleteContract, ensureNamespace, getContract, type ContractObject } from '../support/kube/contracts.js';
import { CollectorClient } from '../support/collector-client.js';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { waitFor } from '../support/wait-for.js';
import { aSummary, contractWindowsFor } from '../support/window-builders.js';

const kubeconfig = inject('kubeconfig');
const admin: KubeConfig = loadKubeConfig(kubeconfig);
const namespace = uniqueName('hot');
const contract = uniqueName('standby');
const dir = mkdtempSync(join(tmpdir(), 'rampart-hot-'));
const TOKEN = 'test-token-hot';
const auth = { authorization: `Bearer ${TOKEN}` };
writeFileSync(join(dir, 'token'), TOKEN);
const LEASE = { RAMPART_LEASE_DURATION_MS: '4000', RAMPART_LEASE_RENEW_DEADLINE_MS: '3000', RAMPART_LEASE_RENEW_PERIOD_MS: '1000', RAMPART_LEASE_RETRY_PERIOD_MS: '500' };
/** Windows the agent sends in the stage, 100 evaluated sides each; the gate needs them all. */
const WINDOWS = 12;
/** Distinct edges the agent reports before the failover. */
const EDGES = 200;
/** --map-save-interval: the most of the map a kill -9 can lose. */
const MAP_SAVE_MS = 500;
const replicas: ControlplaneProcess[] = [];

/** Edges in a replica's map file (0 while there is none). */
function savedEdges(identity: string): number {
  try {
    return (JSON.parse(readFileSync(join(dir, identity, 'traffic-map.json'), 'utf8')) as { edges: unknown[] }).edges.length;
  } catch {
    return 0;
  }
}
const clients: CollectorClient[] = [];

function start(identity: string): Promise<ControlplaneProcess> {
  const state = join(dir, identity);
  mkdirSync(state, { recursive: true });
  return startControlplaneProcess(
    ['--kubernetes', '--kubeconfig', kubeconfig, '--namespace', namespace, '--state', state, '--map-save-interval', `${MAP_SAVE_MS}ms`, '--reconcile-interval', '200ms', '--expected-nodes', 'node-a', '--token-file', join(dir, 'token')],
    { RAMPART_LEADER_IDENTITY: identity, ...LEASE },
  ).then((p) => {
    replicas.push(p);
    return p;
  });
}

const readyz = async (p: ControlplaneProcess): Promise<number> => (await fetch(`${p.base}/readyz`)).status;
const api = async <T>(p: ControlplaneProcess, path: string): Promise<T> => (await (await fetch(`${p.base}${path}`, { headers: auth })).json()) as T;

const peer = (ns: string, workload: string): ObservedPeer => ({ namespace: ns, workload, kind: 'pod', labels: { app: workload }, namespaceLabels: { 'kubernetes.io/metadata.name': ns }, labelsPartial: false });

/** One agent (node-a, one boot) streaming each window to every replica, as the agent's outboxes do. */
class EveryReplica {
  readonly streams: CollectorClient[];
  private seq = 0;
  constructor(ports: readonly number[]) {
    const bootId = `boot-node-a-${Math.random().toString(36).slice(2)}`;
    this.streams = ports.map((port) => new CollectorClient({ port, node: 'node-a', token: TOKEN, bootId }));
    clients.push(...this.streams);
  }
  /** The leader's contract set (a standby pushes none). */
  set() {
    return this.streams.map((s) => s.latest()).find((s) => s !== null) ?? null;
  }
  send(withEdge: boolean): void {
    const set = this.set()!;
    const end = Date.now();
    this.seq++;
    // The first window carries the map's edges: the job's call to the ledger and EDGES - 1 others.
    const edges = withEdge
      ? [
          { from: peer(namespace, 'invoice-job'), to: peer(namespace, 'ledger'), port: 5432, protocol: 'TCP', count: 3, firstSeenMs: end - 100, lastSeenMs: end - 100 },
          ...Array.from({ length: EDGES - 1 }, (_, i) => ({ from: peer(namespace, `client-${i}`), to: peer(namespace, 'api'), port: 8080, protocol: 'TCP', count: 1, firstSeenMs: end - 100, lastSeenMs: end - 100 })),
        ]
      : [];
    for (const s of this.streams) {
      s.send(aSummary({ node: 'node-a', bootId: s.bootId, seq: this.seq, windowEndMs: end, windowMs: 250, flowsSeen: 1000, contracts: contractWindowsFor(set.contracts), contractsGeneration: set.generation, observedEdges: edges }));
    }
  }
}

beforeAll(async () => {
  await installCrd(admin);
  await ensureNamespace(admin, namespace);
});

afterAll(async () => {
  for (const c of clients) c.close();
  for (const p of replicas) await p.stop('SIGKILL');
  await deleteContract(admin, contract);
  rmSync(dir, { recursive: true, force: true });
});

type Json = { phase: string; stage: { index: number; name: string }; evidence: { windows: number; flows: number }; history: { kind: string; to: string; decision: string; evidence: { windows: number; flows: number } | null }[] };

describe('hot standby: the new leader has the running stage’s evidence and the map', () => {
  it('kill -9 of the leader mid-stage: the standby advances on the windows gathered before the kill, none lost or counted twice, and keeps the map', { timeout: 120_000 }, async () => {
    const a = await start('replica-a');
    await waitFor(async () => (await readyz(a)) === 200, { timeoutMs: 20_000, what: 'replica-a to lead' });
    const b = await start('replica-b');
    const body = {
      apiVersion: 'rampart.dev/v1alpha1',
      kind: 'RampContract',
      metadata: { name: contract },
      spec: {
        policies: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `${contract}-web`, namespace }, spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: 8080 }] }] } }],
        rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '25s' }, { name: 'full', percent: 100, minDuration: '0s' }] },
        // Every window is needed: one lost makes the gate hold, one counted twice shows in `windows`.
        gates: { minFlows: WINDOWS * 100, minNodeCoverage: 0, maxReportAge: '10m', historyWindow: '0' },
        advance: 'auto',
      },
    };
    await createContract(admin, body);
    const agent = new EveryReplica([a.grpcPort, b.grpcPort]);
    await waitFor(() => agent.set()?.contracts.some((c) => c.name === contract) === true, { timeoutMs: 20_000, what: 'the leader’s contract set' });
    // The standby opens the stage the leader's status names (it never pushes a set).
    await waitFor(async () => ((await getContract(admin, contract)).status?.['stageEnteredAt'] ? true : null), { timeoutMs: 20_000, what: 'the first status' });
    expect(agent.streams.map((s) => s.sets.length > 0)).toEqual([true, false]);

    for (let i = 0; i < WINDOWS; i++) agent.send(i === 0);
    await waitFor(() => agent.streams.every((s) => s.acks.length >= WINDOWS), { timeoutMs: 20_000, what: 'every window acknowledged by both replicas' });
    const ackedAt = performance.now();
    const beforeKill = await waitFor(async () => {
      const c = await api<Json>(a, `/api/v1/contracts/${contract}`);
      return c.evidence.windows >= WINDOWS ? c : null;
    }, { timeoutMs: 10_000, what: `the leader's view to count ${WINDOWS} windows` });
    expect(beforeKill.stage.name).toBe('monitor');
    expect(beforeKill.evidence.windows).toBe(WINDOWS);

    // The standby ingested every window but never reconciled on its own (no transition, no set pushed).
    expect(b.logs.filter((l) => l['msg'] === 'ramp transition' || l['msg'] === 'contract set changed')).toEqual([]);
    expect(agent.streams[1]!.sets).toEqual([]);
    // The leader's map reaches its own volume without a clean stop (within the save interval).
    await waitFor(() => savedEdges('replica-a') === EDGES, { timeoutMs: 10_000, intervalMs: 50, what: `replica-a's map file to hold ${EDGES} edges` });
    const savedAfterMs = Math.round(performance.now() - ackedAt);
    const killedAt = performance.now();
    a.proc.kill('SIGKILL');
    await waitFor(async () => (await readyz(b)) === 200, { timeoutMs: 20_000, intervalMs: 50, what: 'replica-b to take over' });
    const readyMs = Math.round(performance.now() - killedAt);
    const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'rampart-controlplane', namespace });
    expect(lease.spec?.holderIdentity).toBe('replica-b');

    // The new leader shows the stage's evidence at once: every window sent before the kill, once.
    const takeover = await waitFor(async () => {
      const c = await api<Json>(b, `/api/v1/contracts/${contract}`);
      return c.phase ? c : null;
    }, { timeoutMs: 10_000, what: 'the new leader’s view' });
    expect(takeover.stage.name).toBe('monitor');
    expect(takeover.evidence.windows).toBe(WINDOWS);
    expect(takeover.evidence.flows).toBe(WINDOWS * 100);

    // It advances on that evidence (no window was sent after the kill).
    const full = await waitFor(async () => {
      const c = await api<Json>(b, `/api/v1/contracts/${contract}`);
      return c.stage.name === 'full' ? c : null;
    }, { timeoutMs: 40_000, intervalMs: 200, what: 'the new leader to advance on the pre-kill evidence' });
    const advance = full.history.find((h) => h.decision === 'advance' && h.to === 'full')!;
    expect(advance.evidence).toMatchObject({ windows: WINDOWS, flows: WINDOWS * 100 });
    // The status object follows the decision (history first, then the status write): wait for it, do not race it.
    const status: ContractObject = await waitFor(async () => {
      const c = await getContract(admin, contract);
      return (c.status?.['stage'] as { name: string } | undefined)?.name === 'full' ? c : null;
    }, { timeoutMs: 10_000, intervalMs: 100, what: 'the contract status to say full' });
    expect((status.status?.['stage'] as { name: string }).name).toBe('full');

    // Its map holds the edge seen before the failover.
    const map = await api<{ edges: { from: string; to: string; port: number; count: number }[] }>(b, '/api/v1/map');
    expect(map.edges).toContainEqual(expect.objectContaining({ from: `${namespace}/invoice-job`, to: `${namespace}/ledger`, port: 5432, count: 3 }));
    const edgesKept = map.edges.length;
    expect(edgesKept).toBe(EDGES);
    // ... and on its own volume after a clean stop (the file the next start loads).
    expect(await b.stop('SIGTERM')).toBe(0);
    const saved = JSON.parse(readFileSync(join(dir, 'replica-b', 'traffic-map.json'), 'utf8')) as { edges: { from: { workload: string }; to: { workload: string } }[] };
    expect(saved.edges.map((e) => `${e.from.workload}>${e.to.workload}`)).toContain('invoice-job>ledger');
    // The killed replica comes back (as Kubernetes restarts it) with the map on its volume.
    const onVolume = savedEdges('replica-a');
    const a2 = await start('replica-a');
    const restarted = await api<{ edges: { from: string; to: string }[] }>(a2, '/api/v1/map');
    expect(restarted.edges).toContainEqual(expect.objectContaining({ from: `${namespace}/invoice-job`, to: `${namespace}/ledger` }));
    expect(restarted.edges.length).toBe(EDGES);
    process.stderr.write(`kube: hot standby failover: ready new leader ${readyMs} ms after kill -9 (lease ${LEASE.RAMPART_LEASE_DURATION_MS} ms); windows ${WINDOWS} sent, ${takeover.evidence.windows} held by the new leader (lost ${WINDOWS - takeover.evidence.windows}, counted twice 0); map edges kept ${edgesKept} of ${EDGES}; killed replica's map file ${onVolume} edges (written ${savedAfterMs} ms after the last acknowledged window, save interval ${MAP_SAVE_MS} ms), ${restarted.edges.length} loaded on its restart\n`);
  });
});
