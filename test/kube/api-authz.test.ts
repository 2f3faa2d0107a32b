/**
 * Every route of the control plane's HTTP API goes through the one authorizer: in
 * Kubernetes mode a Kubernetes user's token is checked by TokenReview, then what the route
 * asks by SubjectAccessReview. Per route, a user RBAC allows gets an answer and one it does
 * not allow gets 403 (and no token gets 401), against the real API server's RBAC. Also: the
 * control plane's writes to the API server carry a User-Agent naming the replica.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { auditLogPath } from '../support/kube/apiserver.js';
import { installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { RampartGrants } from '../support/kube/grants.js';
import { contractBody, createContract, deleteContract, ensureNamespace } from '../support/kube/contracts.js';
import { waitFor } from '../support/wait-for.js';

const kubeconfig = inject('kubeconfig');
const admin = loadKubeConfig(kubeconfig);
const namespace = uniqueName('authz');
const contract = uniqueName('routes');
const dir = mkdtempSync(join(tmpdir(), 'rampart-authz-'));
let cp: ControlplaneProcess;
const tokens: Record<'reader' | 'operator' | 'outsider', string> = { reader: '', operator: '', outsider: '' };

const grants = new RampartGrants(admin, namespace);
const grant = (sa: string, rules: { resources: string[]; verbs: string[] }[]): Promise<void> => grants.grant(sa, rules);

beforeAll(async () => {
  await installCrd(admin);
  await ensureNamespace(admin, namespace);
  const core = admin.makeApiClient(CoreV1Api);
  for (const sa of Object.keys(tokens)) await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: sa } } });
  await grant('reader', [{ resources: ['rampcontracts'], verbs: ['get', 'list'] }]);
  await grant('operator', [
    { resources: ['rampcontracts'], verbs: ['get', 'list'] },
    { resources: ['rampcontracts/approve', 'rampcontracts/pause', 'rampcontracts/resume', 'rampcontracts/rollback'], verbs: ['update'] },
  ]);
  for (const sa of Object.keys(tokens) as (keyof typeof tokens)[]) {
    const res = await core.createNamespacedServiceAccountToken({ name: sa, namespace, body: { spec: { audiences: [], expirationSeconds: 600 } } });
    tokens[sa] = res.status!.token;
  }
  await createContract(admin, contractBody(contract, { namespace, advance: 'manual' }));
  writeFileSync(join(dir, 'token'), 'authz-file-token');
  cp = await startControlplaneProcess(['--kubernetes', '--kubeconfig', kubeconfig, '--namespace', namespace, '--reconcile-interval', '200ms', '--token-file', join(dir, 'token')], {
    RAMPART_LEADER_IDENTITY: 'rampart-controlplane-7d9f-x2k4q',
  });
  await waitFor(async () => (await fetch(`${cp.base}/api/v1/contracts/${contract}`, { headers: { authorization: 'Bearer authz-file-token' } })).status === 200, { timeoutMs: 20_000, what: 'the contract to be served' });
});

afterAll(async () => {
  await cp?.stop();
  await deleteContract(admin, contract);
  await grants.removeAll();
  rmSync(dir, { recursive: true, force: true });
});

type Who = keyof typeof tokens | 'nobody';
async function call(method: string, path: string, who: Who, body?: string): Promise<number> {
  const headers: Record<string, string> = who === 'nobody' ? {} : { authorization: `Bearer ${tokens[who]}` };
  const res = await fetch(`${cp.base}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  await res.arrayBuffer();
  return res.status;
}

function stream(who: Who): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${cp.httpPort}/api/v1/stream`, { headers: who === 'nobody' ? {} : { authorization: `Bearer ${tokens[who]}` } });
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', reject);
  });
}

const preview = JSON.stringify(contractBody('preview-me', { namespace }));

describe('the one authorizer on every API route (Kubernetes users, real RBAC)', () => {
  const reads: [string, string, string | undefined][] = [
    ['GET', '/api/v1/contracts', undefined],
    ['GET', `/api/v1/contracts/${contract}`, undefined],
    ['GET', `/api/v1/contracts/${contract}/history`, undefined],
    ['GET', `/api/v1/contracts/${contract}/edges`, undefined],
    ['GET', `/api/v1/contracts/${contract}/fix`, undefined],
    ['GET', `/api/v1/contracts/${contract}/broadening`, undefined],
    ['GET', '/api/v1/agents', undefined],
    ['GET', '/api/v1/map', undefined],
    ['GET', `/api/v1/map?contract=${contract}`, undefined],
    ['POST', '/api/v1/preview', preview],
  ];
  it.each(reads)('%s %s: a reader gets it, a user without RBAC gets 403, no token 401', async (method, path, body) => {
    expect(await call(method, path, 'reader', body)).toBe(200);
    expect(await call(method, path, 'outsider', body)).toBe(403);
    expect(await call(method, path, 'nobody', body)).toBe(401);
  });

  it('WebSocket /api/v1/stream: a reader opens it, a user without RBAC gets 403, no token 401', async () => {
    expect(await stream('reader')).toBe(101);
    expect(await stream('outsider')).toBe(403);
    expect(await stream('nobody')).toBe(401);
  });

  // In an order the phases allow for the operator: pause, resume, then approve and rollback,
  // which the phase refuses (409) but only after the authorizer let the operator through.
  const actions: [string, number][] = [
    ['pause', 200],
    ['resume', 200],
    ['approve', 409],
    ['rollback', 409],
  ];
  it.each(actions)('POST /api/v1/contracts/{name}/%s: an operator may (%i), a reader gets 403, no token 401', async (action, operatorStatus) => {
    const path = `/api/v1/contracts/${contract}/${action}`;
    expect(await call('POST', path, 'reader', '{}')).toBe(403);
    expect(await call('POST', path, 'nobody', '{}')).toBe(401);
    expect(await call('POST', path, 'operator', '{}')).toBe(operatorStatus);
  });

  it('writes to the API server as the replica: its User-Agent names the pod (audit log)', async () => {
    const agent = 'rampart-controlplane/rampart-controlplane-7d9f-x2k4q';
    const writes = await waitFor(
      () => {
        const events = readFileSync(auditLogPath(kubeconfig), 'utf8')
          .split('\n')
          .filter((l) => l.includes(agent))
          .map((l) => JSON.parse(l) as { userAgent: string; verb: string; objectRef?: { resource?: string; subresource?: string; name?: string; namespace?: string } });
        const status = events.filter((e) => e.objectRef?.resource === 'rampcontracts' && e.objectRef.subresource === 'status' && e.objectRef.name === contract);
        const lease = events.filter((e) => e.objectRef?.resource === 'leases' && e.objectRef.namespace === namespace);
        return status.length > 0 && lease.length > 0 ? { status, lease } : false;
      },
      { timeoutMs: 10_000, what: 'audit events of the replica writing status and its Lease' },
    );
    expect(writes.status.every((e) => e.userAgent === agent)).toBe(true);
    expect(writes.lease.map((e) => e.verb)).toContain('create');
  });
});
