/**
 * Objects the actuation tests create on the real API server: namespaces, pods bound to a
 * node (no kubelet runs, so they stay Pending, which is all a label needs), RampContracts,
 * and unmanaged NetworkPolicies. Every helper waits for nothing; tests poll what they assert.
 */
import { CoreV1Api, NetworkingV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, customObjects } from './client.js';
import { rampRollout } from './ramp-stages.js';

export async function createNamespace(kc: KubeConfig, name: string, labels: Record<string, string> = {}): Promise<void> {
  const api = kc.makeApiClient(CoreV1Api);
  await api.createNamespace({ body: { metadata: { name, labels } } });
  // No controller-manager creates it here, and the ServiceAccount admission plugin refuses pods without it.
  await api.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: 'default', namespace: name } } });
}

export async function createPod(kc: KubeConfig, namespace: string, name: string, labels: Record<string, string>, node = 'sim-worker-1'): Promise<V1Pod> {
  return kc.makeApiClient(CoreV1Api).createNamespacedPod({
    namespace,
    body: {
      metadata: { name, namespace, labels },
      spec: {
        nodeName: node,
        automountServiceAccountToken: false,
        containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.10', ports: [{ containerPort: 8080, name: 'http' }] }],
      },
    },
  });
}

/** What a contract changes of the policies in force (`spec.replaces`, `spec.removes`). */
export interface ContractChanges {
  readonly replaces?: readonly Record<string, string>[];
  readonly removes?: readonly Record<string, string>[];
}

/** A valid RampContract with the given policies (and changes) and percent stages (durations are irrelevant here). */
export async function createContract(kc: KubeConfig, name: string, policies: unknown[], changes: ContractChanges = {}): Promise<{ uid: string }> {
  const obj = (await customObjects(kc).createClusterCustomObject({
    group: GROUP,
    version: VERSION,
    plural: PLURAL,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'RampContract',
      metadata: { name },
      spec: {
        policies,
        ...changes,
        rollout: rampRollout(),
      },
    },
  })) as { metadata: { uid: string } };
  return { uid: obj.metadata.uid };
}

export async function deleteContract(kc: KubeConfig, name: string): Promise<void> {
  await customObjects(kc).deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name });
}

export function networking(kc: KubeConfig): NetworkingV1Api {
  return kc.makeApiClient(NetworkingV1Api);
}

export function coreApi(kc: KubeConfig): CoreV1Api {
  return kc.makeApiClient(CoreV1Api);
}
