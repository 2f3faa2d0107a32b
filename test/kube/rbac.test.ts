/**
 * deploy/controlplane/rbac.yaml checked with the real RBAC authorizer: acting as the
 * rampart-controlplane ServiceAccount (bearer token from the TokenRequest API), the control
 * plane can read and watch contracts and write their status, and cannot change, create or
 * delete a contract; every verb it (and its Kubernetes actuator) uses is allowed, the ones it
 * does not need are refused, and `rampart controlplane --kubernetes` runs with exactly it.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ApiException,
  AuthenticationV1Api,
  AuthorizationV1Api,
  CoordinationV1Api,
  CoreV1Api,
  EventsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  NetworkingV1Api,
  loadAllYaml,
  type KubernetesObject,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { GROUP, PLURAL, VERSION, customObjects, installCrd, loadKubeConfig, rejection, uniqueName } from '../support/kube/client.js';
import { shopDenyContract } from '../support/kube/contracts.js';
import { CollectorClient } from '../support/collector-client.js';
import { startControlplaneProcess } from '../support/controlplane-process.js';
import { waitFor } from '../support/wait-for.js';

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

const aContract = (name: string): Record<string, unknown> => shopDenyContract(name, [{ name: 'monitor' }, { name: 'all', percent: 100 }]);

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

  it("verifies an agent's projected token with a TokenReview, bound to the rampart audience", async () => {
    const agentObjects = loadAllYaml(readFileSync(agentFile, 'utf8')) as { kind: string; spec?: { template?: { spec?: { volumes?: { projected?: { sources?: { serviceAccountToken?: { audience?: string } }[] } }[] } } } }[];
    const audience = agentObjects
      .find((o) => o.kind === 'DaemonSet')
      ?.spec?.template?.spec?.volumes?.flatMap((v) => v.projected?.sources ?? [])
      .find((x) => x.serviceAccountToken)?.serviceAccountToken?.audience;
    expect(audience).toBe('rampart');
    const agentToken = await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({
      name: 'rampart-agent',
      namespace: SA.namespace,
      body: { spec: { audiences: ['rampart'], expirationSeconds: 600 } },
    });
    const token = agentToken.status!.token;
    const reviews = sa.makeApiClient(AuthenticationV1Api);
    const ok = await reviews.createTokenReview({ body: { spec: { token, audiences: ['rampart'] } } });
    expect(ok.status?.authenticated).toBe(true);
    expect(ok.status?.audiences).toEqual(['rampart']);
    expect(ok.status?.user?.username).toBe(`system:serviceaccount:${SA.namespace}:rampart-agent`);
    // A token minted for another audience (e.g. the API server's) is refused.
    const other = await reviews.createTokenReview({ body: { spec: { token: sa.getCurrentUser()!.token!, audiences: ['rampart'] } } });
    expect(other.status?.authenticated).not.toBe(true);
  });

  // What the control plane and its Kubernetes actuator do, verb by verb (SubjectAccessReview
  // as the ServiceAccount, answered by the real RBAC authorizer)...
  const user = `system:serviceaccount:${SA.namespace}:${SA.name}`;
  type Attr = { group: string; resource: string; verb: string; namespace?: string; subresource?: string };
  const used: Attr[] = [
    // patch: the restore finalizer (server-side apply of metadata.finalizers), and update on
    // rampcontracts/finalizers for it (product.md "Changes to what is enforced").
    ...['get', 'list', 'watch', 'patch'].map((verb) => ({ group: 'rampart.dev', resource: 'rampcontracts', verb })),
    { group: 'rampart.dev', resource: 'rampcontracts', subresource: 'finalizers', verb: 'update' },
    ...['update', 'patch'].map((verb) => ({ group: 'rampart.dev', resource: 'rampcontracts', subresource: 'status', verb })),
    ...['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'].map((verb) => ({ group: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'shop', verb })),
    ...['get', 'list', 'watch', 'patch'].map((verb) => ({ group: '', resource: 'pods', namespace: 'shop', verb })),
    // Cilium policies, applied by server-side apply and watched for the baseline.
    ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((verb) => ({ group: 'cilium.io', resource: 'ciliumnetworkpolicies', namespace: 'shop', verb })),
    ...['get', 'list', 'watch', 'create', 'patch', 'delete'].map((verb) => ({ group: 'cilium.io', resource: 'ciliumclusterwidenetworkpolicies', verb })),
    ...['get', 'list', 'watch'].map((verb) => ({ group: '', resource: 'namespaces', verb })),
    ...['create', 'patch'].flatMap((verb) => ['default', 'shop'].map((namespace) => ({ group: 'events.k8s.io', resource: 'events', namespace, verb }))),
    ...['get', 'create', 'update'].map((verb) => ({ group: 'coordination.k8s.io', resource: 'leases', namespace: SA.namespace, verb })),
    { group: 'authentication.k8s.io', resource: 'tokenreviews', verb: 'create' },
    { group: 'authorization.k8s.io', resource: 'subjectaccessreviews', verb: 'create' },
  ];
  // ... and what it never needs.
  const unneeded: Attr[] = [
    ...['create', 'update', 'delete'].map((verb) => ({ group: 'rampart.dev', resource: 'rampcontracts', verb })),
    { group: 'rampart.dev', resource: 'rampcontracts', subresource: 'approve', verb: 'update' },
    ...['create', 'update', 'delete'].map((verb) => ({ group: '', resource: 'pods', namespace: 'shop', verb })),
    { group: '', resource: 'pods', subresource: 'exec', namespace: 'shop', verb: 'create' },
    { group: '', resource: 'secrets', namespace: 'shop', verb: 'get' },
    { group: '', resource: 'namespaces', verb: 'patch' },
    { group: '', resource: 'nodes', verb: 'list' },
    { group: '', resource: 'events', namespace: 'default', verb: 'create' },
    { group: 'networking.k8s.io', resource: 'networkpolicies', namespace: 'shop', verb: 'deletecollection' },
    { group: 'cilium.io', resource: 'ciliumnetworkpolicies', namespace: 'shop', verb: 'update' },
    { group: 'cilium.io', resource: 'ciliumnetworkpolicies', namespace: 'shop', verb: 'deletecollection' },
    { group: 'cilium.io', resource: 'ciliumendpoints', namespace: 'shop', verb: 'list' },
    { group: 'cilium.io', resource: 'ciliumidentities', verb: 'list' },
    { group: 'coordination.k8s.io', resource: 'leases', namespace: 'default', verb: 'update' },
    { group: 'coordination.k8s.io', resource: 'leases', namespace: SA.namespace, verb: 'delete' },
  ];
  async function allowed(a: Attr): Promise<boolean> {
    const res = await admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
      body: { spec: { user, groups: ['system:serviceaccounts', `system:serviceaccounts:${SA.namespace}`, 'system:authenticated'], resourceAttributes: a } },
    });
    return res.status?.allowed === true;
  }
  const label = (a: Attr): string => `${a.verb} ${a.group || 'core'}/${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.namespace ? ` in ${a.namespace}` : ''}`;

  it('allows every verb the control plane uses', async () => {
    const refused: string[] = [];
    for (const a of used) if (!(await allowed(a))) refused.push(label(a));
    expect(refused).toEqual([]);
  });

  it('is enough to run `rampart controlplane --kubernetes`: watch, status, Event, Lease, TokenReview', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rampart-rbac-'));
    const cluster = admin.getCurrentCluster()!;
    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfigPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'c', cluster: { server: cluster.server, 'certificate-authority-data': cluster.caData } }],
        users: [{ name: 'sa', user: { token: sa.getCurrentUser()!.token } }],
        contexts: [{ name: 'c', context: { cluster: 'c', user: 'sa' } }],
        'current-context': 'c',
      }),
    );
    const cp = await startControlplaneProcess(['--kubernetes', '--kubeconfig', kubeconfigPath, '--namespace', SA.namespace, '--reconcile-interval', '200ms']);
    const contract = uniqueName('as-sa');
    try {
      await waitFor(async () => (await fetch(`${cp.base}/readyz`)).status === 200, { timeoutMs: 20_000, what: 'the control plane (as its ServiceAccount) to lead' });
      await customObjects(admin).createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: aContract(contract) });
      await waitFor(
        async () => {
          const c = (await customObjects(admin).getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: contract })) as { status?: { phase?: string } };
          return c.status?.phase === 'Observing';
        },
        { timeoutMs: 20_000, what: 'status written by the ServiceAccount' },
      );
      await waitFor(
        async () => (await admin.makeApiClient(EventsV1Api).listNamespacedEvent({ namespace: 'default' })).items.some((e) => e.regarding?.name === contract),
        { timeoutMs: 10_000, what: 'an Event created by the ServiceAccount' },
      );
      const lease = await admin.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: 'rampart-controlplane', namespace: SA.namespace });
      expect(lease.spec?.holderIdentity).toBeTruthy();
      // An agent's token, reviewed by the control plane with its own (delegated) rights.
      const agentToken = (await admin.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ name: 'rampart-agent', namespace: SA.namespace, body: { spec: { audiences: ['rampart'], expirationSeconds: 600 } } })).status!.token;
      const agent = new CollectorClient({ port: cp.grpcPort, node: 'node-rbac', token: agentToken });
      try {
        await waitFor(() => (agent.error ? Promise.reject(agent.error) : agent.sets.length > 0), { timeoutMs: 10_000, what: 'the agent to be admitted' });
      } finally {
        agent.close();
      }
      expect(cp.logs.filter((l) => /forbidden|cannot|refusing/i.test(JSON.stringify(l)))).toEqual([]);
    } finally {
      await cp.stop();
      await customObjects(admin).deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name: contract }).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses verbs the control plane does not need', async () => {
    const granted: string[] = [];
    for (const a of unneeded) if (await allowed(a)) granted.push(label(a));
    expect(granted).toEqual([]);
  });

  it('can manage NetworkPolicies (the actuator) but not read Secrets', async () => {
    const np = sa.makeApiClient(NetworkingV1Api);
    await np.listNetworkPolicyForAllNamespaces();
    const secrets = await rejection(() => sa.makeApiClient(CoreV1Api).listSecretForAllNamespaces());
    expect(secrets.code).toBe(403);
  });
});
