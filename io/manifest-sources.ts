/**
 * Which files a `--manifests`/`--policies` target stands for, the way people keep manifests:
 * a file; a folder of YAML/JSON (recursively, in name order); a kustomization
 * (`kustomization.yaml` in the folder: its `resources`, files or folders with their own
 * kustomization, and its `namespace`, which kustomize sets on every object); never a Helm
 * chart (`Chart.yaml`), whose templates are not YAML until `helm template` renders them. What
 * a kustomization does beyond resources and namespace (patches, images, generators) is not
 * applied here, and each such field is named in a warning.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { parse } from 'yaml';
import { err, ok, type Problem, type Result } from '../core/common/index.js';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;
const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'] as const;
/** Fields of a kustomization read here; every other one is named as not applied. */
const READ_FIELDS = new Set(['apiVersion', 'kind', 'resources', 'bases', 'namespace']);
/** Bound on nested kustomizations (a resource folder with its own kustomization, and so on). */
const MAX_DEPTH = 16;

export interface ManifestSource {
  readonly file: string;
  /** The namespace a kustomization sets on this file's objects, or null. */
  readonly namespace: string | null;
}

export interface ManifestSources {
  readonly sources: readonly ManifestSource[];
  /** Non-fatal findings (kustomization fields not applied, remote resources not read). */
  readonly warnings: readonly Problem[];
}

const isManifest = (name: string): boolean => !name.startsWith('.') && MANIFEST_EXTENSIONS.some((x) => name.endsWith(x));

async function isDirectory(path: string): Promise<Result<boolean, Problem[]>> {
  try {
    return ok((await stat(path)).isDirectory());
  } catch (e) {
    return err([{ path, message: `cannot read: ${e instanceof Error ? e.message : String(e)}` }]);
  }
}

async function kustomizationIn(folder: string): Promise<string | null> {
  for (const name of KUSTOMIZATION_FILES) {
    const f = join(folder, name);
    try {
      if ((await stat(f)).isFile()) return f;
    } catch {
      // not this name
    }
  }
  return null;
}

/** Files under `target` (itself when it is a file), as the target's shape says. */
export async function manifestSources(target: string): Promise<Result<ManifestSources, Problem[]>> {
  const dir = await isDirectory(target);
  if (!dir.ok) return dir;
  if (!dir.value) return ok({ sources: [{ file: target, namespace: null }], warnings: [] });
  const entries = await readdir(target, { recursive: true, withFileTypes: true });
  const chart = entries.find((e) => e.isFile() && e.name === 'Chart.yaml');
  if (chart !== undefined) {
    const at = join(chart.parentPath, chart.name);
    return err([{ path: at, message: `${dirname(at)} is a Helm chart (Chart.yaml): its templates are not manifests until rendered; run \`helm template ${dirname(at)}\` and pass its output` }]);
  }
  const kustomization = await kustomizationIn(target);
  if (kustomization !== null) {
    const warnings: Problem[] = [];
    const sources: ManifestSource[] = [];
    const problems: Problem[] = [];
    await readKustomization(kustomization, null, 0, sources, warnings, problems);
    if (problems.length > 0) return err(problems);
    const listed = new Set(sources.map((s) => s.file));
    const unlisted = entries.filter((e) => e.isFile() && isManifest(e.name) && !KUSTOMIZATION_FILES.some((k) => k === e.name) && !listed.has(join(e.parentPath, e.name)));
    warnings.unshift({
      path: kustomization,
      message: `read as a kustomization: ${sources.length} resource file${sources.length === 1 ? '' : 's'}${unlisted.length > 0 ? `; ${unlisted.length} file${unlisted.length === 1 ? '' : 's'} it does not list ${unlisted.length === 1 ? 'is' : 'are'} left out` : ''}`,
    });
    if (sources.length === 0) return err([{ path: kustomization, message: 'expected resources (files or folders) to read, found none' }]);
    return ok({ sources, warnings });
  }
  const files = entries
    .filter((e) => e.isFile() && isManifest(e.name))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  if (files.length === 0) return err([{ path: target, message: 'expected .yaml, .yml or .json files in this folder, found none' }]);
  return ok({ sources: files.map((file) => ({ file, namespace: null })), warnings: [] });
}

async function readKustomization(file: string, outerNamespace: string | null, depth: number, sources: ManifestSource[], warnings: Problem[], problems: Problem[]): Promise<void> {
  if (depth > MAX_DEPTH) {
    problems.push({ path: file, message: `kustomizations nested more than ${MAX_DEPTH} deep` });
    return;
  }
  let doc: unknown;
  try {
    doc = parse(await readFile(file, 'utf8'), { maxAliasCount: 100 });
  } catch (e) {
    problems.push({ path: file, message: `expected a kustomization (YAML): ${e instanceof Error ? e.message.split('\n')[0] : String(e)}` });
    return;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problems.push({ path: file, message: 'expected a kustomization (a YAML mapping with resources)' });
    return;
  }
  const k = doc as Record<string, unknown>;
  for (const key of Object.keys(k)) {
    if (!READ_FIELDS.has(key)) warnings.push({ path: file, message: `${key} is not applied (run \`kubectl kustomize\` first for the rendered objects)` });
  }
  // The outermost kustomization's namespace wins, as kustomize applies it last.
  const namespace = outerNamespace ?? (typeof k['namespace'] === 'string' && k['namespace'] !== '' ? k['namespace'] : null);
  const folder = dirname(file);
  const resources = [...(Array.isArray(k['resources']) ? k['resources'] : []), ...(Array.isArray(k['bases']) ? k['bases'] : [])];
  for (const r of resources) {
    if (typeof r !== 'string' || r === '') {
      problems.push({ path: file, message: `resources: expected file or folder names, got ${JSON.stringify(r)}` });
      continue;
    }
    if (/^[a-z]+:\/\//i.test(r) || r.startsWith('github.com/')) {
      warnings.push({ path: file, message: `resource ${r} is remote and not read (run \`kubectl kustomize\` first)` });
      continue;
    }
    const path = join(folder, r);
    const d = await isDirectory(path);
    if (!d.ok) {
      problems.push({ path: file, message: `resource ${r}: ${d.error[0]!.message}` });
      continue;
    }
    if (!d.value) {
      sources.push({ file: path, namespace });
      continue;
    }
    const inner = await kustomizationIn(path);
    if (inner === null) {
      problems.push({ path: file, message: `resource ${relative(folder, path) || r}: a folder needs its own kustomization.yaml (as kustomize requires)` });
      continue;
    }
    await readKustomization(inner, namespace, depth + 1, sources, warnings, problems);
  }
}
