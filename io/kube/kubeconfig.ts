/**
 * The one kubeconfig loader: a kubeconfig file (--kubeconfig, else KUBECONFIG, as the
 * caller's config resolved it), else the in-cluster service account when this process runs
 * in a pod (KUBERNETES_SERVICE_HOST is set), else none. A kubectl plugin asks for kubectl's
 * own search instead, and may name the context (`--context`).
 */
import { KubeConfig } from '@kubernetes/client-node';

export interface LoadedKubeConfig {
  readonly kc: KubeConfig;
  /** Where it came from, for log lines: the file, or `in-cluster service account`. */
  readonly source: string;
}

export interface KubeConfigChoice {
  /**
   * With no file named, search as kubectl does (a kubectl plugin must reach the cluster kubectl
   * reaches): every file of KUBECONFIG (merged), else ~/.kube/config, else in-cluster.
   */
  readonly kubectlSearch?: boolean;
  /** The context to use instead of the kubeconfig's current-context (kubectl's --context). */
  readonly context?: string;
}

/**
 * null when there is no file and no cluster around; throws naming the file (or the context)
 * when it cannot be read. `kc`: the (possibly subclassed) KubeConfig to load into. `env` says
 * whether this process runs in a pod; kubectl's search reads the process's own KUBECONFIG
 * (client-node reads it there).
 */
export function loadKubeConfig(file: string | null, kc: KubeConfig = new KubeConfig(), env: NodeJS.ProcessEnv = process.env, choice: KubeConfigChoice = {}): LoadedKubeConfig | null {
  const loaded = loadFrom(file, kc, env, choice.kubectlSearch === true);
  if (loaded === null || choice.context === undefined || choice.context === '') return loaded;
  if (!kc.getContexts().some((c) => c.name === choice.context)) throw new Error(`no context named ${JSON.stringify(choice.context)} in the kubeconfig ${loaded.source}`);
  kc.setCurrentContext(choice.context);
  return loaded;
}

function loadFrom(file: string | null, kc: KubeConfig, env: NodeJS.ProcessEnv, kubectlSearch: boolean): LoadedKubeConfig | null {
  if (file !== null && file !== '') {
    try {
      kc.loadFromFile(file);
    } catch (e) {
      throw new Error(`cannot load kubeconfig ${file}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return { kc, source: file };
  }
  if (kubectlSearch) {
    // client-node's default search is kubectl's (it reads KUBECONFIG from the process itself).
    const source = process.env['KUBECONFIG'] || '~/.kube/config';
    try {
      kc.loadFromDefault();
    } catch (e) {
      throw new Error(`cannot load kubeconfig ${source}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    return { kc, source };
  }
  if (env['KUBERNETES_SERVICE_HOST'] === undefined) return null;
  kc.loadFromCluster();
  return { kc, source: 'in-cluster service account' };
}
