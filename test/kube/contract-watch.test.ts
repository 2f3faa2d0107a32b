/**
 * The RampContract watch (controlplane/contracts/kube-contract-source.ts) against the real
 * API server: the initial list, then adds, edits and deletes from the watch; a resume from a
 * resourceVersion the server no longer has (410 Gone) relists without losing anything; and a
 * watch that goes silent (the server's bytes stop arriving, the socket stays open) is
 * restarted by the watchdog.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeContractSource } from '../../controlplane/contracts/kube-contract-source.js';
import { createJsonLogger } from '../../io/json-logger.js';
import { GROUP, PLURAL, VERSION, customObjects, installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { contractBody, createContract, deleteContract } from '../support/kube/contracts.js';
import { startTcpProxy, type TcpProxy } from '../support/kube/tcp-proxy.js';
import { waitFor } from '../support/wait-for.js';

const admin: KubeConfig = loadKubeConfig(inject('kubeconfig'));
const log = createJsonLogger('error', () => undefined);
const created: string[] = [];
const controllers: AbortController[] = [];
let proxy: TcpProxy;

function source(kc: KubeConfig, options: { watchdogMs?: number; watchTimeoutSeconds?: number } = {}): { src: KubeContractSource; controller: AbortController } {
  const controller = new AbortController();
  controllers.push(controller);
  return { src: new KubeContractSource({ kc, log, retryMinMs: 100, ...options }), controller };
}

const names = (src: KubeContractSource): string[] => src.snapshot().map((e) => e.name);

async function contract(prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  created.push(name);
  await createContract(admin, contractBody(name));
  return name;
}

beforeAll(async () => {
  await installCrd(admin);
  const server = new URL(admin.getCurrentCluster()!.server);
  proxy = await startTcpProxy({ host: server.hostname, port: Number(server.port) });
});

afterAll(async () => {
  for (const c of controllers) c.abort();
  await proxy?.close();
  for (const name of created) await deleteContract(admin, name);
});

describe('the RampContract watch', () => {
  it('lists, then follows adds, spec edits and deletes', async () => {
    const before = await contract('listed');
    const { src, controller } = source(admin);
    let changes = 0;
    src.onChange(() => changes++);
    await src.start(controller.signal);
    expect(names(src)).toContain(before);
    expect(src.snapshot().find((e) => e.name === before)?.contract?.spec.stages.map((s) => s.name)).toEqual(['monitor', 'half', 'full']);

    const added = await contract('added');
    await waitFor(() => names(src).includes(added), { timeoutMs: 10_000, what: 'the added contract' });
    const hash = src.snapshot().find((e) => e.name === added)!.contract!.policiesHash;
    await customObjects(admin).patchClusterCustomObject({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      name: added,
      body: [{ op: 'replace', path: '/spec/policies/0/spec/ingress/0/ports/0/port', value: 9443 }],
    });
    await waitFor(() => src.snapshot().find((e) => e.name === added)?.contract?.policiesHash !== hash, { timeoutMs: 10_000, what: 'the edited spec' });
    expect(src.object(added)?.metadata?.generation).toBe(2);
    await deleteContract(admin, added);
    await waitFor(() => !names(src).includes(added), { timeoutMs: 10_000, what: 'the deleted contract to go' });
    expect(src.object(added)).toBeNull();
    expect(changes).toBeGreaterThanOrEqual(3);
    expect(src.watchStats()).toMatchObject({ lists: 1, gone: 0, stalls: 0 });
  });

  it('resumes from the last resourceVersion when the server ends a watch (no relist)', async () => {
    const { src, controller } = source(admin, { watchTimeoutSeconds: 1 });
    await src.start(controller.signal);
    await waitFor(() => src.watchStats().watches >= 3, { timeoutMs: 10_000, what: 'the server to end two watches' });
    const name = await contract('resumed');
    await waitFor(() => names(src).includes(name), { timeoutMs: 10_000, what: 'the contract on a resumed watch' });
    expect(src.watchStats()).toMatchObject({ lists: 1, gone: 0, stalls: 0, errors: 0 });
  });

  it('relists when the resourceVersion it resumes from is gone (410), losing nothing', async () => {
    const { src, controller } = source(admin);
    await src.start(controller.signal);
    const lists = src.watchStats().lists;
    // A version far older than anything the server still keeps.
    src.restartWatchFrom('1');
    const meanwhile = await contract('after-410');
    await waitFor(() => src.watchStats().gone >= 1 && names(src).includes(meanwhile), { timeoutMs: 15_000, what: 'a relist after 410' });
    expect(src.watchStats().lists).toBeGreaterThan(lists);
    // And it watches again afterwards.
    const later = await contract('after-relist');
    await waitFor(() => names(src).includes(later), { timeoutMs: 10_000, what: 'events after the relist' });
  });

  it('restarts a watch that went silent (watchdog)', async () => {
    const kc = new KubeConfig();
    const cluster = admin.getCurrentCluster()!;
    kc.loadFromOptions({
      clusters: [{ ...cluster, server: `https://127.0.0.1:${proxy.port}` }],
      users: [admin.getCurrentUser()!],
      contexts: [{ name: 'proxied', cluster: cluster.name, user: admin.getCurrentUser()!.name }],
      currentContext: 'proxied',
    });
    const { src, controller } = source(kc, { watchdogMs: 1500 });
    await src.start(controller.signal);
    await waitFor(() => proxy.connections() >= 2, { timeoutMs: 5_000, what: 'the watch connection' }); // the list, then the watch
    expect(proxy.freeze()).toBeGreaterThanOrEqual(1);
    const name = await contract('during-stall');
    const t0 = performance.now();
    await waitFor(() => names(src).includes(name), { timeoutMs: 15_000, what: 'the contract created while the watch was stalled' });
    const ms = Math.round(performance.now() - t0);
    expect(src.watchStats().stalls).toBeGreaterThanOrEqual(1);
    // Not before the watchdog fired: the frozen watch itself delivered nothing.
    expect(ms).toBeGreaterThanOrEqual(500);
  });
});
