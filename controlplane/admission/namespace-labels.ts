/**
 * A NetworkPolicy's AdmissionReview does not carry its namespace's labels, and the webhook
 * needs `rampart.dev/admission` from them. Two sources, in this order:
 *
 * - the Kubernetes API (`--kubeconfig`, else KUBECONFIG, else the in-cluster config): the
 *   Namespace is read with a short timeout and cached for a few seconds (one read per burst
 *   of `kubectl apply`), which needs `get` on namespaces (deploy/controlplane/rbac.yaml);
 * - otherwise (file mode on a laptop) the namespace labels the Cilium identities in the
 *   traffic map carry (`k8s:io.cilium.k8s.namespace.labels.*`): only namespaces with traffic
 *   are known, which are the only ones where a change can break a seen edge.
 */
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../core/common/index.js';
import { loadKubeConfig } from '../../io/kube/kubeconfig.js';
import type { MapService } from '../map/map-service.js';

export interface NamespaceLabels {
  /** The namespace's labels, or null when it does not exist (as far as this source knows). */
  labels(namespace: string): Promise<Readonly<Record<string, string>> | null>;
}

export const NAMESPACE_CACHE_MS = 5000;
export const NAMESPACE_READ_TIMEOUT_MS = 1000;

export class KubeNamespaceLabels implements NamespaceLabels {
  private readonly api: CoreV1Api;
  private readonly cache = new Map<string, { atMs: number; labels: Readonly<Record<string, string>> | null }>();

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CoreV1Api);
  }

  async labels(namespace: string): Promise<Readonly<Record<string, string>> | null> {
    const now = Date.now();
    const hit = this.cache.get(namespace);
    if (hit !== undefined && now - hit.atMs < NAMESPACE_CACHE_MS) return hit.labels;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`reading namespace ${namespace} took over ${NAMESPACE_READ_TIMEOUT_MS}ms`));
      }, NAMESPACE_READ_TIMEOUT_MS);
    });
    try {
      const ns = await Promise.race([this.api.readNamespace({ name: namespace }), timeout]);
      const labels = ns.metadata?.labels ?? {};
      if (this.cache.size > 1000) this.cache.clear();
      this.cache.set(namespace, { atMs: now, labels });
      return labels;
    } finally {
      clearTimeout(timer);
    }
  }
}

export class MapNamespaceLabels implements NamespaceLabels {
  private readonly map: MapService;
  constructor(map: MapService) {
    this.map = map;
  }
  labels(namespace: string): Promise<Readonly<Record<string, string>> | null> {
    return Promise.resolve(this.map.namespaceLabelsSeen(namespace));
  }
}

export function namespaceLabelReader(o: { readonly kubeconfig: string | null; readonly map: MapService; readonly log: Logger }): NamespaceLabels {
  try {
    const loaded = loadKubeConfig(o.kubeconfig);
    if (loaded === null) {
      o.log.info('admission: no Kubernetes API configured; namespace labels come from the traffic map');
      return new MapNamespaceLabels(o.map);
    }
    return new KubeNamespaceLabels(loaded.kc);
  } catch (e) {
    o.log.warn('admission: cannot load the Kubernetes config; namespace labels come from the traffic map', { err: { message: e instanceof Error ? e.message : String(e) } });
    return new MapNamespaceLabels(o.map);
  }
}
