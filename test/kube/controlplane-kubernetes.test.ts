/**
 * `rampart controlplane --kubernetes` against the real API server: contracts from the
 * RampContract watch, status written through the status subresource (fields, conditions,
 * history, observedGeneration, printer columns), an Event per transition, a spec.policies
 * change as a new revision, and the time from creating a contract to its first status write.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventsV1Api, NetworkingV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURAL, VERSION, customObjects, installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { contractBody, createContract, deleteContract, ensureNamespace, getContract, type ContractObject } from '../support/kube/contracts.js';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { waitFor } from '../support/wait-for.js';

const kubeconfig = inject('kubeconfig');
const admin: KubeConfig = loadKubeConfig(kubeconfig);
const namespace = uniqueName('rampart');
let cp: ControlplaneProcess;
const created: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'rampart-kube-cp-'));
const TOKEN = 'test-token-kube-mode';
const auth = { authorization: `Bearer ${TOKEN}` };

async function statusOf(name: string, ok: (c: ContractObject) => boolean, what: string, timeoutMs = 20_000): Promise<ContractObject> {
  return waitFor(
    async () => {
      const c = await getContract(admin, name);
      return ok(c) ? c : false;
    },
    { timeoutMs, intervalMs: 50, what },
  );
}

beforeAll(async () => {
  await installCrd(admin);
  await ensureNamespace(admin, namespace);
  writeFileSync(join(dir, 'token'), TOKEN);
  cp = await startControlplaneProcess(['--kubernetes', '--kubeconfig', kubeconfig, '--namespace', namespace, '--reconcile-interval', '200ms', '--token-file', join(dir, 'token')]);
  await waitFor(async () => (await fetch(`${cp.base}/readyz`)).status === 200, { timeoutMs: 20_000, what: 'the only replica to lead' });
});

afterAll(async () => {
  await cp?.stop();
  for (const name of created) await deleteContract(admin, name);
  rmSync(dir, { recursive: true, force: true });
});

describe('rampart controlplane --kubernetes', () => {
  it('writes the status of a new contract and records an Event per transition', async () => {
    const name = uniqueName('status');
    created.push(name);
    const t0 = performance.now();
    const obj = await createContract(admin, contractBody(name, { namespace }));
    const first = await statusOf(name, (c) => c.status?.['phase'] !== undefined, 'the first status write');
    const firstWriteMs = Math.round(performance.now() - t0);
    process.stderr.write(`kube: contract create → first status write ${firstWriteMs} ms\n`);

    const s = first.status!;
    expect(s['observedGeneration']).toBe(obj.metadata.generation);
    expect(s['revisionNumber']).toBe(1);
    expect(typeof s['revision']).toBe('string');
    expect(s['stage']).toEqual({ index: 0, name: 'monitor' });
    expect(s['phase']).toBe('Observing');
    expect(s['decision']).toMatchObject({ kind: 'hold' });
    expect(Date.parse(String((s['decision'] as { at: string }).at))).not.toBeNaN();
    expect(s['evidence']).toMatchObject({ flows: 0, deny: 0, nodes: { expected: 0, reporting: 0 } });
    expect(s.history).toHaveLength(1);
    expect(s.history![0]).toMatchObject({ to: 'monitor', phase: 'Observing', kind: 'revision', actor: 'auto', revisionNumber: 1 });
    const progressing = s.conditions?.find((c) => c.type === 'Progressing');
    expect(progressing).toMatchObject({ status: 'True', reason: 'Observing', observedGeneration: 1 });
    expect(Date.parse(progressing!.lastTransitionTime)).not.toBeNaN();
    // Applied follows once the (placeholder) actuator has taken the stage.
    await statusOf(name, (c) => c.status?.conditions?.some((x) => x.type === 'Applied' && x.status === 'True') ?? false, 'Applied=True');

    const events = kcEvents(admin);
    const registered = await waitFor(
      async () => {
        const list = await events.listNamespacedEvent({ namespace: 'default' });
        return list.items.find((e) => e.regarding?.name === name && e.reason === 'Registered') ?? false;
      },
      { timeoutMs: 10_000, what: 'the Registered event' },
    );
    expect(registered).toMatchObject({ type: 'Normal', reportingController: 'rampart.dev/controlplane', regarding: { kind: 'RampContract', uid: obj.metadata.uid } });

    // An operator action through the API: a transition, in status and as an Event.
    const res = await fetch(`${cp.base}/api/v1/contracts/${name}/pause`, { method: 'POST', body: '{}', headers: auth });
    expect(res.status).toBe(200);
    // Acknowledged only once the status records it: the very next read shows it.
    const paused = await getContract(admin, name);
    expect(paused.status!['phase']).toBe('Paused');
    expect(paused.status!['pausedFrom']).toBe('Observing');
    expect(paused.status!.history).toHaveLength(2);
    expect(paused.status!.history![1]).toMatchObject({ kind: 'pause', phase: 'Paused', from: 'monitor', to: 'monitor' });
    expect(paused.status!.conditions?.find((c) => c.type === 'Progressing')).toMatchObject({ status: 'False', reason: 'Paused' });
    await waitFor(
      async () => (await events.listNamespacedEvent({ namespace: 'default' })).items.some((e) => e.regarding?.name === name && e.reason === 'Paused'),
      { timeoutMs: 10_000, what: 'the Paused event' },
    );
  });

  it('reports a clash with a NetworkPolicy it does not manage once, in the API and in status', async () => {
    const name = uniqueName('clash');
    created.push(name);
    // Someone else's policy under the name the contract would write; the contract does not name it in replaces.
    await admin.makeApiClient(NetworkingV1Api).createNamespacedNetworkPolicy({ namespace, body: { metadata: { name: `${name}-web`, namespace }, spec: { podSelector: {} } } });
    await createContract(admin, contractBody(name, { namespace }));
    // Both checks have seen it: the baseline's (the contract is held) and the actuator's (its NameClash Event).
    const events = admin.makeApiClient(EventsV1Api);
    await waitFor(async () => (await events.listNamespacedEvent({ namespace: 'default' })).items.some((e) => e.regarding?.name === name && e.reason === 'NameClash'), { timeoutMs: 10_000, what: 'the NameClash event' });
    // Two reconcile passes after it, the view holds both checks' results.
    const passes = async (): Promise<number> => Number(/^rampart_controlplane_reconcile_duration_seconds_count (\d+)/m.exec(await (await fetch(`${cp.base}/metrics`, { headers: auth })).text())?.[1] ?? NaN);
    const seen = await passes();
    await waitFor(async () => (await passes()) >= seen + 2, { what: 'two reconcile passes' });
    const view = (await (await fetch(`${cp.base}/api/v1/contracts/${name}`, { headers: auth })).json()) as { problems: { path: string; message: string }[] };
    expect(view.problems.filter((p) => p.path === 'spec.policies[0]')).toHaveLength(1);
    const status = await statusOf(name, (c) => ((c.status?.['problems'] as unknown[] | undefined) ?? []).length > 0, 'the clash in status');
    expect((status.status!['problems'] as { path: string }[]).filter((p) => p.path === 'spec.policies[0]')).toHaveLength(1);
  });

  it('treats a spec.policies change (a new metadata.generation) as a new revision', async () => {
    const name = uniqueName('revision');
    created.push(name);
    await createContract(admin, contractBody(name, { namespace }));
    const before = await statusOf(name, (c) => c.status?.['revisionNumber'] === 1, 'revision 1');
    const body = contractBody(name, { port: 9090, namespace });
    await customObjects(admin).patchClusterCustomObject(
      { group: GROUP, version: VERSION, plural: PLURAL, name, body: [{ op: 'replace', path: '/spec/policies', value: (body['spec'] as { policies: unknown }).policies }] },
    );
    const after = await statusOf(name, (c) => c.status?.['revisionNumber'] === 2, 'revision 2');
    expect(after.metadata.generation).toBe(2);
    expect(after.status!['observedGeneration']).toBe(2);
    expect(after.status!['revision']).not.toBe(before.status!['revision']);
    expect(after.status!.history!.at(-1)).toMatchObject({ kind: 'revision', revisionNumber: 2, to: 'monitor' });
  });

  it('starts a re-created contract afresh, never at its predecessor’s stage or phase', async () => {
    const name = uniqueName('recreated');
    created.push(name);
    const first = await createContract(admin, contractBody(name, { namespace }));
    await statusOf(name, (c) => c.status?.['phase'] === 'Observing', 'the first object observed');
    expect((await fetch(`${cp.base}/api/v1/contracts/${name}/pause`, { method: 'POST', body: '{}', headers: auth })).status).toBe(200);
    // Deleted and created again at once: the watch may see both, or only the new uid.
    await deleteContract(admin, name);
    const second = await createContract(admin, contractBody(name, { namespace }));
    expect(second.metadata.uid).not.toBe(first.metadata.uid);
    const fresh = await statusOf(name, (c) => c.status?.['phase'] !== undefined, 'the new object observed');
    expect(fresh.status).toMatchObject({ phase: 'Observing', revisionNumber: 1, stage: { index: 0, name: 'monitor' } });
    expect(fresh.status!.history!.map((h) => h['kind'])).toEqual(['revision']);
  });

  it('shows stage, phase and would-deny through the CRD printer columns', async () => {
    const name = uniqueName('columns');
    created.push(name);
    await createContract(admin, contractBody(name, { namespace }));
    await statusOf(name, (c) => c.status?.['phase'] === 'Observing', 'phase Observing');
    const cfg = { url: admin.getCurrentCluster()!.server, adminToken: admin.getCurrentUser()!.token!, caPem: Buffer.from(admin.getCurrentCluster()!.caData!, 'base64').toString() };
    // What `kubectl get rampcontracts` asks for: the server-side Table.
    const table = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      void import('node:https').then(({ request }) => {
        const req = request(
          new URL(`/apis/${GROUP}/${VERSION}/${PLURAL}/${name}`, cfg.url),
          { ca: cfg.caPem, headers: { authorization: `Bearer ${cfg.adminToken}`, accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } },
          (r) => {
            let b = '';
            r.on('data', (c: Buffer) => (b += c.toString()));
            r.on('end', () => resolve({ status: r.statusCode ?? 0, body: b }));
          },
        );
        req.on('error', reject);
        req.end();
      });
    });
    expect(table.status).toBe(200);
    const t = JSON.parse(table.body) as { columnDefinitions: { name: string }[]; rows: { cells: unknown[] }[] };
    expect(t.columnDefinitions.map((c) => c.name)).toEqual(['Name', 'Stage', 'Phase', 'Would-deny', 'Age']);
    expect(t.rows[0]!.cells.slice(0, 4)).toEqual([name, 'monitor', 'Observing', 0]);
  });
});

function kcEvents(kc: KubeConfig): EventsV1Api {
  return kc.makeApiClient(EventsV1Api);
}
