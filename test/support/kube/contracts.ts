/**
 * RampContract objects and status reads for the Kubernetes-mode tests.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, PLURAL, VERSION, customObjects } from './client.js';

export interface ContractObject {
  readonly metadata: { readonly name: string; readonly uid: string; readonly generation: number; readonly resourceVersion: string };
  readonly spec: Record<string, unknown>;
  readonly status?: Record<string, unknown> & {
    readonly history?: readonly Record<string, unknown>[];
    readonly conditions?: readonly { type: string; status: string; reason: string; message: string; lastTransitionTime: string; observedGeneration: number }[];
  };
}

/**
 * A valid contract: one policy, monitor then 50% then 100%, `advance` as given. Give a
 * `namespace` that exists when a control plane with the Kubernetes actuator will apply it.
 */
export function contractBody(name: string, options: { readonly advance?: 'auto' | 'manual'; readonly port?: number; readonly namespace?: string } = {}): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'RampContract',
    metadata: { name },
    spec: {
      policies: [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: `${name}-web`, namespace: options.namespace ?? 'web' },
          spec: { podSelector: { matchLabels: { app: 'web' } }, ingress: [{ ports: [{ port: options.port ?? 8080 }] }] },
        },
      ],
      rollout: {
        strategy: 'percent',
        stages: [
          { name: 'monitor', minDuration: '0s' },
          { name: 'half', percent: 50, minDuration: '0s' },
          { name: 'full', percent: 100, minDuration: '0s' },
        ],
      },
      advance: options.advance ?? 'manual',
    },
  };
}

/** A contract the API server stores as written: one deny-all policy in shop, the given stages (1m each). */
export function shopDenyContract(name: string, stages: readonly { readonly name: string; readonly percent?: number }[]): Record<string, unknown> {
  return {
    apiVersion: `${GROUP}/${VERSION}`,
    kind: 'RampContract',
    metadata: { name },
    spec: {
      policies: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'shop' }, spec: { podSelector: {} } }],
      rollout: { strategy: 'percent', stages: stages.map((s) => ({ name: s.name, ...(s.percent === undefined ? {} : { percent: s.percent }), minDuration: '1m' })) },
    },
  };
}

export async function createContract(kc: KubeConfig, body: Record<string, unknown>): Promise<ContractObject> {
  return (await customObjects(kc).createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body })) as ContractObject;
}

export async function getContract(kc: KubeConfig, name: string): Promise<ContractObject> {
  return (await customObjects(kc).getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as ContractObject;
}

export async function deleteContract(kc: KubeConfig, name: string): Promise<void> {
  await customObjects(kc)
    .deleteClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })
    .catch(() => undefined);
}

/** Creates a namespace unless it exists. */
export async function ensureNamespace(kc: KubeConfig, name: string): Promise<void> {
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name } } })
    .catch((e: unknown) => {
      if ((e as { code?: number }).code !== 409) throw e;
    });
}
