/**
 * Kubernetes objects from YAML/JSON files, a folder of them or a kustomization
 * (io/manifest-sources: `kubectl get -o json` Lists, multi-document YAML), flattened, each
 * with the file and line it came from, for the authoring commands (`--pods`, `--manifests`).
 * Kinds are not checked here: callers pick the kinds they read and say which they skipped.
 *
 * Namespaces are settled here, once: a kustomization's `namespace` is set on every namespaced
 * object; else `--namespace` (the namespace the app is deployed to, as `kubectl apply -n`)
 * fills in a missing one; objects still without one are counted in one summary warning (they
 * are taken to be in `default`). The same object defined twice is warned about and the later
 * definition kept, as `kubectl apply` of both files would leave it.
 */
import { err, ok, type Problem, type Result } from '../core/common/index.js';
import { manifestSources } from './manifest-sources.js';
import { readYamlDocuments } from './yaml-documents.js';

export interface KubeObject {
  readonly value: Record<string, unknown>;
  readonly kind: string;
  /** `file:line`. */
  readonly where: string;
}

export interface KubeObjects {
  readonly objects: readonly KubeObject[];
  /** Non-fatal findings: kustomization fields not applied, duplicates, defaulted namespaces. */
  readonly warnings: readonly Problem[];
}

export interface KubeObjectOptions {
  /** The namespace for objects that name none (`--namespace`). */
  readonly namespace?: string | null;
}

/** Kinds that have no namespace: never given one, never counted as missing one. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'Node',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'StorageClass',
  'PriorityClass',
  'IngressClass',
  'RuntimeClass',
  'MutatingWebhookConfiguration',
  'ValidatingWebhookConfiguration',
  'APIService',
  'CiliumClusterwideNetworkPolicy',
  'RampContract',
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function withNamespace(o: Record<string, unknown>, namespace: string): Record<string, unknown> {
  const metadata = isObject(o['metadata']) ? o['metadata'] : {};
  return { ...o, metadata: { ...metadata, namespace } };
}

export async function loadKubeObjects(target: string, options: KubeObjectOptions = {}): Promise<Result<KubeObjects, Problem[]>> {
  const found = await manifestSources(target);
  if (!found.ok) return found;
  const out: KubeObject[] = [];
  const problems: Problem[] = [];
  const warnings: Problem[] = [...found.value.warnings];
  const byRef = new Map<string, number>();
  let defaulted = 0;
  for (const { file, namespace: kustomized } of found.value.sources) {
    const docs = await readYamlDocuments(file);
    if (!docs.ok) {
      problems.push(...docs.error);
      continue;
    }
    for (const doc of docs.value) {
      const visit = (v: unknown, path: string): void => {
        if (v === null || v === undefined) return;
        const where = `${file}:${doc.lineOf(path)}`;
        if (!isObject(v)) {
          problems.push({ path: where, message: `document ${doc.index}${path ? `, ${path}` : ''}: expected a Kubernetes object` });
          return;
        }
        const kind = v['kind'];
        if (typeof kind === 'string' && kind.endsWith('List') && Array.isArray(v['items'])) {
          (v['items'] as unknown[]).forEach((item, i) => {
            visit(item, `${path === '' ? '' : `${path}.`}items[${i}]`);
          });
          return;
        }
        if (typeof kind !== 'string') {
          problems.push({ path: where, message: `document ${doc.index}${path ? `, ${path}` : ''}: expected a kind` });
          return;
        }
        let value = v;
        const metadata = isObject(v['metadata']) ? v['metadata'] : {};
        if (!CLUSTER_SCOPED.has(kind)) {
          const own = typeof metadata['namespace'] === 'string' && metadata['namespace'] !== '' ? metadata['namespace'] : null;
          if (kustomized !== null) value = withNamespace(v, kustomized);
          else if (own === null && options.namespace != null) value = withNamespace(v, options.namespace);
          else if (own === null) defaulted++;
        }
        const name = typeof metadata['name'] === 'string' ? metadata['name'] : null;
        if (name !== null) {
          const m = value['metadata'] as Record<string, unknown>;
          const ref = `${kind} ${typeof m['namespace'] === 'string' ? `${m['namespace']}/` : CLUSTER_SCOPED.has(kind) ? '' : 'default/'}${name}`;
          const earlier = byRef.get(ref);
          if (earlier !== undefined) {
            warnings.push({ path: where, message: `${ref} is defined again (first at ${out[earlier]!.where}); the later definition is used` });
            out[earlier] = { value, kind, where };
            return;
          }
          byRef.set(ref, out.length);
        }
        out.push({ value, kind, where });
      };
      visit(doc.value, '');
    }
  }
  if (problems.length > 0) return err(problems);
  if (defaulted > 0) {
    warnings.push({ path: target, message: `${defaulted} object${defaulted === 1 ? ' has' : 's have'} no metadata.namespace; taken to be in "default" (set it with --namespace)` });
  }
  return ok({ objects: out, warnings });
}
