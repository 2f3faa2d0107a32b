/**
 * `kubectl rampart preview` reaches the control plane only through the API server's Service
 * proxy. The API server refuses to proxy to loopback, so the control plane runs as a test
 * host in a network namespace this test makes (a veth pair, its own small address range),
 * behind a Service and Endpoints in the test API server. The plugin forwards the kubeconfig
 * user's token (the proxy drops Authorization), which the control plane checks.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { RAMPART_BIN } from '../support/controlplane-process.js';
import { loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { contractBody } from '../support/kube/contracts.js';
import { kubectlWithPlugin, type Kubectl } from '../support/kube/kubectl.js';
import { createNamespace, createPod } from '../support/kube/objects.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);
const kubeconfig = inject('kubeconfig');
const admin = loadKubeConfig(kubeconfig);
const namespace = uniqueName('preview');
const dir = mkdtempSync(join(tmpdir(), 'rampart-preview-'));
// One namespace and one /30 per run; the host side .1, the control plane's side .2.
const tag = (process.pid % 250) + 1;
const netns = `rampart-pv-${process.pid}`;
const [hostIf, nsIf] = [`rpv${tag}h`, `rpv${tag}n`];
const hostIp = `10.213.${tag}.1`;
const cpIp = `10.213.${tag}.2`;
let cp: ChildProcess | null = null;
let cpLog = '';

async function ip(...args: string[]): Promise<void> {
  await run('ip', args);
}

let k: Kubectl;
const kubectl = (args: readonly string[]): ReturnType<Kubectl['run']> => k.run(args);

beforeAll(async () => {
  k = kubectlWithPlugin(inject('kubeBinDir'), kubeconfig, dir);
  await ip('netns', 'add', netns);
  await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf);
  await ip('link', 'set', nsIf, 'netns', netns);
  await ip('addr', 'add', `${hostIp}/30`, 'dev', hostIf);
  await ip('link', 'set', hostIf, 'up');
  await ip('netns', 'exec', netns, 'ip', 'addr', 'add', `${cpIp}/30`, 'dev', nsIf);
  await ip('netns', 'exec', netns, 'ip', 'link', 'set', nsIf, 'up');
  await ip('netns', 'exec', netns, 'ip', 'link', 'set', 'lo', 'up');
  // The control plane (file mode: preview needs only its traffic map) accepts the token of
  // the kubeconfig's user, which the plugin forwards.
  const token = (JSON.parse(readFileSync(kubeconfig, 'utf8')) as { users: { user: { token: string } }[] }).users[0]!.user.token;
  for (const d of ['contracts', 'state']) mkdirSync(join(dir, d));
  writeFileSync(join(dir, 'token'), token);
  cp = spawn('ip', ['netns', 'exec', netns, process.execPath, RAMPART_BIN, 'controlplane', '--contracts', join(dir, 'contracts'), '--state', join(dir, 'state'), '--http-listen', `${cpIp}:9968`, '--grpc-listen', `${cpIp}:9967`, '--token-file', join(dir, 'token')], { stdio: ['ignore', 'pipe', 'pipe'] });
  cp.stdout!.on('data', (d: Buffer) => (cpLog += d.toString()));
  cp.stderr!.on('data', (d: Buffer) => (cpLog += d.toString()));
  await waitFor(() => cpLog.includes('"msg":"listening"'), { timeoutMs: 20_000, what: `the control plane in ${netns} to listen` });
  await createNamespace(admin, namespace);
  const core = admin.makeApiClient(CoreV1Api);
  await core.createNamespacedService({ namespace, body: { metadata: { name: 'rampart-controlplane' }, spec: { ports: [{ name: 'http', port: 9968, targetPort: 9968 }] } } });
  // No kubelet or controller manager runs here: the pod's IP and the Endpoints its Service's
  // selector would produce, by hand. The API server proxies only to an address a Pod holds.
  const pod = await createPod(admin, namespace, 'rampart-controlplane-0', { app: 'rampart' });
  await core.replaceNamespacedPodStatus({ name: pod.metadata!.name!, namespace, body: { ...pod, status: { phase: 'Running', podIP: cpIp, podIPs: [{ ip: cpIp }] } } });
  await core.createNamespacedEndpoints({
    namespace,
    body: {
      metadata: { name: 'rampart-controlplane' },
      subsets: [{ addresses: [{ ip: cpIp, targetRef: { kind: 'Pod', name: pod.metadata!.name!, namespace } }], ports: [{ name: 'http', port: 9968 }] }],
    },
  });
}, 60_000);

afterAll(async () => {
  if (cp && cp.exitCode === null) {
    cp.kill('SIGTERM');
    await new Promise((r) => cp!.once('exit', r));
  }
  await ip('netns', 'del', netns).catch(() => undefined); // takes the veth pair with it
  rmSync(dir, { recursive: true, force: true });
});

describe('kubectl rampart preview', () => {
  it('asks the control plane through the Service proxy, with the caller’s own token', async () => {
    const file = join(dir, 'contract.json');
    writeFileSync(file, JSON.stringify(contractBody('preview-me', { namespace: 'shop' })));
    const r = await kubectl(['rampart', 'preview', file, '--service', `${namespace}/rampart-controlplane:http`]);
    expect(r.code, `${r.stderr}\ncontrol plane log:\n${cpLog.slice(-2000)}`).toBe(0);
    expect(r.stdout).toMatch(/^0 edges judged: 0 would be denied/m);
    const json = await kubectl(['rampart', 'preview', file, '--service', `${namespace}/rampart-controlplane:http`, '-o', 'json']);
    expect(JSON.parse(json.stdout)).toMatchObject({ nodes: [], edges: [] });
  });

  it('says so when the token is not one the control plane accepts', async () => {
    writeFileSync(join(dir, 'token'), 'another-token-entirely');
    // The control plane re-reads its token file at most once a second: ask until it has.
    const r = await waitFor(
      async () => {
        const x = await kubectl(['rampart', 'preview', join(dir, 'contract.json'), '--service', `${namespace}/rampart-controlplane:http`]);
        return x.code !== 0 ? x : false;
      },
      { timeoutMs: 10_000, intervalMs: 200, what: 'the preview to be refused' },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('HTTP 401');
  });
});
