/**
 * Loads policies from files for `rampart evaluate` (product.md "Interfaces"): a file or a
 * folder (recursively, `.yaml`/`.yml`/`.json`, in name order) of YAML/JSON documents, each a
 * NetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, a `List` (or any `…List`
 * with `items`), or a RampContract whose `spec.policies` are used, with its `spec.replaces` /
 * `spec.removes` (checked as the contract parser checks them). Every problem names file,
 * line, document and field path; NetworkPolicies Cilium enforces differently from the upstream
 * text get a warning naming them (core/policy ciliumDepartures). Unknown fields (a
 * NetworkPolicy's, and a contract's own) are warnings as kubectl prints them, or problems with
 * `strict`; namespaced policies without a namespace take `--namespace` when given, else
 * `default` with one summary warning for all of them.
 */
import { err, ok, isObject, ProblemSink, type Problem, type RawObject, type Result } from '../core/common/index.js';
import { parseContract, readSpecChanges, unknownNetworkPolicyFields } from '../core/contract/index.js';
import { CILIUM_KINDS, ciliumDepartures, parsePolicy, policyKey, policyRef, type Policy, type PolicyIdentity } from '../core/policy/index.js';
import { manifestSources } from './manifest-sources.js';
import { readYamlDocuments, type YamlDocument } from './yaml-documents.js';

export interface PolicyLoadOptions {
  /** The namespace of policies that name none (`--namespace`); else `default`, with a warning. */
  readonly namespace?: string | null;
  /** Unknown fields are problems, not warnings (`--strict`, kubectl's `--validate=strict`). */
  readonly strict?: boolean;
}

export interface LoadedPolicies {
  readonly policies: readonly Policy[];
  /** Non-fatal findings (defaulted namespace, skipped kinds, duplicates), each at `file:line`. */
  readonly warnings: readonly Problem[];
  /** The files read, in order. */
  readonly files: readonly string[];
  /** What RampContract documents replace and remove (spec.replaces / spec.removes), in file order. */
  readonly replaces: readonly PolicyIdentity[];
  readonly removes: readonly PolicyIdentity[];
}

/** The policy with the namespace a kustomization sets, or `fallback` when it names none. */
function withNamespace(raw: unknown, kustomized: string | null, fallback: string | null): unknown {
  if (!isObject(raw) || (kustomized === null && fallback === null)) return raw;
  const metadata = isObject(raw['metadata']) ? raw['metadata'] : {};
  const own = metadata['namespace'];
  if (kustomized === null && typeof own === 'string' && own !== '') return raw;
  return { ...raw, metadata: { ...metadata, namespace: kustomized ?? fallback } };
}

const compareRefs = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

interface Collector {
  readonly policies: Policy[];
  readonly problems: Problem[];
  readonly warnings: Problem[];
  readonly seen: Map<string, string>;
  readonly options: PolicyLoadOptions;
  /** Where each policy without a namespace is, for the one summary warning. */
  readonly defaulted: string[];
  /** The namespace a kustomization sets on the file being read, or null. */
  namespace: string | null;
  readonly replaces: PolicyIdentity[];
  readonly removes: PolicyIdentity[];
  /** While a RampContract's spec.policies are read: the policies it holds. */
  contractPolicies: Policy[] | null;
}

/** An unknown field: a warning, or a problem under `strict`. */
function addUnknown(c: Collector, found: readonly Problem[], where: (path: string) => string, what: (path: string, message: string) => string): void {
  for (const p of found) (c.options.strict === true ? c.problems : c.warnings).push({ path: where(p.path), message: what(p.path, p.message) });
}

function addPolicy(c: Collector, given: unknown, fieldPath: string, file: string, doc: YamlDocument): void {
  const where = (path: string): string => `${file}:${doc.lineOf(path)}`;
  const what = (path: string, message: string): string => `document ${doc.index}${path ? `, ${path}` : ''}: ${message}`;
  const kind = isObject(given) ? given['kind'] : undefined;
  if (kind === 'NetworkPolicy') addUnknown(c, unknownNetworkPolicyFields(given, fieldPath), where, what);
  // A CiliumClusterwideNetworkPolicy is cluster-scoped: no namespace to default.
  const raw = kind === 'CiliumClusterwideNetworkPolicy' ? given : withNamespace(given, c.namespace, c.options.namespace ?? null);
  const r = parsePolicy(raw, fieldPath);
  if (!r.ok) {
    for (const p of r.error) c.problems.push({ path: where(p.path), message: what(p.path, p.message) });
    return;
  }
  const policy = r.value;
  const defaulted = 'namespaceDefaulted' in policy && policy.namespaceDefaulted === true;
  // A missing namespace is said once for all policies (a folder of 13 files is one finding).
  for (const w of policy.warnings ?? []) if (!(defaulted && w.path.endsWith('metadata.namespace'))) c.warnings.push({ path: where(w.path), message: what(w.path, w.message) });
  for (const w of ciliumDepartures([policy], () => fieldPath)) c.warnings.push({ path: where(w.path), message: what(w.path, w.message) });
  if (defaulted) c.defaulted.push(where(fieldPath));
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
  c.contractPolicies?.push(policy);
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
    else if (kind === 'RampContract') {
      // The contract's own unknown fields (spec.gates.maxWouldDenny), as the control plane would refuse them.
      const own = parseContract(item);
      if (!own.ok) addUnknown(c, own.error.filter((p) => p.message.startsWith('unknown field') && !p.path.startsWith('spec.policies')).map((p) => ({ path: `${prefix}${p.path}`, message: p.message })), at, (path, message) => `document ${doc.index}, ${path}: ${message}`);
      addContract(prefix, isObject(item['spec']) ? item['spec'] : undefined);
    }
    else if (typeof kind === 'string' && kind.endsWith('List') && item['items'] !== undefined) items(item['items'], `${prefix}items`);
    else if (typeof kind === 'string') {
      c.warnings.push({ path: at(path), message: `document ${doc.index}${path ? `, ${path}` : ''}: skipped a ${kind} (only NetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy, List and RampContract are read)` });
    } else {
      c.problems.push({ path: at(path), message: `document ${doc.index}${path ? `, ${path}` : ''}: expected a kind (NetworkPolicy, List or RampContract)` });
    }
  };
  const addContract = (prefix: string, spec: RawObject | undefined): void => {
    const problemsBefore = c.problems.length;
    c.contractPolicies = [];
    items(spec?.['policies'], `${prefix}spec.policies`);
    const written = c.contractPolicies;
    c.contractPolicies = null;
    if (spec === undefined) return;
    const sink = new ProblemSink();
    const changes = readSpecChanges(sink, spec, c.problems.length > problemsBefore ? undefined : written);
    for (const p of sink.problems) c.problems.push({ path: at(`${prefix}${p.path}`), message: `document ${doc.index}, ${prefix}${p.path}: ${p.message}` });
    if (changes !== undefined) {
      c.replaces.push(...changes.replaces);
      c.removes.push(...changes.removes);
    }
  };
  if (Array.isArray(value)) items(value, '');
  else addItem('', value);
}

/** Loads every policy under `target`; all problems of all files are collected, not just the first. */
export async function loadPolicyManifests(target: string, options: PolicyLoadOptions = {}): Promise<Result<LoadedPolicies, Problem[]>> {
  const found = await manifestSources(target);
  if (!found.ok) return found;
  const c: Collector = { policies: [], problems: [], warnings: [...found.value.warnings], seen: new Map(), options, defaulted: [], namespace: null, replaces: [], removes: [], contractPolicies: null };
  const files = found.value.sources.map((s) => s.file);
  for (const { file, namespace } of found.value.sources) {
    c.namespace = namespace;
    const docs = await readYamlDocuments(file);
    if (!docs.ok) {
      c.problems.push(...docs.error);
      continue;
    }
    for (const doc of docs.value) addDocument(c, file, doc);
  }
  if (c.problems.length > 0) return err(c.problems);
  const d = c.defaulted.length;
  if (d > 0) c.warnings.push({ path: c.defaulted[0]!, message: `${d} ${d === 1 ? 'policy has' : 'policies have'} no metadata.namespace; taken to be in "default" (set it with --namespace)` });
  if (c.policies.length === 0) c.warnings.push({ path: target, message: 'no NetworkPolicy or Cilium policy found: every flow is allowed' });
  // Sorted by namespace/name so verdicts list policies the same way whatever the file layout.
  const policies = [...c.policies].sort((a, b) => compareRefs(policyRef(a), policyRef(b)));
  return ok({ policies, warnings: c.warnings, files, replaces: c.replaces, removes: c.removes });
}

