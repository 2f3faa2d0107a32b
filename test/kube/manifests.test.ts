/**
 * Every Kubernetes manifest under deploy/ (CRD, RBAC, agent DaemonSet, control plane
 * Deployment and Service) is accepted by the real API server (server-side dry run, so the
 * full object validation runs), and the DaemonSet has what the agent relies on.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  type V1StatefulSet,
  ApiException,
  CoreV1Api,
  KubernetesObjectApi,
  loadAllYaml,
  type KubernetesObject,
  type V1DaemonSet,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { installCrd, loadKubeConfig, rejection } from '../support/kube/client.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const deployDir = fileURLToPath(new URL('../../deploy/', import.meta.url));

function manifests(folder: string): { file: string; obj: KubernetesObject }[] {
  return readdirSync(deployDir + folder)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((f) => (loadAllYaml(readFileSync(`${deployDir}${folder}/${f}`, 'utf8')) as KubernetesObject[]).map((obj) => ({ file: `deploy/${folder}/${f}`, obj })));
}

const all = [...manifests('controlplane'), ...manifests('agent')];

describe('deploy/ manifests on a real API server', () => {
  beforeAll(async () => {
    await installCrd(kc);
    try {
      await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: 'rampart-system' } } });
    } catch (e) {
      if (!(e instanceof ApiException) || e.code !== 409) throw e;
    }
  });

  it.each(all.map(({ file, obj }) => [`${file} ${obj.kind}/${obj.metadata?.name}`, obj] as const))('accepts %s (dry run)', async (_what, obj) => {
    const client = KubernetesObjectApi.makeApiClient(kc);
    try {
      const created = await client.create(obj, undefined, 'All');
      expect(created.metadata?.name).toBe(obj.metadata?.name);
    } catch (e) {
      // Already created for real by another test (rbac.test.ts): validate as an update instead.
      if (!(e instanceof ApiException) || e.code !== 409) throw e;
      const replaced = await client.replace(obj, undefined, 'All');
      expect(replaced.metadata?.name).toBe(obj.metadata?.name);
    }
  });

  it('rejects a broken copy (the dry run does validate)', async () => {
    const ds = structuredClone(all.find((m) => m.obj.kind === 'DaemonSet')!.obj) as V1DaemonSet;
    ds.spec!.template.spec!.volumes![0]!.hostPath!.type = 'NotAType';
    const { code, status } = await rejection(() => KubernetesObjectApi.makeApiClient(kc).create(ds, undefined, 'All'));
    expect(code).toBe(422);
    expect(status.message).toContain('hostPath.type');
  });

  it('gives the agent the Hubble socket read-only, its node name, uid 0 and a projected token', () => {
    const ds = all.find((m) => m.obj.kind === 'DaemonSet')!.obj as V1DaemonSet;
    const pod = ds.spec!.template.spec!;
    const agent = pod.containers[0]!;
    const hubble = pod.volumes!.find((v) => v.hostPath?.path === '/var/run/cilium')!;
    expect(agent.volumeMounts).toContainEqual(expect.objectContaining({ name: hubble.name, mountPath: '/var/run/cilium', readOnly: true }));
    expect(agent.args).toContain('--hubble=unix:///var/run/cilium/hubble.sock');
    expect(agent.env).toContainEqual(expect.objectContaining({ name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }));
    expect(agent.securityContext?.runAsUser).toBe(0);
    const token = pod.volumes!.find((v) => v.projected)!;
    expect(token.projected!.sources![0]!.serviceAccountToken).toEqual(expect.objectContaining({ audience: 'rampart', path: 'token' }));
    expect(agent.args).toContain('--token-file=/var/run/secrets/rampart/token');
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it('runs the control plane in Kubernetes mode: two non-root replicas, read-only root, ready only when leading', () => {
    const d = all.find((m) => m.obj.kind === 'StatefulSet')!.obj as V1StatefulSet;
    const pod = d.spec!.template.spec!;
    const cp = pod.containers[0]!;
    expect(d.spec!.replicas).toBe(2);
    expect(cp.args).toContain('--kubernetes');
    expect(cp.readinessProbe?.httpGet).toMatchObject({ path: '/readyz', port: 'http' });
    expect(cp.securityContext).toMatchObject({ readOnlyRootFilesystem: true, allowPrivilegeEscalation: false });
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true });
    expect(pod.serviceAccountName).toBe('rampart-controlplane');
    // The scratch journal needs a writable /tmp under a read-only root.
    const tmp = pod.volumes!.find((v) => v.emptyDir)!;
    expect(cp.volumeMounts).toContainEqual(expect.objectContaining({ name: tmp.name, mountPath: '/tmp' }));
    // Every file the container mounts exists in the pod (no Secret a fresh install lacks).
    expect(pod.volumes!.every((v) => v.secret === undefined)).toBe(true);
    // Hot standby with durable history: a volume per replica for the traffic map, and agents stream to each replica.
    expect(d.spec!.volumeClaimTemplates!.map((v) => v.metadata!.name)).toEqual(['state']);
    expect(cp.args).toContain('--state=/var/lib/rampart');
    expect(cp.volumeMounts).toContainEqual(expect.objectContaining({ name: 'state', mountPath: '/var/lib/rampart' }));
    const headless = all.find((m) => m.obj.kind === 'Service' && m.obj.metadata?.name === d.spec!.serviceName)!.obj as { spec: { clusterIP: string; publishNotReadyAddresses: boolean } };
    expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
    const agent = (all.find((m) => m.obj.kind === 'DaemonSet')!.obj as V1DaemonSet).spec!.template.spec!.containers[0]!;
    // Every replica: the headless Service's addresses (agent/report/discovery.ts), whatever the replica count.
    expect(agent.args).toContain(`--controlplane=dns:///${d.spec!.serviceName}.rampart-system.svc:9967`);
  });
});
