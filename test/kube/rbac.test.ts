/**
 * deploy/controlplane/rbac.yaml checked with the real RBAC authorizer: acting as the
 * rampart-controlplane ServiceAccount (bearer token from the TokenRequest API), the control
 * plane can read and watch contracts and write their status, and cannot change, create or
 * delete a contract.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  AuthenticationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURAL, VERSION, customObjects, installCrd, loadKubeConfig, rejection, uniqueName } from '../support/kube/client.js';

const admin = loadKubeConfig(inject('kubeconfig'));
const rbacFile = fileURLToPath(new URL('../../deploy/controlplane/rbac.yaml', import.meta.url));
const agentFile = fileURLToPath(new URL('../../deploy/agent/daemonset.yaml', import.meta.url));
const SA = { name: 'rampart-controlplane', namespace: 'rampart-system' };

/** A kubeconfig for the same server that authenticates with `token` instead of the admin's. */
function asToken(token: string): KubeConfig {
  const kc = new KubeConfig();
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('admin kubeconfig has no cluster');
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'sa', token }],
    contexts: [{ name: 'sa', cluster: cluster.name, user: 'sa' }],
    currentContext: 'sa',
  });
  return kc;
}

async function applyAll(objects: KubernetesObject[]): Promise<void> {
  const client = KubernetesObjectApi.makeApiClient(admin);
  for (const obj of objects) {
    try {
      await client.create(obj);
    } catch (e) {
      if (!(e instanceof ApiException) || e.code !== 409) throw e;
    }
  }
}

const aContract = (name: string) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'RampContract',
  metadata: { name },
  spec: {
    policies: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'shop' }, spec: { podSelector: {} } }],
    rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'all', percent: 100, minDuration: '1m' }] },
  },
});

describe('control plane RBAC (deploy/controlplane/rbac.yaml) against the real authorizer', () => {
  const name = uniqueName('rbac');
  let sa: KubeConfig;

  beforeAll(async () => {
    await installCrd(admin);
    await applyAll(loadAllYaml(readFileSync(rbacFile, 'utf8')) as KubernetesObject[]);
    const agentObjects = loadAllYaml(readFileSync(agentFile, 'utf8')) as KubernetesObject[];
    await applyAll(agentObjects.filter((o) => o.kind === 'ServiceAccount'));
    await customObjects(admin).createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: aContract(name) });
    const request = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      ...SA,
      body: { spec: { audiences: [], expirationSeconds: 600 } },
    });
    const token = request.status?.token;
    if (!token) throw new Error('TokenRequest returned no token');
    sa = asToken(token);
  });

  it('authenticates as the ServiceAccount', async () => {
    // A namespaced read the role does not grant shows who the server thinks we are.
    const { code, status } = await rejection(() => sa.makeApiClient(CoreV1Api).listNamespacedSecret({ namespace: 'default' }));
    expect(code).toBe(403);
    expect(status.message).toContain(`system:serviceaccount:${SA.namespace}:${SA.name}`);
  });

  it('can list, get and watch-list contracts', async () => {
    const api = customObjects(sa);
    const list = (await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as { items: { metadata: { name: string } }[] };
    expect(list.items.map((i) => i.metadata.name)).toContain(name);
    const one = (await api.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as { metadata: { name: string } };
    expect(one.metadata.name).toBe(name);
  });

  it('can write status through the status subresource', async () => {
    const api = customObjects(sa);
    const current = (await api.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as Record<string, unknown>;
    const updated = (await api.replaceClusterCustomObjectStatus({
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      name,
      body: { ...current, status: { phase: 'Observing', stage: { index: 0, name: 'monitor' } } },
    })) as { status: { phase: string } };
    expect(updated.status.phase).toBe('Observing');
  });

  it('cannot edit a contract spec, create or delete contracts', async () => {
    const api = customObjects(sa);
    const current = (await api.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as { spec: { advance?: string } };
    const edited = { ...current, spec: { ...current.spec, advance: 'manual' } };
    const replace = await rejection(() => api.replaceClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name, body: edited }));
    expect(replace.code).toBe(403);
    expect(replace.status.message).toContain('cannot update resource "rampcontracts"');
    const create = await rejection(() => api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: aContract(uniqueName('sa-made')) }));
    expect(create.code).toBe(403);
    const del = await rejection(() => api.deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name }));
    expect(del.code).toBe(403);
    // And the contract is untouched.
    const after = (await customObjects(admin).getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as { spec: { advance: string } };
    expect(after.spec.advance).toBe('auto');
  });

  it('can hold its leader-election Lease in rampart-system only', async () => {
    const leases = sa.makeApiClient(CoordinationV1Api);
    const lease = (namespace: string) => ({ metadata: { name: uniqueName('rampart-leader'), namespace }, spec: { holderIdentity: 'test', leaseDurationSeconds: 15 } });
    const own = await leases.createNamespacedLease({ namespace: SA.namespace, body: lease(SA.namespace) });
    expect(own.spec?.holderIdentity).toBe('test');
    const elsewhere = await rejection(() => leases.createNamespacedLease({ namespace: 'default', body: lease('default') }));
    expect(elsewhere.code).toBe(403);
  });

  it("verifies an agent's projected token with a TokenReview, bound to the rampart-controlplane audience", async () => {
    const agentToken = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name: 'rampart-agent',
      namespace: SA.namespace,
      body: { spec: { audiences: ['rampart-controlplane'], expirationSeconds: 600 } },
    });
    const token = agentToken.status!.token;
    const reviews = sa.makeApiClient(AuthenticationV1Api);
    const ok = await reviews.createTokenReview({ body: { spec: { token, audiences: ['rampart-controlplane'] } } });
    expect(ok.status?.authenticated).toBe(true);
    expect(ok.status?.user?.username).toBe(`system:serviceaccount:${SA.namespace}:rampart-agent`);
    // A token minted for another audience (e.g. the API server's) is refused.
    const other = await reviews.createTokenReview({ body: { spec: { token: sa.getCurrentUser()!.token!, audiences: ['rampart-controlplane'] } } });
    expect(other.status?.authenticated).not.toBe(true);
  });

  it('can manage NetworkPolicies (the actuator) but not read Secrets', async () => {
    const np = sa.makeApiClient(NetworkingV1Api);
    await np.listNetworkPolicyForAllNamespaces();
    const secrets = await rejection(() => sa.makeApiClient(CoreV1Api).listSecretForAllNamespaces());
    expect(secrets.code).toBe(403);
  });
});
