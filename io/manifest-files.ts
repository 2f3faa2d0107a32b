/**
 * Loads policies from files for `rampart evaluate` (product.md "Interfaces"): a file or a
 * folder (recursively, `.yaml`/`.yml`/`.json`, in name order) of YAML/JSON documents, each a
 * NetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, a `List` (or any `…List`
 * with `items`), or a RampContract whose `spec.policies` are used. Every problem names file,
 * line, document and field path; NetworkPolicies Cilium enforces differently from the upstream
 * text get a warning naming them (core/policy ciliumDepartures).
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { err, ok, isObject, type Problem, type Result } from '../core/common/index.js';
import { CILIUM_KINDS, ciliumDepartures, parsePolicy, policyKey, policyRef, splitByKind, type NetworkPolicy, type Policy } from '../core/policy/index.js';
import { readYamlDocuments, type YamlDocument } from './yaml-documents.js';

const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'] as const;

export interface LoadedPolicies {
  readonly policies: readonly Policy[];
  /** Non-fatal findings (defaulted namespace, skipped kinds, duplicates), each at `file:line`. */
  readonly warnings: readonly Problem[];
  /** The files read, in order. */
  readonly files: readonly string[];
}

/** Manifest files under `target` (itself when it is a file), sorted by path. */
export async function listManifestFiles(target: string): Promise<Result<string[], Problem[]>> {
  let info;
  try {
    info = await stat(target);
  } catch (e) {
    return err([{ path: target, message: `cannot read: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  if (!info.isDirectory()) return ok([target]);
  const entries = await readdir(target, { recursive: true, withFileTypes: true });
  const files = entries
    .filter((e) => e.isFile() && !e.name.startsWith('.') && MANIFEST_EXTENSIONS.some((x) => e.name.endsWith(x)))
    .map((e) => join(e.parentPath, e.name))
    .sort();
  if (files.length === 0) return err([{ path: target, message: `expected .yaml, .yml or .json files in this folder, found none` }]);
  return ok(files);
}

const compareRefs = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Collector {
  readonly policies: Policy[];
  readonly problems: Problem[];
  readonly warnings: Problem[];
  readonly seen: Map<string, string>;
}

function addPolicy(c: Collector, raw: unknown, fieldPath: string, file: string, doc: YamlDocument): void {
  const where = (path: string): string => `${file}:${doc.lineOf(path)}`;
  const what = (path: string, message: string): string => `document ${doc.index}${path ? `, ${path}` : ''}: ${message}`;
  const r = parsePolicy(raw, fieldPath);
  if (!r.ok) {
    for (const p of r.error) c.problems.push({ path: where(p.path), message: what(p.path, p.message) });
    return;
  }
  const policy = r.value;
  for (const w of policy.warnings ?? []) c.warnings.push({ path: where(w.path), message: what(w.path, w.message) });
  for (const w of ciliumDepartures([policy], () => fieldPath)) c.warnings.push({ path: where(w.path), message: what(w.path, w.message) });
  if ('namespaceDefaulted' in policy && policy.namespaceDefaulted === true && !(policy.warnings ?? []).some((w) => w.path.endsWith('metadata.namespace'))) {
    c.warnings.push({ path: where(fieldPath), message: what(fieldPath, `${policy.name} has no metadata.namespace; using "default"`) });
  }
  const ref = policyRef(policy);
  const key = policyKey(policy);
  const earlier = c.seen.get(key);
  if (earlier !== undefined) {
    // Kubernetes keeps one object per kind and name: the later manifest replaces the earlier, as `kubectl apply` would.
    c.warnings.push({ path: where(fieldPath), message: what(fieldPath, `${ref} is defined again (first at ${earlier}); the later definition is used`) });
    const i = c.policies.findIndex((p) => policyKey(p) === key);
    c.policies.splice(i, 1);
  }
  c.seen.set(key, where(fieldPath));
  c.policies.push(policy);
}

function addDocument(c: Collector, file: string, doc: YamlDocument): void {
  const value = doc.value;
  const at = (path: string): string => `${file}:${doc.lineOf(path)}`;
  const items = (list: unknown, path: string): void => {
    if (!Array.isArray(list)) {
      c.problems.push({ path: at(path), message: `document ${doc.index}, ${path}: expected a list of manifests` });
      return;
    }
    list.forEach((item: unknown, i) => {
      addItem(`${path}[${i}]`, item);
    });
  };
  const addItem = (path: string, item: unknown): void => {
    if (!isObject(item)) {
      c.problems.push({ path: at(path), message: `document ${doc.index}${path ? `, ${path}` : ''}: expected a NetworkPolicy, CiliumNetworkPolicy, List or RampContract object` });
      return;
    }
    const kind = item['kind'];
    const prefix = path === '' ? '' : `${path}.`;
    if (kind === 'NetworkPolicy' || (CILIUM_KINDS as readonly unknown[]).includes(kind)) addPolicy(c, item, path, file, doc);
    else if (kind === 'RampContract') items(isObject(item['spec']) ? item['spec']['policies'] : undefined, `${prefix}spec.policies`);
    else if (typeof kind === 'string' && kind.endsWith('List') && item['items'] !== undefined) items(item['items'], `${prefix}items`);
    else if (typeof kind === 'string') {
      c.warnings.push({ path: at(path), message: `document ${doc.index}${path ? `, ${path}` : ''}: skipped a ${kind} (only NetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, List and RampContract are read)` });
    } else {
      c.problems.push({ path: at(path), message: `document ${doc.index}${path ? `, ${path}` : ''}: expected a kind (NetworkPolicy, List or RampContract)` });
    }
  };
  if (Array.isArray(value)) items(value, '');
  else addItem('', value);
}

/** Loads every policy under `target`; all problems of all files are collected, not just the first. */
export async function loadPolicyManifests(target: string): Promise<Result<LoadedPolicies, Problem[]>> {
  const files = await listManifestFiles(target);
  if (!files.ok) return files;
  const c: Collector = { policies: [], problems: [], warnings: [], seen: new Map() };
  for (const file of files.value) {
    const docs = await readYamlDocuments(file);
    if (!docs.ok) {
      c.problems.push(...docs.error);
      continue;
    }
    for (const doc of docs.value) addDocument(c, file, doc);
  }
  if (c.problems.length > 0) return err(c.problems);
  if (c.policies.length === 0) c.warnings.push({ path: target, message: 'no NetworkPolicy or Cilium policy found: every flow is allowed' });
  // Sorted by namespace/name so verdicts list policies the same way whatever the file layout.
  const policies = [...c.policies].sort((a, b) => compareRefs(policyRef(a), policyRef(b)));
  return ok({ policies, warnings: c.warnings, files: files.value });
}

/** The NetworkPolicies of a loaded set, and the refs of the Cilium policies left out (for commands that read NetworkPolicies only). */
export function onlyNetworkPolicies(policies: readonly Policy[]): { readonly policies: NetworkPolicy[]; readonly skipped: string[] } {
  const { network, cilium } = splitByKind(policies);
  return { policies: network, skipped: cilium.map(policyRef) };
}
