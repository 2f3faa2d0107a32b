/**
 * The kubectl plugin's only way to the cluster: the API server named by the kubeconfig
 * (`--kubeconfig`, else KUBECONFIG, else ~/.kube/config or in-cluster; `--context`). It reads
 * RampContract objects, watches them, asks for actions by annotation, and reaches the control
 * plane's HTTP API through the API server's Service proxy (no port-forward).
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { ApiException, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions, type KubernetesListObject, type KubernetesObject, type V1ObjectMeta } from '@kubernetes/client-node';
import { silentLogger } from '../../io/json-logger.js';
import { loadKubeConfig } from '../../io/kube/kubeconfig.js';
import { apiErrorStatus, describeApiError } from '../../io/kube/api-error.js';
import { WatchedCollection, type WatchEvent } from '../../io/kube/list-watch.js';
import { ACTION_ANNOTATION, ACTION_ID_ANNOTATION, RAMPCONTRACT, type OperatorActionName } from '../../core/contract/index.js';

/** A RampContract as read from the API server (status as the control plane wrote it). */
export interface ContractObject extends KubernetesObject {
  readonly metadata: V1ObjectMeta;
  readonly spec?: unknown;
  readonly status?: Record<string, unknown>;
}

/** Where the control plane's HTTP API is, as a Service (the Helm chart's and deploy/'s defaults). */
export interface ServiceRef {
  readonly namespace: string;
  readonly name: string;
  readonly port: string;
}

/** The field manager of the plugin's writes: the control plane names it as the actor of an action. */
export const PLUGIN_FIELD_MANAGER = 'kubectl-rampart';

export const DEFAULT_SERVICE: ServiceRef = { namespace: 'rampart-system', name: 'rampart-controlplane', port: 'http' };

/** The header the control plane reads a proxied caller's bearer token from (the API server's proxy drops Authorization). */
export const FORWARDED_TOKEN_HEADER = 'x-rampart-authorization';

export class ClusterError extends Error {
  readonly code: number | null;
  constructor(message: string, code: number | null) {
    super(message);
    this.code = code;
  }
}

/** kubectl's rules: `--kubeconfig`, else KUBECONFIG, else ~/.kube/config or in-cluster; `--context` over the current context. */
export function kubectlKubeConfig(options: { kubeconfig?: string; context?: string }): KubeConfig {
  let loaded;
  try {
    loaded = loadKubeConfig(options.kubeconfig ?? null, new KubeConfig(), process.env, { kubectlSearch: true, ...(options.context === undefined ? {} : { context: options.context }) });
  } catch (e) {
    throw new ClusterError(e instanceof Error ? e.message : String(e), null);
  }
  if (!loaded?.kc.getCurrentCluster()) throw new ClusterError('the kubeconfig names no cluster (set KUBECONFIG or --kubeconfig)', null);
  return loaded.kc;
}

function explain(e: unknown, what: string): ClusterError {
  const { code } = apiErrorStatus(e);
  if (code === 404) return new ClusterError(`${what}: not found`, 404);
  const cause = e instanceof Error && !(e instanceof ApiException) && e.cause instanceof Error ? `: ${e.cause.message}` : '';
  return new ClusterError(`${what}: ${describeApiError(e)}${cause}`, code);
}

export class Cluster {
  readonly kc: KubeConfig;
  private readonly api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.kc = kc;
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  async list(): Promise<ContractObject[]> {
    try {
      const list = (await this.api.listClusterCustomObject({ group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural })) as KubernetesListObject<ContractObject>;
      return [...list.items].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
    } catch (e) {
      throw explain(e, 'listing RampContracts');
    }
  }

  async get(name: string): Promise<ContractObject> {
    try {
      return (await this.api.getClusterCustomObject({ group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural, name })) as ContractObject;
    } catch (e) {
      const x = explain(e, `RampContract ${JSON.stringify(name)}`);
      throw x.code === 404 ? new ClusterError(`no RampContract named ${JSON.stringify(name)}`, 404) : x;
    }
  }

  /**
   * Asks the leader for an action: sets the action annotation with a fresh id (a merge patch
   * of those two keys only). Returns the id; the outcome appears in status.lastAction.
   */
  async requestAction(name: string, action: OperatorActionName): Promise<string> {
    const id = randomUUID();
    try {
      await this.api.patchClusterCustomObject(
        { group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural, name, body: { metadata: { annotations: { [ACTION_ANNOTATION]: action, [ACTION_ID_ANNOTATION]: id } } }, fieldManager: PLUGIN_FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    } catch (e) {
      const x = explain(e, `annotating RampContract ${JSON.stringify(name)}`);
      throw x.code === 404 ? new ClusterError(`no RampContract named ${JSON.stringify(name)}`, 404) : x;
    }
    return id;
  }

  /** Watches every RampContract (list, then watch with restarts) until the signal aborts. */
  async watch(signal: AbortSignal, onEvent: (event: WatchEvent, obj: ContractObject) => void): Promise<void> {
    const collection = new WatchedCollection<ContractObject>({
      kc: this.kc,
      path: RAMPCONTRACT.path,
      list: async () => (await this.api.listClusterCustomObject({ group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, plural: RAMPCONTRACT.plural })) as KubernetesListObject<ContractObject>,
      log: silentLogger,
    });
    collection.onEvent(onEvent);
    await collection.start(signal);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      signal.addEventListener('abort', () => resolve(), { once: true });
    });
  }

  /**
   * POSTs to the control plane's HTTP API through the API server's Service proxy
   * (`…/services/<name>:<port>/proxy/<path>`). The API server authorizes the proxy request
   * and drops the Authorization header; the caller's own token (when the kubeconfig has one)
   * travels in FORWARDED_TOKEN_HEADER for the control plane's TokenReview.
   */
  async proxyPost(service: ServiceRef, path: string, contentType: string, body: string): Promise<{ status: number; body: string }> {
    const cluster = this.kc.getCurrentCluster()!;
    const url = new URL(`${cluster.server.replace(/\/+$/, '')}/api/v1/namespaces/${encodeURIComponent(service.namespace)}/services/${encodeURIComponent(`${service.name}:${service.port}`)}/proxy${path}`);
    // client-node fills in TLS (CA, client certificate) and the Authorization header.
    const opts: https.RequestOptions = {};
    await this.kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = { ...((opts.headers as Record<string, string> | undefined) ?? {}), 'content-type': contentType, accept: 'application/json' };
    const auth = headers['Authorization'] ?? headers['authorization'];
    if (auth?.startsWith('Bearer ')) headers[FORWARDED_TOKEN_HEADER] = auth;
    const request = url.protocol === 'https:' ? https.request : http.request;
    try {
      return await new Promise((resolve, reject) => {
        const req = request(url, { ...opts, method: 'POST', headers, timeout: 30_000 }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('no answer within 30 s')));
        req.on('error', reject);
        req.end(body);
      });
    } catch (e) {
      throw explain(e, `POST ${path} through the Service proxy of ${service.namespace}/${service.name}`);
    }
  }
}
