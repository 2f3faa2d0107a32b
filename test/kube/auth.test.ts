/**
 * Who may talk to `rampart controlplane --kubernetes`, checked by the real API server:
 * agents by their projected ServiceAccount token (audience `rampart`, ServiceAccount
 * `rampart-agent` of --namespace) through TokenReview; API users by TokenReview then
 * SubjectAccessReview (get/list for reads, update on rampcontracts/<action> for actions);
 * the --token-file token beside them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { KubeAuthorizer, REVIEW_CACHE } from '../../controlplane/access/kube-authorizer.js';
import { createJsonLogger } from '../../io/json-logger.js';
import { FakeClock } from '../support/fake-clock.js';
import { installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { RampartGrants } from '../support/kube/grants.js';
import { contractBody, createContract, deleteContract, ensureNamespace } from '../support/kube/contracts.js';
import { CollectorClient } from '../support/collector-client.js';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { waitFor } from '../support/wait-for.js';

const kubeconfig = inject('kubeconfig');
const admin: KubeConfig = loadKubeConfig(kubeconfig);
const namespace = uniqueName('auth');
const contract = uniqueName('authz');
const dir = mkdtempSync(join(tmpdir(), 'rampart-auth-'));
const FILE_TOKEN = 'file-token-auth-test';
let cp: ControlplaneProcess;
const clients: CollectorClient[] = [];

async function token(sa: string, audiences: string[]): Promise<string> {
  const res = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name: sa, namespace, body: { spec: { audiences, expirationSeconds: 600 } } });
  return res.status!.token;
}

const grants = new RampartGrants(admin, namespace);
const grant = (sa: string, rules: { resources: string[]; verbs: string[] }[]): Promise<void> => grants.grant(sa, rules);

const get = (path: string, bearer?: string): Promise<Response> => fetch(`${cp.base}${path}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
const post = (path: string, bearer: string): Promise<Response> => fetch(`${cp.base}${path}`, { method: 'POST', body: '{}', headers: { authorization: `Bearer ${bearer}` } });

/** Connects as an agent; resolves 'ok' once a ContractSet arrives, else the gRPC code. */
async function agentOutcome(bearer: string | undefined): Promise<'ok' | number> {
  const c = new CollectorClient({ port: cp.grpcPort, node: 'node-a', ...(bearer ? { token: bearer } : {}), channelOptions: { 'grpc.ssl_target_name_override': Math.random().toString(36) } });
  clients.push(c);
  return waitFor(() => (c.sets.length > 0 ? 'ok' : c.error ? c.error.code : false), { timeoutMs: 15_000, what: 'the collector to answer' });
}

beforeAll(async () => {
  await installCrd(admin);
  await ensureNamespace(admin, namespace);
  const core = admin.makeApiClient(CoreV1Api);
  for (const sa of ['rampart-agent', 'impostor', 'reader', 'operator']) await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: sa } } });
  await grant('reader', [{ resources: ['rampcontracts'], verbs: ['get', 'list'] }]);
  await grant('operator', [
    { resources: ['rampcontracts'], verbs: ['get', 'list'] },
    { resources: ['rampcontracts/pause'], verbs: ['update'] },
  ]);
  writeFileSync(join(dir, 'token'), FILE_TOKEN);
  await createContract(admin, contractBody(contract, { namespace }));
  cp = await startControlplaneProcess(['--kubernetes', '--kubeconfig', kubeconfig, '--namespace', namespace, '--reconcile-interval', '200ms', '--token-file', join(dir, 'token')]);
  await waitFor(async () => (await get(`/api/v1/contracts/${contract}`, FILE_TOKEN)).status === 200, { timeoutMs: 20_000, what: 'the contract to be served' });
});

afterAll(async () => {
  for (const c of clients) c.close();
  await cp?.stop();
  await deleteContract(admin, contract);
  await grants.removeAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('Kubernetes-mode authentication', () => {
  it('admits an agent with a rampart-agent token for audience rampart, and no other', async () => {
    expect(await agentOutcome(await token('rampart-agent', ['rampart']))).toBe('ok');
    // The same ServiceAccount with the API server's own audience: not a token for us.
    expect(await agentOutcome(await token('rampart-agent', []))).toBe(grpc.status.UNAUTHENTICATED);
    // Right audience, wrong ServiceAccount.
    expect(await agentOutcome(await token('impostor', ['rampart']))).toBe(grpc.status.PERMISSION_DENIED);
    expect(await agentOutcome(undefined)).toBe(grpc.status.UNAUTHENTICATED);
    expect(await agentOutcome('not-a-token')).toBe(grpc.status.UNAUTHENTICATED);
    // The token file still works for agents.
    expect(await agentOutcome(FILE_TOKEN)).toBe('ok');
  });

  it('lets API users do what RBAC grants them on rampcontracts, and records who acted', async () => {
    const reader = await token('reader', []);
    const operator = await token('operator', []);
    const impostor = await token('impostor', []);
    expect((await get('/api/v1/contracts')).status).toBe(401);
    expect((await get('/api/v1/contracts', 'garbage')).status).toBe(401);
    expect((await get('/api/v1/contracts', reader)).status).toBe(200);
    expect((await get(`/api/v1/contracts/${contract}/history`, reader)).status).toBe(200);
    expect((await get('/api/v1/contracts', impostor)).status).toBe(403);
    const refused = await post(`/api/v1/contracts/${contract}/pause`, reader);
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: { message: string } }).error.message).toContain(`may not update rampcontracts/pause of ${contract}`);
    // operator may pause, but not roll back.
    expect((await post(`/api/v1/contracts/${contract}/rollback`, operator)).status).toBe(403);
    const paused = await post(`/api/v1/contracts/${contract}/pause`, operator);
    expect(paused.status).toBe(200);
    const body = (await paused.json()) as { transition: { actor: string; phase: string } };
    expect(body.transition).toMatchObject({ actor: `system:serviceaccount:${namespace}:operator`, phase: 'Paused' });
    expect((await get('/api/v1/contracts', FILE_TOKEN)).status).toBe(200);
  });

  it('caches review answers briefly: a repeat within the TTL asks the API server nothing', async () => {
    const clock = new FakeClock(Date.now());
    const authz = new KubeAuthorizer({ kc: admin, namespace, clock, log: createJsonLogger('error', () => undefined), tokenFile: null });
    const agent = `Bearer ${await token('rampart-agent', ['rampart'])}`;
    const reader = `Bearer ${await token('reader', [])}`;
    expect(await authz.authorize(agent, { kind: 'agent' })).toMatchObject({ outcome: 'allowed' });
    expect(await authz.authorize(agent, { kind: 'agent' })).toMatchObject({ outcome: 'allowed' });
    expect(authz.reviewCalls()).toEqual({ tokenReviews: 1, accessReviews: 0 });
    expect(await authz.authorize(reader, { kind: 'read', contract: contract })).toMatchObject({ outcome: 'allowed' });
    expect(await authz.authorize(reader, { kind: 'read', contract: contract })).toMatchObject({ outcome: 'allowed' });
    expect(await authz.authorize(reader, { kind: 'action', action: 'pause', contract })).toMatchObject({ outcome: 'forbidden' });
    expect(authz.reviewCalls()).toEqual({ tokenReviews: 2, accessReviews: 2 });
    clock.advance(REVIEW_CACHE.allowedTtlMs + 1);
    expect(await authz.authorize(agent, { kind: 'agent' })).toMatchObject({ outcome: 'allowed' });
    expect(authz.reviewCalls().tokenReviews).toBe(3);
  });
});
