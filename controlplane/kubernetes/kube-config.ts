/**
 * Which API server Kubernetes mode talks to, and as whom: --kubeconfig, else KUBECONFIG (both
 * arrive as config.kubernetes.kubeconfig), else the in-cluster service account. The namespace
 * that holds the Lease: --namespace, else the pod's own (the service-account namespace
 * file), else rampart-system. (Events about a contract go to `default`: event-writer.ts.)
 */
import * as fs from 'node:fs';
import type * as https from 'node:https';
import { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../io/kube/kubeconfig.js';
import type { KubernetesModeConfig } from '../config/config.js';

export const DEFAULT_NAMESPACE = 'rampart-system';
export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

export interface KubeTarget {
  readonly kc: KubeConfig;
  readonly namespace: string;
  /** Where the configuration came from, for the start-up log line. */
  readonly source: string;
}

/**
 * A kubeconfig whose every request (API clients, watches) carries a User-Agent naming this
 * replica, so the API server's audit log tells the replicas of one ServiceAccount apart.
 */
class ReplicaKubeConfig extends KubeConfig {
  private readonly userAgent: string;

  constructor(userAgent: string) {
    super();
    this.userAgent = userAgent;
  }

  override async applyToHTTPSOptions(opts: https.RequestOptions | Parameters<KubeConfig['applyToHTTPSOptions']>[0]): Promise<void> {
    await super.applyToHTTPSOptions(opts);
    opts.headers = { ...(opts.headers ?? {}), 'User-Agent': this.userAgent };
  }

  override async applySecurityAuthentication(context: Parameters<KubeConfig['applySecurityAuthentication']>[0]): Promise<void> {
    await super.applySecurityAuthentication(context);
    context.setHeaderParam('User-Agent', this.userAgent);
  }
}

/** The User-Agent of a replica's requests to the API server. */
export function replicaUserAgent(identity: string): string {
  return `rampart-controlplane/${identity}`;
}

/** Throws with a readable message when no configuration can be loaded (a start-up error). */
export function loadKubeTarget(config: KubernetesModeConfig, namespaceFile = SERVICE_ACCOUNT_NAMESPACE_FILE, userAgent: string | null = null): KubeTarget {
  const loaded = loadKubeConfig(config.kubeconfig, userAgent === null ? new KubeConfig() : new ReplicaKubeConfig(userAgent));
  if (loaded === null) throw new Error('--kubernetes: no --kubeconfig, no KUBECONFIG, and not running in a cluster (KUBERNETES_SERVICE_HOST is unset)');
  const { kc, source } = loaded;
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${source}: no current cluster`);
  return { kc, namespace: config.namespace ?? podNamespace(namespaceFile) ?? DEFAULT_NAMESPACE, source };
}

function podNamespace(file: string): string | null {
  try {
    const ns = fs.readFileSync(file, 'utf8').trim();
    return ns === '' ? null : ns;
  } catch {
    return null;
  }
}
