/**
 * The Lease elector (controlplane/kubernetes/lease-elector.ts) in-process against the real
 * API server, with short timings: one of two candidates leads; a clean stop releases the
 * Lease so the other takes over within a retry period; a leader that cannot reach the API
 * server stops leading at its renew deadline, before its lease runs out for others.
 */
import { CoordinationV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { systemClock } from '../../core/common/index.js';
import { LeaseElector } from '../../controlplane/kubernetes/lease-elector.js';
import { createJsonLogger } from '../../io/json-logger.js';
import { loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { ensureNamespace } from '../support/kube/contracts.js';
import { startTcpProxy, type TcpProxy } from '../support/kube/tcp-proxy.js';
import { waitFor } from '../support/wait-for.js';

const admin = loadKubeConfig(inject('kubeconfig'));
const namespace = uniqueName('lease');
const log = createJsonLogger('error', () => undefined);
const TIMING = { leaseDurationMs: 3000, renewDeadlineMs: 2000, renewPeriodMs: 500, retryPeriodMs: 300 };
const controllers: AbortController[] = [];
let proxy: TcpProxy;

interface Candidate {
  readonly elector: LeaseElector;
  readonly controller: AbortController;
  readonly started: number[];
  readonly stopped: string[];
  readonly done: Promise<void>;
  /** Times the elector read its clock: at least its attempts so far. */
  clockReads(): number;
}

function candidate(identity: string, name: string, kc: KubeConfig = admin): Candidate {
  // The elector reads its clock once per attempt (and, once it leads, in isLeader): counting
  // the reads lets a test wait for attempts instead of sleeping.
  let clockReads = 0;
  const clock = { nowMs: () => (clockReads++, systemClock.nowMs()) };
  const elector = new LeaseElector({ kc, namespace, identity, log, clock, name, ...TIMING });
  const controller = new AbortController();
  controllers.push(controller);
  const started: number[] = [];
  const stopped: string[] = [];
  const done = elector.run(controller.signal, { started: () => started.push(performance.now()), stopped: (r) => stopped.push(r) });
  return { elector, controller, started, stopped, done, clockReads: () => clockReads };
}

const holder = async (name: string): Promise<string | undefined> =>
  (await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace })).spec?.holderIdentity;

beforeAll(async () => {
  await ensureNamespace(admin, namespace);
  const server = new URL(admin.getCurrentCluster()!.server);
  proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port) });
});

afterAll(async () => {
  for (const c of controllers) c.abort();
  await proxy?.close();
});

describe('LeaseElector', () => {
  it('elects one of two candidates and hands over on a clean stop (release)', async () => {
    const name = uniqueName('elect');
    const a = candidate('a', name);
    await waitFor(() => a.elector.isLeader(), { timeoutMs: 5_000, what: 'a to lead' });
    const b = candidate('b', name);
    // Several of b's attempts (a candidate that never led reads its clock once per attempt).
    await waitFor(() => b.clockReads() >= 4, { timeoutMs: 10_000, what: 'four attempts of b' });
    expect(b.elector.isLeader()).toBe(false);
    expect(await holder(name)).toBe('a');
    const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace });
    // MicroTime: six fractional digits, as the API server requires.
    expect(String(lease.spec?.renewTime)).toMatch(/\.\d{6}Z$/);
    expect(Math.abs(Date.parse(String(lease.spec?.renewTime)) - Date.now())).toBeLessThan(5_000);
    expect(lease.spec?.leaseDurationSeconds).toBe(3);

    const t0 = performance.now();
    a.controller.abort();
    await a.done;
    expect(a.stopped).toEqual(['stopped']);
    await waitFor(() => b.elector.isLeader(), { timeoutMs: 5_000, intervalMs: 20, what: 'b to take over' });
    // Released: b did not have to wait out the 3 s lease.
    expect(performance.now() - t0).toBeLessThan(TIMING.leaseDurationMs);
    expect(await holder(name)).toBe('b');
    expect((await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name, namespace })).spec?.leaseTransitions).toBe(1);
  });

  it('stops leading at the renew deadline when the API server is unreachable', async () => {
    const name = uniqueName('cut');
    const kc = new KubeConfig();
    const cluster = admin.getCurrentCluster()!;
    kc.loadFromOptions({
      clusters: [{ ...cluster, server: `https://127.0.0.1:${proxy.port}` }],
      users: [admin.getCurrentUser()!],
      contexts: [{ name: 'p', cluster: cluster.name, user: admin.getCurrentUser()!.name }],
      currentContext: 'p',
    });
    const cut = candidate('cut', name, kc);
    await waitFor(() => cut.elector.isLeader(), { timeoutMs: 5_000, what: 'cut to lead' });
    const standby = candidate('standby', name);
    await proxy.close(); // every request of `cut` now fails
    const t0 = performance.now();
    await waitFor(() => cut.stopped.length > 0, { timeoutMs: 10_000, intervalMs: 20, what: 'cut to stop leading' });
    const stoppedAfter = performance.now() - t0;
    await waitFor(() => standby.elector.isLeader(), { timeoutMs: 10_000, intervalMs: 20, what: 'the standby to take over' });
    const tookOverAfter = performance.now() - t0;
    expect(cut.elector.isLeader()).toBe(false);
    // The old leader gave up before the standby could take over: never two leaders.
    expect(stoppedAfter).toBeLessThan(tookOverAfter);
    expect(stoppedAfter).toBeLessThanOrEqual(TIMING.renewDeadlineMs + TIMING.retryPeriodMs + 500);
    expect(await holder(name)).toBe('standby');
  });
});
