/**
 * deploy/helm/rampart: `helm lint` passes, `helm template` with the default values renders
 * exactly the plain manifests of deploy/ (object by object, field by field), each optional
 * part renders what its plain file says, and a real `helm install` into the test API server
 * succeeds. helm is built from pinned Go modules (test/support/kube-peers/build.sh).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { kubePeers } from '../support/kube-peers/peers.js';
import { loadKubeConfig, uniqueName } from '../support/kube/client.js';

const run = promisify(execFile);
const kubeconfig = inject('kubeconfig');
const kc = loadKubeConfig(kubeconfig);
const deployDir = fileURLToPath(new URL('../../deploy/', import.meta.url));
const chart = join(deployDir, 'helm/rampart');

interface Obj {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
}
const key = (o: Obj): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

function parseObjects(text: string): Obj[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as Obj | null)
    .filter((o): o is Obj => o !== null);
}

function plain(...files: string[]): Obj[] {
  return files.flatMap((f) => parseObjects(readFileSync(join(deployDir, f), 'utf8')));
}

function byKey(objects: readonly Obj[]): Map<string, Obj> {
  return new Map(objects.map((o) => [key(o), o]));
}

let helm = '';
let helmHome = '';
/** helm with its own config/cache folders (never the user's) and the test API server. */
async function helmRun(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run(helm, [...args, '--kubeconfig', kubeconfig], {
    env: { PATH: process.env['PATH'], HOME: helmHome, HELM_CACHE_HOME: join(helmHome, 'cache'), HELM_CONFIG_HOME: join(helmHome, 'config'), HELM_DATA_HOME: join(helmHome, 'data') },
    timeout: 60_000,
    maxBuffer: 16 * 1024 * 1024,
  });
}
const template = async (...sets: string[]): Promise<Obj[]> => parseObjects((await helmRun('template', 'rampart', chart, ...sets.flatMap((s) => ['--set', s]))).stdout);

beforeAll(async () => {
  helm = (await kubePeers()).helm;
  helmHome = mkdtempSync(join(tmpdir(), 'rampart-helm-'));
});
afterAll(() => {
  if (helmHome) rmSync(helmHome, { recursive: true, force: true });
});

describe('helm chart deploy/helm/rampart', () => {
  it('passes helm lint, with the defaults and with every option on', async () => {
    for (const sets of [[], ['webhook.enabled=true', 'prometheusRules.enabled=true', 'notifications[0]=https://events.example/hook']]) {
      const { stdout } = await helmRun('lint', chart, ...sets.flatMap((s) => ['--set', s]));
      expect(stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    }
  });

  it('renders exactly the plain manifests with the default values', async () => {
    const rendered = byKey(await template());
    const expected = byKey(plain('controlplane/rbac.yaml', 'controlplane/statefulset.yaml', 'controlplane/service.yaml', 'agent/daemonset.yaml'));
    // Every plain file is accounted for: the ones not compared here are the chart's options below.
    expect(readdirSync(join(deployDir, 'controlplane')).sort()).toEqual(['admission-webhook.yaml', 'rbac.yaml', 'service.yaml', 'statefulset.yaml']);
    expect([...rendered.keys()].sort()).toEqual([...expected.keys()].sort());
    for (const [k, obj] of expected) expect(rendered.get(k), k).toEqual(obj);
  });

  it('ships the CRD of deploy/crds unchanged', async () => {
    const { stdout } = await helmRun('template', 'rampart', chart, '--include-crds');
    const crds = parseObjects(stdout).filter((o) => o.kind === 'CustomResourceDefinition');
    expect(crds).toEqual(plain('crds/rampcontracts.yaml'));
  });

  it('renders the admission webhook of deploy/controlplane/admission-webhook.yaml and serves it', async () => {
    const rendered = byKey(await template('webhook.enabled=true'));
    for (const obj of plain('controlplane/admission-webhook.yaml')) expect(rendered.get(key(obj)), key(obj)).toEqual(obj);
    const cert = rendered.get('Certificate/rampart-system/rampart-admission') as unknown as { spec: { secretName: string; dnsNames: string[] } };
    expect(cert.spec.dnsNames).toContain('rampart-admission.rampart-system.svc');
    const pod = (rendered.get('StatefulSet/rampart-system/rampart-controlplane') as unknown as { spec: { template: { spec: { containers: { args: string[] }[]; volumes: { secret?: { secretName: string } }[] } } } }).spec.template.spec;
    expect(pod.containers[0]!.args).toEqual(expect.arrayContaining(['--webhook-listen=:9443', '--tls-cert=/etc/rampart/admission-tls/tls.crt', '--tls-key=/etc/rampart/admission-tls/tls.key']));
    expect(pod.volumes.map((v) => v.secret?.secretName)).toContain(cert.spec.secretName);
  });

  it('refuses a webhook without cert-manager and without a CA bundle, naming the value', async () => {
    const failed = await template('webhook.enabled=true', 'webhook.certificate.certManager=false').then(
      () => null,
      (e: { stderr: string }) => e.stderr,
    );
    expect(failed).toContain('webhook.certificate: give caBundle');
    const rendered = byKey(await template('webhook.enabled=true', 'webhook.certificate.certManager=false', 'webhook.certificate.caBundle=Q0E='));
    const vwc = rendered.get('ValidatingWebhookConfiguration//rampart-networkpolicies') as unknown as { metadata: { annotations?: object }; webhooks: { clientConfig: { caBundle: string } }[] };
    expect(vwc.webhooks[0]!.clientConfig.caBundle).toBe('Q0E=');
    expect(vwc.metadata.annotations).toBeUndefined();
    expect(rendered.has('Certificate/rampart-system/rampart-admission')).toBe(false);
  });

  it('lets cert-manager issue the agents’ gRPC certificate instead of the control plane', async () => {
    const rendered = byKey(await template('grpcTls.certManager=true'));
    const cert = rendered.get('Certificate/rampart-system/rampart-controlplane-grpc') as unknown as { spec: { secretName: string; dnsNames: string[] } };
    expect(cert.spec).toMatchObject({ secretName: 'rampart-controlplane-tls', dnsNames: expect.arrayContaining(['rampart-controlplane.rampart-system.svc']) });
    const args = (rendered.get('StatefulSet/rampart-system/rampart-controlplane') as unknown as { spec: { template: { spec: { containers: { args: string[] }[] } } } }).spec.template.spec.containers[0]!.args;
    expect(args).toEqual(expect.arrayContaining(['--grpc-tls-cert=/etc/rampart/grpc-tls/tls.crt', '--grpc-tls-key=/etc/rampart/grpc-tls/tls.key']));
    expect(args.some((a) => a.startsWith('--grpc-tls-secret'))).toBe(false);
    // The control plane then needs no right on Secrets.
    expect(rendered.has('Role/rampart-system/rampart-controlplane-tls')).toBe(false);
  });

  it('renders deploy/prometheus/rules.yaml as is, in the chosen namespace', async () => {
    const [rule] = plain('prometheus/rules.yaml');
    expect((await template('prometheusRules.enabled=true')).find((o) => o.kind === 'PrometheusRule')).toEqual(rule);
    const moved = (await template('prometheusRules.enabled=true', 'namespace.name=ops')).find((o) => o.kind === 'PrometheusRule')!;
    expect(moved).toEqual({ ...rule, metadata: { ...rule!.metadata, namespace: 'ops' } });
  });

  it('takes image, replicas, resources, notifications and namespace from values', async () => {
    const objs = await template(
      'image.repository=registry.local/rampart',
      'image.tag=dev',
      'controlplane.replicas=3',
      'controlplane.resources.limits.memory=1Gi',
      'notifications[0]=https://events.example/hook',
      'notifications[1]=https://hooks.slack.com/services/T/B/x',
      'namespace.name=ops',
    );
    const d = objs.find((o) => o.kind === 'StatefulSet') as unknown as { metadata: { namespace: string }; spec: { replicas: number; template: { spec: { containers: { image: string; args: string[]; resources: { limits: { memory: string } } }[] } } } };
    const ds = objs.find((o) => o.kind === 'DaemonSet') as unknown as { spec: { template: { spec: { containers: { image: string; args: string[] }[] } } } };
    expect(d.metadata.namespace).toBe('ops');
    expect(d.spec.replicas).toBe(3);
    const cp = d.spec.template.spec.containers[0]!;
    expect(cp.image).toBe('registry.local/rampart:dev');
    expect(cp.resources.limits.memory).toBe('1Gi');
    expect(cp.args.filter((a) => a.startsWith('--notify='))).toEqual(['--notify=https://events.example/hook', '--notify=https://hooks.slack.com/services/T/B/x']);
    expect(ds.spec.template.spec.containers[0]!.image).toBe('registry.local/rampart:dev');
    // Agents stream to every replica (hot standby): every address of the headless Service.
    expect(ds.spec.template.spec.containers[0]!.args).toContain('--controlplane=dns:///rampart-controlplane-replicas.ops.svc:9967');
    const headless = objs.find((o) => o.kind === 'Service' && o.metadata.name === 'rampart-controlplane-replicas') as unknown as { spec: { clusterIP: string; publishNotReadyAddresses: boolean } };
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    expect(objs.find((o) => o.kind === 'Namespace')?.metadata.name).toBe('ops');
  });

  it('installs into the real API server with helm install', async () => {
    const ns = uniqueName('helm');
    const release = ns;
    try {
      const { stdout } = await helmRun('install', release, chart, '--set', `namespace.name=${ns}`, '--set', `clusterResourcePrefix=${ns}`, '--set', 'notifications[0]=https://events.example/hook');
      expect(stdout).toContain('STATUS: deployed');
      const status = JSON.parse((await helmRun('status', release, '-o', 'json')).stdout) as { info: { status: string } };
      expect(status.info.status).toBe('deployed');
      const d = await kc.makeApiClient(AppsV1Api).readNamespacedStatefulSet({ name: 'rampart-controlplane', namespace: ns });
      expect(d.spec?.template.spec?.containers[0]?.args).toContain('--notify=https://events.example/hook');
      await kc.makeApiClient(AppsV1Api).readNamespacedDaemonSet({ name: 'rampart-agent', namespace: ns });
      const binding = await kc.makeApiClient(RbacAuthorizationV1Api).readClusterRoleBinding({ name: `${ns}-controlplane` });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: 'rampart-controlplane', namespace: ns }]);
    } finally {
      await helmRun('uninstall', release).catch(() => undefined);
      await kc.makeApiClient(CoreV1Api).deleteNamespace({ name: ns }).catch(() => undefined);
    }
  });
});
