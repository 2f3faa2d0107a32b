/**
 * The simulated cluster against a real API server (`rampart demo --kubernetes`): its
 * namespaces, ServiceAccounts and pods become real objects (pods with `spec.nodeName` set, so
 * no scheduler or kubelet is needed; they stay Pending, which labels do not mind), the
 * pre-existing policies of the spec become real, unmanaged NetworkPolicies, and the
 * datapath then enforces exactly what the API server holds: every NetworkPolicy (watched),
 * selecting pods by their live labels (watched), so enrollment labels written by the
 * control plane change both what is enforced and the Hubble identities the agents see.
 */
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../core/common/index.js';
import { isConflict } from '../io/kube/api-error.js';
import { manifestOf, networkPolicyWatch } from '../io/kube/network-policies.js';
import { CILIUM_POLICY_APIS, policyApiAvailable, policyKindApi, policyManifestOf, policyWatch, type PolicyObject } from '../io/kube/policy-kinds.js';
import type { WatchedCollection as Watched } from '../io/kube/list-watch.js';
import { ensureCiliumPolicyKinds } from './cilium-crds.js';
import { WatchedCollection } from '../io/kube/list-watch.js';
import type { ClusterSpec } from './cluster-spec.js';
import { identityLabelsFor, type Cluster, type SimPod } from './cluster.js';
import { identityNumber, setLiveIdentity } from './live-identity.js';
import type { Simulator } from './simulator.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Objects created in flight at once while provisioning. */
const CONCURRENCY = 8;

const exists = isConflict;

export interface KubeDatapathOptions {
  readonly kc: KubeConfig;
  readonly simulator: Simulator;
  readonly spec: ClusterSpec;
  readonly log: Logger;
  /**
   * Label keys Cilium's identity-label filter drops (an operator's inclusive `labels` list):
   * such labels still select in the API server's view, but not in the datapath or Hubble.
   */
  readonly dropIdentityLabel?: (key: string) => boolean;
}

export class KubeDatapath {
  private readonly o: KubeDatapathOptions;
  private readonly core: CoreV1Api;
  private readonly objects: CustomObjectsApi;
  private readonly pods: WatchedCollection<V1Pod>;
  private readonly policies;
  /** The Cilium policy watches, where the API server serves those kinds (see start). */
  private readonly ciliumWatches: { api: (typeof CILIUM_POLICY_APIS)[number]; watch: Watched<PolicyObject> }[] = [];
  private readonly byKey = new Map<string, SimPod>();
  private policyRevision = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(options: KubeDatapathOptions) {
    this.o = options;
    this.core = options.kc.makeApiClient(CoreV1Api);
    this.objects = options.kc.makeApiClient(CustomObjectsApi);
    this.pods = new WatchedCollection<V1Pod>({ kc: options.kc, path: '/api/v1/pods', list: () => this.core.listPodForAllNamespaces(), log: options.log });
    this.policies = networkPolicyWatch(options.kc, options.log);
    for (const p of options.simulator.cluster.pods) this.byKey.set(`${p.namespace}/${p.name}`, p);
  }

  get cluster(): Cluster {
    return this.o.simulator.cluster;
  }

  /** Creates the namespaces, ServiceAccounts, pods and pre-existing NetworkPolicies (existing ones are kept). */
  async provision(): Promise<{ namespaces: number; pods: number; policies: number }> {
    const c = this.cluster;
    for (const [name, labels] of c.namespaceLabels) {
      await this.create(() => this.core.createNamespace({ body: { metadata: { name, labels: { ...labels } } } }));
    }
    const accounts = new Set<string>();
    for (const ns of c.namespaceLabels.keys()) accounts.add(`${ns}/default`);
    for (const w of c.workloads.values()) accounts.add(`${w.namespace}/${w.serviceAccount}`);
    await runLimited(
      [...accounts].map((key) => () => {
        const [namespace, name] = key.split('/') as [string, string];
        return this.create(() => this.core.createNamespacedServiceAccount({ namespace, body: { metadata: { name, namespace } } }));
      }),
    );
    await runLimited(
      c.pods.map((pod) => () => {
        const w = c.workloads.get(pod.workload)!;
        return this.create(() =>
          this.core.createNamespacedPod({
            namespace: pod.namespace,
            body: {
              metadata: { name: pod.name, namespace: pod.namespace, labels: { ...pod.labels } },
              spec: {
                nodeName: pod.node.name,
                serviceAccountName: w.serviceAccount,
                automountServiceAccountToken: false,
                containers: [
                  {
                    name: 'app',
                    image: 'registry.k8s.io/pause:3.10',
                    ports: pod.ports.map((p) => ({ containerPort: p.port, protocol: p.protocol, ...(p.name ? { name: p.name } : {}) })),
                  },
                ],
              },
            },
          }),
        );
      }),
    );
    // The scenario's Cilium policies need their kinds served: the simulated Cilium brings them.
    if (this.o.spec.policies.some((raw) => isObj(raw) && typeof raw.kind === 'string' && raw.kind.startsWith('Cilium'))) await ensureCiliumPolicyKinds(this.o.kc);
    await runLimited(
      this.o.spec.policies.map((raw) => () => {
        const meta = isObj(raw) && isObj(raw.metadata) ? raw.metadata : {};
        const namespace = typeof meta.namespace === 'string' ? meta.namespace : 'default';
        const api = policyKindApi(isObj(raw) && (raw.kind === 'CiliumNetworkPolicy' || raw.kind === 'CiliumClusterwideNetworkPolicy') ? raw.kind : 'NetworkPolicy');
        const coords = { group: api.group, version: api.version, plural: api.plural, body: raw as object };
        return this.create(() => (api.namespaced ? this.objects.createNamespacedCustomObject({ ...coords, namespace }) : this.objects.createClusterCustomObject(coords)));
      }),
    );
    return { namespaces: c.namespaceLabels.size, pods: c.pods.length, policies: this.o.spec.policies.length };
  }

  /** Watches pods and NetworkPolicies and keeps the simulated datapath in step with them. */
  async start(signal: AbortSignal): Promise<void> {
    this.pods.onEvent((event, pod) => {
      if (event !== 'delete') this.updatePod(pod);
    });
    this.policies.onEvent(() => this.schedulePolicies());
    for (const api of CILIUM_POLICY_APIS) {
      if (!(await policyApiAvailable(this.o.kc, api))) continue;
      const watch = policyWatch(this.o.kc, this.o.log, api);
      watch.onEvent(() => this.schedulePolicies());
      this.ciliumWatches.push({ api, watch });
    }
    await Promise.all([this.pods.start(signal), this.policies.start(signal), ...this.ciliumWatches.map((c) => c.watch.start(signal))]);
    for (const pod of this.pods.list()) this.updatePod(pod);
    this.refreshPolicies();
    signal.addEventListener('abort', () => {
      if (this.timer) clearTimeout(this.timer);
    });
  }

  private schedulePolicies(): void {
    if (this.timer) return;
    // A stage writes several policies at once: recompile once for the burst.
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refreshPolicies();
    }, 20);
  }

  private refreshPolicies(): void {
    this.policyRevision++;
    const policies = [...this.policies.list().map(manifestOf), ...this.ciliumWatches.flatMap((c) => c.watch.list().map((o) => policyManifestOf(c.api, o)))];
    this.o.simulator.enforcement.setClusterPolicies(`kube@${this.policyRevision}`, policies);
  }

  /** The pod's live labels become its identity (minus what the identity-label filter drops). */
  private updatePod(obj: V1Pod): void {
    const key = `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
    const pod = this.byKey.get(key);
    if (!pod) return;
    const w = this.cluster.workloads.get(pod.workload)!;
    const all = obj.metadata?.labels ?? {};
    const drop = this.o.dropIdentityLabel;
    const podLabels = drop ? Object.fromEntries(Object.entries(all).filter(([k]) => !drop(k))) : { ...all };
    const labels = identityLabelsFor({
      namespace: pod.namespace,
      namespaceLabels: this.cluster.namespaceLabels.get(pod.namespace) ?? {},
      podLabels,
      serviceAccount: w.serviceAccount,
      cluster: this.cluster.name,
    });
    setLiveIdentity(pod, { identity: identityNumber(labels), labels, podLabels });
  }

  private async create(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (e) {
      if (!exists(e)) throw e;
    }
  }
}

async function runLimited(work: readonly (() => Promise<void>)[]): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < work.length) await work[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, work.length) }, lane));
}
