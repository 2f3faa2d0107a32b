/**
 * Agents reach the control plane over TLS by default: the control plane and the agent run
 * with the flags the Helm chart renders (only addresses and mounted paths mapped to this
 * machine). Without cert-manager the control plane creates the CA and serving certificate
 * in a Secret of its namespace; the agent trusts the Secret's ca.crt, dials the Service name
 * the certificate carries, and presents a real projected-style ServiceAccount token. A
 * certificate near its end is renewed with the same CA on the next start.
 */
import { X509Certificate } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { issueTlsMaterial } from '../../controlplane/access/tls-issuer.js';
import { startAgentProcess, startReplay, TCP_CAPTURE, type ReplayProcess } from '../support/agent-harness.js';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { kubePeers } from '../support/kube-peers/peers.js';
import { installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { ensureNamespace } from '../support/kube/contracts.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);
const kubeconfig = inject('kubeconfig');
const admin = loadKubeConfig(kubeconfig);
const core = admin.makeApiClient(CoreV1Api);
const namespace = uniqueName('grpctls');
const dir = mkdtempSync(join(tmpdir(), 'rampart-grpc-tls-'));
const chart = fileURLToPath(new URL('../../deploy/helm/rampart', import.meta.url));
const SECRET = 'rampart-controlplane-tls';
const stops: (() => Promise<unknown>)[] = [];
let replay: ReplayProcess;

interface Container {
  readonly args: string[];
}
let cpArgs: string[] = [];
let agentArgs: string[] = [];

/** A path the pod mounts, as a file under this test's folder. */
const local = (podPath: string): string => join(dir, podPath);

beforeAll(async () => {
  const { helm } = await kubePeers();
  const { stdout } = await run(helm, ['template', 'rampart', chart, '--set', `namespace.name=${namespace}`], { maxBuffer: 16 * 1024 * 1024 });
  const objects = parseAllDocuments(stdout).map((d) => d.toJS() as { kind: string; spec?: { template: { spec: { containers: Container[] } } } } | null);
  const containerOf = (kind: string): Container => objects.find((o) => o?.kind === kind)!.spec!.template.spec.containers[0]!;
  cpArgs = containerOf('StatefulSet').args;
  agentArgs = containerOf('DaemonSet').args;
  await installCrd(admin);
  await ensureNamespace(admin, namespace);
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'rampart-agent' } } });
  replay = await startReplay(TCP_CAPTURE, ['--loop', '--rate', '200']);
  stops.push(() => replay.stop('SIGKILL'));
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

/** The chart's control plane flags, less the listen addresses (loopback ports here), against the test API server. */
async function startControlplane(env: Record<string, string> = {}): Promise<ControlplaneProcess> {
  const [command, ...flags] = cpArgs;
  expect(command).toBe('controlplane');
  const kept = flags.filter((a) => !a.startsWith('--grpc-listen') && !a.startsWith('--http-listen'));
  const cp = await startControlplaneProcess([...kept, '--kubeconfig', kubeconfig, '--namespace', namespace, '--expected-nodes', 'tls-node'], env);
  stops.push(() => cp.stop('SIGKILL'));
  return cp;
}

async function secret(): Promise<Record<string, string>> {
  const s = await core.readNamespacedSecret({ name: SECRET, namespace });
  expect(s.type).toBe('kubernetes.io/tls');
  return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

describe('agents to the control plane over TLS, as the chart runs them', () => {
  it('renders TLS flags for both sides by default', () => {
    expect(cpArgs).toContain(`--grpc-tls-secret=${SECRET}`);
    expect(agentArgs).toEqual(expect.arrayContaining(['--controlplane-tls-ca=/var/run/secrets/rampart-ca/ca.crt', `--controlplane-tls-server-name=rampart-controlplane.${namespace}.svc`]));
  });

  it('creates the certificate in a Secret, serves it, and an agent with the chart’s flags reports over it', async () => {
    const cp = await startControlplane();
    expect(cp.logs.find((l) => l['msg'] === 'listening')).toMatchObject({ grpcTls: 'server' });
    const data = await secret();
    const cert = new X509Certificate(data['tls.crt']!);
    expect(cert.checkIssued(new X509Certificate(data['ca.crt']!))).toBe(true);
    expect(cert.subjectAltName).toContain(`DNS:rampart-controlplane.${namespace}.svc`);

    // The pod's mounts, here: the Secret's ca.crt and a token for rampart-agent, audience rampart.
    const token = (await core.createNamespacedServiceAccountToken({ name: 'rampart-agent', namespace, body: { spec: { audiences: ['rampart'], expirationSeconds: 600 } } })).status!.token;
    for (const [path, content] of [['/var/run/secrets/rampart-ca/ca.crt', data['ca.crt']!], ['/var/run/secrets/rampart/token', token]] as const) {
      mkdirSync(dirname(local(path)), { recursive: true });
      writeFileSync(local(path), content);
    }
    const [command, ...flags] = agentArgs;
    expect(command).toBe('agent');
    const mapped = flags
      .filter((a) => !/^--(hubble|controlplane|metrics-listen)=/.test(a))
      .map((a) => a.replace(/=(\/var\/run\/secrets\/.*)$/, (_m, p: string) => `=${local(p)}`));
    const agent = await startAgentProcess({ hubble: replay.address, controlplane: `127.0.0.1:${cp.grpcPort}`, node: 'tls-node', extra: mapped });
    stops.push(() => agent.stop('SIGKILL'));
    const accepted = async (): Promise<number> => {
      const m = /^rampart_controlplane_reports_total\{result="accepted"\} (\d+)/m.exec(await (await fetch(`${cp.base}/metrics`)).text());
      return m ? Number(m[1]) : 0;
    };
    await waitFor(async () => (await accepted()) >= 2, { timeoutMs: 20_000, what: 'reports accepted over TLS' });
    expect(agent.logs.some((l) => l['msg'] === 'TLS handshake with the control plane failed')).toBe(false);
    await agent.stop('SIGTERM');
    await cp.stop('SIGTERM');
  });

  /** Puts into the Secret the same CA's certificate issued 85 days ago: 5 days left, inside the renewal window. */
  async function ageCertificate(): Promise<{ before: Record<string, string>; oldPem: string }> {
    const before = await secret();
    const old = issueTlsMaterial([`rampart-controlplane.${namespace}.svc`], Date.now() - 85 * 86_400_000, { caPem: before['ca.crt']!, caKeyPem: before['ca.key']! });
    const current = await core.readNamespacedSecret({ name: SECRET, namespace });
    await core.replaceNamespacedSecret({ name: SECRET, namespace, body: { ...current, data: { ...current.data, 'tls.crt': Buffer.from(old.certPem).toString('base64'), 'tls.key': Buffer.from(old.keyPem).toString('base64') } } });
    return { before, oldPem: old.certPem };
  }

  it('renews a certificate near its end while running, and restarts to serve the new one', async () => {
    const cp = await startControlplane({ RAMPART_TLS_CHECK_MS: '300' });
    const served = (await secret())['tls.crt'];
    const { before } = await ageCertificate();
    // The periodic check renews it (same CA) and the replica exits, to be started again with it.
    expect(await waitFor(() => (cp.proc.exitCode !== null ? cp.proc.exitCode : false), { timeoutMs: 15_000, what: 'the replica to exit after the renewal' })).toBe(1);
    expect(cp.logs.find((l) => l['msg'] === 'exiting')).toMatchObject({ reason: 'the gRPC serving certificate was renewed' });
    const after = await secret();
    expect(after['ca.crt']).toBe(before['ca.crt']);
    expect(after['tls.crt']).not.toBe(served);
    expect(Date.parse(new X509Certificate(after['tls.crt']!).validTo) - Date.now()).toBeGreaterThan(80 * 86_400_000);
  });

  it('renews a certificate near its end on start, keeping the CA the agents trust', async () => {
    const { before, oldPem } = await ageCertificate();
    const cp = await startControlplane();
    const after = await secret();
    expect(after['ca.crt']).toBe(before['ca.crt']);
    expect(after['tls.crt']).not.toBe(oldPem);
    expect(Date.parse(new X509Certificate(after['tls.crt']!).validTo) - Date.now()).toBeGreaterThan(80 * 86_400_000);
    expect(cp.logs.some((l) => l['msg'] === 'gRPC serving certificate renewed')).toBe(true);
    await cp.stop('SIGTERM');
  });
});
