/**
 * Kubernetes objects from YAML/JSON files or a folder of them (`kubectl get -o json` Lists,
 * multi-document YAML), flattened, each with the file and line it came from, for the
 * authoring commands (`--pods`, `--manifests`). Kinds are not checked here: callers pick the
 * kinds they read and say which they skipped.
 */
import { err, ok, type Problem, type Result } from '../core/common/index.js';
import { listManifestFiles } from './manifest-files.js';
import { readYamlDocuments } from './yaml-documents.js';

export interface KubeObject {
  readonly value: Record<string, unknown>;
  readonly kind: string;
  /** `file:line`. */
  readonly where: string;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function loadKubeObjects(target: string): Promise<Result<KubeObject[], Problem[]>> {
  const files = await listManifestFiles(target);
  if (!files.ok) return files;
  const out: KubeObject[] = [];
  const problems: Problem[] = [];
  for (const file of files.value) {
    const docs = await readYamlDocuments(file);
    if (!docs.ok) {
      problems.push(...docs.error);
      continue;
    }
    for (const doc of docs.value) {
      const visit = (v: unknown, path: string): void => {
        if (v === null || v === undefined) return;
        if (!isObject(v)) {
          problems.push({ path: `${file}:${doc.lineOf(path)}`, message: `document ${doc.index}${path ? `, ${path}` : ''}: expected a Kubernetes object` });
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
          problems.push({ path: `${file}:${doc.lineOf(path)}`, message: `document ${doc.index}${path ? `, ${path}` : ''}: expected a kind` });
          return;
        }
        out.push({ value: v, kind, where: `${file}:${doc.lineOf(path)}` });
      };
      visit(doc.value, '');
    }
  }
  if (problems.length > 0) return err(problems);
  return ok(out);
}
