/**
 * The one kubeconfig loader: a kubeconfig file (--kubeconfig, else KUBECONFIG, as the
 * caller's config resolved it), else the in-cluster service account when this process runs
 * in a pod (KUBERNETES_SERVICE_HOST is set), else none.
 */
import { KubeConfig } from '@kubernetes/client-node';

export interface LoadedKubeConfig {
  readonly kc: KubeConfig;
  /** Where it came from, for log lines: the file, or `in-cluster service account`. */
  readonly source: string;
}

/**
 * null when there is no file and no cluster around; throws naming the file when it cannot be
 * read. `kc`: the (possibly subclassed) KubeConfig to load into.
 */
export function loadKubeConfig(file: string | null, kc: KubeConfig = new KubeConfig(), env: NodeJS.ProcessEnv = process.env): LoadedKubeConfig | null {
  if (file !== null && file !== '') {
    try {
      kc.loadFromFile(file);
    } catch (e) {
      throw new Error(`cannot load kubeconfig ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return { kc, source: file };
  }
  if (env['KUBERNETES_SERVICE_HOST'] === undefined) return null;
  kc.loadFromCluster();
  return { kc, source: 'in-cluster service account' };
}
