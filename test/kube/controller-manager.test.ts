/**
 * The test rig's kube-controller-manager: with its garbage collector running, a
 * NetworkPolicy owned by a RampContract (ownerReference, as the Kubernetes actuator writes
 * it) is deleted when the contract is, and one without the reference (a Complete hand-off)
 * stays.
 */
import { NetworkingV1Api, type KubeConfig, type V1NetworkPolicy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { startKubeControllerManager, type KubeControllerManager } from '../support/kube/controller-manager.js';
import { contractBody, createContract, deleteContract, ensureNamespace } from '../support/kube/contracts.js';
import { waitFor } from '../support/wait-for.js';

const admin: KubeConfig = loadKubeConfig(inject('kubeconfig'));
const namespace = uniqueName('gc');
let kcm: KubeControllerManager;

beforeAll(async () => {
  await installCrd(admin);
  await ensureNamespace(admin, namespace);
  kcm = await startKubeControllerManager({ binDir: inject('kubeBinDir'), kubeconfigPath: inject('kubeconfig') });
  process.stderr.write(`kube: kube-controller-manager (garbage collector) synced in ${kcm.startupMs} ms\n`);
});

afterAll(async () => {
  await kcm?.stop();
});

function policy(name: string, owner: { name: string; uid: string } | null): V1NetworkPolicy {
  return {
    metadata: {
      name,
      namespace,
      labels: { 'app.kubernetes.io/managed-by': 'rampart' },
      ...(owner ? { ownerReferences: [{ apiVersion: 'rampart.dev/v1alpha1', kind: 'RampContract', name: owner.name, uid: owner.uid, blockOwnerDeletion: false }] } : {}),
    },
    spec: { podSelector: {}, policyTypes: ['Ingress'] },
  };
}

describe('kube-controller-manager in the test rig', () => {
  it('garbage-collects what a deleted contract owned, and keeps what it handed off', async () => {
    const name = uniqueName('owner');
    const contract = await createContract(admin, contractBody(name, { namespace }));
    const net = admin.makeApiClient(NetworkingV1Api);
    await net.createNamespacedNetworkPolicy({ namespace, body: policy(`${name}-owned`, { name, uid: contract.metadata.uid }) });
    await net.createNamespacedNetworkPolicy({ namespace, body: policy(`${name}-handed-off`, null) });
    await deleteContract(admin, name);
    const t0 = performance.now();
    await waitFor(
      async () => {
        const list = await net.listNamespacedNetworkPolicy({ namespace });
        return !list.items.some((p) => p.metadata?.name === `${name}-owned`);
      },
      { timeoutMs: 30_000, intervalMs: 100, what: 'the owned NetworkPolicy to be collected' },
    );
    process.stderr.write(`kube: owned NetworkPolicy collected ${Math.round(performance.now() - t0)} ms after its contract was deleted\n`);
    const left = await net.listNamespacedNetworkPolicy({ namespace });
    expect(left.items.map((p) => p.metadata?.name)).toEqual([`${name}-handed-off`]);
  });
});
