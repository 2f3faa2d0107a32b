/**
 * RampContract status as GitOps tools read it, on status objects the real control plane
 * wrote to the test API server, fed by a real gRPC agent peer:
 * - kstatus (sigs.k8s.io/cli-utils, our Go checker): InProgress during a ramp, Current at
 *   Complete, Failed when Blocked or rolled back;
 * - the real `kubectl wait --for=condition=Ready` (kubectl built from the pinned module):
 *   returns when the contract completes, times out while it is Blocked;
 * - the Argo CD health check (docs/argocd/rampcontract-health.lua) run by Debian's lua5.1;
 * - actions by annotation: `kubectl annotate` approves a manual stage exactly once per id, a
 *   refused action is a status problem, `kubectl rampart rollback` (the plugin, found by
 *   kubectl on PATH) rolls back to monitor, and the rollback is one CloudEvent at a loopback
 *   receiver (--notify).
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CollectorClient } from '../support/collector-client.js';
import { REPO_ROOT, startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { kstatus } from '../support/kube-peers/peers.js';
import { installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { contractBody, createContract, deleteContract, ensureNamespace, getContract, type ContractObject } from '../support/kube/contracts.js';
import { kubectlWithPlugin, type Kubectl } from '../support/kube/kubectl.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);
const kubeconfig = inject('kubeconfig');
const admin = loadKubeConfig(kubeconfig);
const namespace = uniqueName('gitops');
const TOKEN = 'gitops-test-token';
const dir = mkdtempSync(join(tmpdir(), 'rampart-gitops-'));
let cp: ControlplaneProcess;
let agent: CollectorClient;
let pump: NodeJS.Timeout | null = null;
const events: Record<string, unknown>[] = [];
let receiver: Server;
const created: string[] = [];

let k: Kubectl;
const kubectl = (args: readonly string[], timeoutMs?: number): ReturnType<Kubectl['run']> => k.run(args, timeoutMs);

async function lua(obj: unknown): Promise<{ status: string; message: string }> {
  // The object as a Lua table constructor (JSON's arrays and objects map one to one).
  const toLua = (v: unknown): string => {
    if (v === null || v === undefined) return 'nil';
    if (typeof v === 'string') return JSON.stringify(v);
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v)) return `{${v.map(toLua).join(',')}}`;
    return `{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `[${JSON.stringify(k)}]=${toLua(x)}`).join(',')}}`;
  };
  const harness = join(dir, 'harness.lua');
  writeFileSync(harness, `obj = ${toLua(obj)}\nlocal hs = dofile(${JSON.stringify(join(REPO_ROOT, 'docs/argocd/rampcontract-health.lua'))})\nio.write(hs.status, "\\n", hs.message)\n`);
  const { stdout } = await run('lua5.1', [harness]);
  const [status = '', message = ''] = stdout.split('\n');
  return { status, message };
}

async function until(name: string, ok: (c: ContractObject) => boolean, what: string, timeoutMs = 30_000): Promise<ContractObject> {
  return waitFor(
    async () => {
      const c = await getContract(admin, name);
      return ok(c) ? c : false;
    },
    { timeoutMs, intervalMs: 100, what: `${name}: ${what}` },
  );
}

const phase = (c: ContractObject): unknown => c.status?.['phase'];
const stage = (c: ContractObject): unknown => (c.status?.['stage'] as { name?: string } | undefined)?.name;
const historyOf = (c: ContractObject): Record<string, unknown>[] => [...(c.status?.history ?? [])];

beforeAll(async () => {
  await installCrd(admin);
  await ensureNamespace(admin, namespace);
  // The plugin as kubectl discovers it: an executable named kubectl-rampart on PATH.
  k = kubectlWithPlugin(inject('kubeBinDir'), kubeconfig, dir);
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      events.push({ contentType: req.headers['content-type'], ...(JSON.parse(body) as Record<string, unknown>) });
      res.writeHead(202).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  writeFileSync(join(dir, 'token'), TOKEN);
  cp = await startControlplaneProcess([
    '--kubernetes', '--kubeconfig', kubeconfig, '--namespace', namespace, '--reconcile-interval', '200ms', '--token-file', join(dir, 'token'),
    '--expected-nodes', 'node-a', '--notify', `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/events`,
  ]);
  await waitFor(async () => (await fetch(`${cp.base}/readyz`)).status === 200, { timeoutMs: 20_000, what: 'the control plane to lead' });
  agent = new CollectorClient({ port: cp.grpcPort, node: 'node-a', token: TOKEN });
  await waitFor(() => agent.sets.length > 0, { what: 'the agent to receive a contract set' });
}, 120_000);

afterAll(async () => {
  if (pump) clearInterval(pump);
  agent?.close();
  await cp?.stop();
  for (const name of created) await deleteContract(admin, name);
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  rmSync(dir, { recursive: true, force: true });
});

/** Clean windows like an agent's, every 200 ms, for every contract (stopped while one is blocked). */
function startPump(): void {
  pump ??= setInterval(() => {
    if (agent.latest()) agent.sendWindow({ allow: 200 });
  }, 200);
}
function stopPump(): void {
  if (pump) clearInterval(pump);
  pump = null;
}

describe('GitOps status and actions on a real API server', () => {
  it('ramps a manual contract: InProgress while awaiting approval, approved once per annotation id, Ready and Current at Complete', async () => {
    const name = uniqueName('ramp');
    created.push(name);
    await createContract(admin, contractBody(name, { namespace, advance: 'manual' }));
    startPump();
    const awaiting = await until(name, (c) => phase(c) === 'AwaitingApproval', 'AwaitingApproval at monitor');
    expect(stage(awaiting)).toBe('monitor');
    expect(await kstatus([awaiting])).toEqual([{ status: 'InProgress', message: expect.stringContaining('stage monitor') }]);
    expect((await lua(awaiting)).status).toBe('Suspended');

    // kubectl wait starts now and returns only when the ramp completes.
    const waiter = kubectl(['wait', '--for=condition=Ready', `rampcontract/${name}`, '--timeout=60s'], 70_000);

    // Approve by annotation with the real kubectl: acted on once, recorded with its actor.
    const annotated = await kubectl(['annotate', 'rampcontract', name, 'rampart.dev/action=approve', 'rampart.dev/action-id=approve-1']);
    expect(annotated.code, annotated.stderr).toBe(0);
    const approved = await until(name, (c) => (c.status?.['lastAction'] as { id?: string } | undefined)?.id === 'approve-1', 'lastAction approve-1');
    expect(approved.status!['lastAction']).toMatchObject({ id: 'approve-1', action: 'approve', result: 'Accepted', actor: 'annotation by kubectl-annotate' });
    // The next stage gathers its evidence and waits again, with the annotation still there: not approved twice.
    const again = await until(name, (c) => stage(c) === 'half' && phase(c) === 'AwaitingApproval', 'AwaitingApproval at half');
    const approvals = historyOf(again).filter((h) => h['kind'] === 'approve');
    expect(approvals).toHaveLength(1);
    expect(approvals[0]).toMatchObject({ from: 'monitor', to: 'half', actor: 'annotation by kubectl-annotate' });
    expect((await getContract(admin, name)).metadata).toBeDefined();

    // The plugin approves the next two (a fresh id each), through the API server only.
    for (const next of ['full', 'Complete']) {
      const r = await kubectl(['rampart', 'approve', name, '--wait=20s']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`approve of ${name} accepted \\(by annotation by kubectl-rampart\\)`));
      if (next === 'full') await until(name, (c) => stage(c) === 'full' && phase(c) === 'AwaitingApproval', 'AwaitingApproval at full');
    }
    const complete = await until(name, (c) => phase(c) === 'Complete', 'Complete');
    const done = await waiter;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toContain(`rampcontract.rampart.dev/${name} condition met`);
    expect(await kstatus([complete])).toEqual([{ status: 'Current', message: expect.any(String) }]);
    expect(await lua(complete)).toEqual({ status: 'Healthy', message: 'Complete: every policy is in force' });
    const ready = complete.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready).toMatchObject({ status: 'True', reason: 'Complete', observedGeneration: complete.metadata.generation });

    // kubectl rampart status and get print it, read from the object.
    const st = await kubectl(['rampart', 'status', name]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(new RegExp(`Name:\\s+${name}`));
    expect(st.stdout).toMatch(/Phase:\s+Complete/);
    expect(st.stdout).toMatch(/Ready\s+True\s+Complete/);
    expect(st.stdout).toMatch(/Last action:\s+approve .* by annotation by kubectl-rampart .*: Accepted/);
    const hist = await kubectl(['rampart', 'history', name]);
    expect(hist.stdout.split('\n').filter((l) => /\bapprove\b|annotation by/.test(l))).toHaveLength(3);
  }, 120_000);

  it('is Failed to kstatus, Degraded to Argo CD and never Ready while Blocked; refuses an action that does not fit', async () => {
    const name = uniqueName('blocked');
    created.push(name);
    // Would-deny traffic for a while (every contract of the set gets it; the others are
    // Complete or gone, and a would-deny changes neither), then clean windows again.
    stopPump();
    try {
      await createContract(admin, contractBody(name, { namespace, advance: 'auto' }));
      const blocked = await waitFor(
        async () => {
          if (agent.latest()?.contracts.some((c) => c.name === name)) agent.sendWindow({ allow: 200, deny: 5, edge: { from: `${namespace}/client`, to: `${namespace}/web`, port: 8080 } });
          const c = await getContract(admin, name);
          return phase(c) === 'Blocked' ? c : false;
        },
        { timeoutMs: 30_000, intervalMs: 200, what: 'Blocked by would-deny' },
      );
      expect(await kstatus([blocked])).toEqual([{ status: 'Failed', message: expect.stringContaining('stage monitor') }]);
      expect((await lua(blocked)).status).toBe('Degraded');
      expect(blocked.status!.conditions!.find((c) => c.type === 'Stalled')).toMatchObject({ status: 'True', reason: 'Blocked' });

      const wait = await kubectl(['wait', '--for=condition=Ready', `rampcontract/${name}`, '--timeout=3s']);
      expect(wait.code).not.toBe(0);
      expect(wait.stderr).toContain('timed out waiting for the condition');

      // Approve does not fit Blocked: refused, in lastAction and as a problem of the annotation.
      const r = await kubectl(['rampart', 'approve', name, '--wait=20s']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`approve of ${name} refused: approve needs phase AwaitingApproval, the contract is Blocked`);
      const refused = await getContract(admin, name);
      expect(refused.status!['lastAction']).toMatchObject({ action: 'approve', result: 'Refused' });
      expect(refused.status!['problems']).toContainEqual({ path: 'metadata.annotations[rampart.dev/action]', message: 'approve needs phase AwaitingApproval, the contract is Blocked' });
      expect(historyOf(refused).some((h) => h['kind'] === 'approve')).toBe(false);
      // A refused action is no spec problem: Argo CD still reports why it is blocked.
      expect(await lua(refused)).toMatchObject({ status: 'Degraded', message: expect.stringContaining('Blocked at stage monitor') });
    } finally {
      await deleteContract(admin, name);
      startPump();
    }
  }, 90_000);

  it('rolls back to monitor in one step through kubectl rampart, and posts exactly one CloudEvent for it', async () => {
    const name = uniqueName('rollback');
    created.push(name);
    await createContract(admin, contractBody(name, { namespace, advance: 'auto' }));
    const inHalf = await until(name, (c) => stage(c) === 'half' || stage(c) === 'full' || phase(c) === 'Complete', 'past monitor');
    expect((await kstatus([inHalf]))[0]!.status).toMatch(/InProgress|Current/);
    const r = await kubectl(['rampart', 'rollback', name, '--wait=20s']);
    expect(r.code, r.stderr).toBe(0);
    const rolled = await until(name, (c) => phase(c) === 'RolledBack', 'RolledBack');
    expect(stage(rolled)).toBe('monitor');
    expect(historyOf(rolled).at(-1)).toMatchObject({ kind: 'rollback', to: 'monitor', phase: 'RolledBack' });
    expect(await kstatus([rolled])).toEqual([{ status: 'Failed', message: expect.any(String) }]);
    expect((await lua(rolled)).status).toBe('Degraded');
    const ofRollback = await waitFor(() => {
      const mine = events.filter((e) => e['subject'] === name && e['type'] === 'dev.rampart.contract.rolledback');
      return mine.length > 0 ? mine : false;
    }, { what: 'the rollback CloudEvent' });
    // Wait for a later transition's event for this contract? None follows a RolledBack hold;
    // instead, every event sent so far for it is accounted for: one per history entry.
    await waitFor(() => events.filter((e) => e['subject'] === name).length === historyOf(rolled).length, { what: 'one CloudEvent per transition' });
    expect(ofRollback).toHaveLength(1);
    expect(ofRollback[0]).toMatchObject({
      specversion: '1.0',
      contentType: 'application/cloudevents+json',
      source: `/apis/rampart.dev/v1alpha1/rampcontracts/${name}`,
      data: { contract: name, stage: { index: 0, name: 'monitor' }, phase: 'RolledBack', decision: { kind: 'rollback' }, actor: 'annotation by kubectl-rampart' },
    });
    const metrics = await (await fetch(`${cp.base}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    expect(metrics).toMatch(/rampart_controlplane_notifications_total\{result="delivered"\} [1-9]/);
  }, 90_000);

  it('watches the objects with kubectl rampart watch, and lists them with get', async () => {
    const name = created[0]!;
    const got = await kubectl(['rampart', 'get']);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toMatch(new RegExp(`^${name}\\s+1\\s+full \\(3/3\\)\\s+Complete\\s+advance\\s+True`, 'm'));
    const plugins = await kubectl(['plugin', 'list']);
    expect(plugins.stdout).toContain(join(dir, 'bin', 'kubectl-rampart'));
    const watch = spawn(k.bin, ['rampart', 'watch', name, '--timeout=20s'], { env: k.env });
    let out = '';
    watch.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => watch.on('exit', resolve));
    await waitFor(() => new RegExp(`${name}\\s+rev 1\\s+full \\(3/3\\)\\s+Complete\\s+advance`).test(out), { what: 'the watch to print the contract as it is' });
    // A change while watching: the next line comes from the watch, not a poll of ours.
    const r = await kubectl(['annotate', 'rampcontract', name, 'rampart.dev/action=rollback', 'rampart.dev/action-id=rollback-while-watched', '--overwrite']);
    expect(r.code, r.stderr).toBe(0);
    await waitFor(() => new RegExp(`${name}\\s+rev 1\\s+monitor \\(1/3\\)\\s+RolledBack`).test(out), { timeoutMs: 15_000, what: 'the watch to print the rollback' }).catch((e: unknown) => {
      throw new Error(`${String(e)}; the watch printed:\n${out}`);
    });
    watch.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});
