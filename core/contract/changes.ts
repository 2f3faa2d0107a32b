/**
 * `spec.replaces` and `spec.removes` (product.md "Changes to what is enforced"): the policies
 * already in force that a contract rewrites (its new text is in spec.policies) or deletes.
 * Read and checked here, with every problem named by its field path; the checks that need the
 * cluster's policies (a target that does not exist, a policy of spec.policies that collides
 * with an existing one not named in replaces) are `changeProblems`, run where the baseline is
 * known. The rules match the CRD schema (deploy/crds/rampcontracts.yaml).
 */
import { childPath, dns1123LabelError, dns1123SubdomainError, readObject, readOneOf, readString, rejectUnknownKeys, type Problem, type ProblemSink } from '../common/index.js';
import { formatIdentity, identityKey, identityOf, NETWORK_POLICY_KIND, type Policy, type PolicyIdentity } from '../policy/index.js';
import { CONTRACT_LIMITS } from './limits.js';

/** The kinds `replaces` and `removes` may name (Cilium enforces all three together). */
export const CHANGEABLE_KINDS = [NETWORK_POLICY_KIND, 'CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'] as const;
/** The one cluster-wide kind: it has no namespace. */
const CLUSTERWIDE_KIND = 'CiliumClusterwideNetworkPolicy';
const REF_KEYS = ['kind', 'namespace', 'name'];

/** One `replaces`/`removes` entry, or undefined after reporting what is wrong with it. */
function readRef(sink: ProblemSink, value: unknown, path: string): PolicyIdentity | undefined {
  const ref = readObject(sink, value, path, true);
  if (!ref) return undefined;
  const before = sink.problems.length;
  rejectUnknownKeys(sink, ref, path, REF_KEYS);
  const kind = ref['kind'] == null ? NETWORK_POLICY_KIND : readOneOf(sink, ref['kind'], childPath(path, 'kind'), CHANGEABLE_KINDS);
  const name = readString(sink, ref['name'], childPath(path, 'name'));
  if (name !== undefined) {
    const bad = dns1123SubdomainError(name);
    if (bad !== undefined) sink.add(childPath(path, 'name'), bad);
  }
  let namespace = '';
  if (kind === CLUSTERWIDE_KIND) {
    if (ref['namespace'] != null) sink.add(childPath(path, 'namespace'), 'must not be set: a CiliumClusterwideNetworkPolicy has no namespace');
  } else if (ref['namespace'] == null) {
    sink.add(childPath(path, 'namespace'), `required: the namespace of the ${kind ?? 'policy'}`);
  } else {
    namespace = readString(sink, ref['namespace'], childPath(path, 'namespace')) ?? '';
    const bad = dns1123LabelError(namespace);
    if (bad !== undefined) sink.add(childPath(path, 'namespace'), bad);
  }
  if (sink.problems.length > before || kind === undefined || name === undefined) return undefined;
  return { kind, namespace, name };
}

/** A `replaces` or `removes` list; absent or null is empty. */
function readRefs(sink: ProblemSink, value: unknown, path: string): PolicyIdentity[] | undefined {
  if (value == null) return [];
  if (!Array.isArray(value)) {
    sink.add(path, 'expected a list of policy references ({kind, namespace, name})');
    return undefined;
  }
  if (value.length > CONTRACT_LIMITS.changes) sink.add(path, `must have at most ${CONTRACT_LIMITS.changes} entries, got ${value.length}`);
  const before = sink.problems.length;
  const refs = (value as readonly unknown[]).map((v, i) => readRef(sink, v, childPath(path, i)));
  return sink.problems.length > before ? undefined : (refs as PolicyIdentity[]);
}

export interface SpecChanges {
  readonly replaces: readonly PolicyIdentity[];
  readonly removes: readonly PolicyIdentity[];
}

/**
 * Reads `spec.replaces` and `spec.removes` and checks them against each other and against
 * spec.policies (`policies`: the parsed ones; undefined when they had problems): no entry
 * twice, a replaced policy's new text in spec.policies, a removed one not in it.
 */
export function readSpecChanges(sink: ProblemSink, spec: Readonly<Record<string, unknown>>, policies: readonly Policy[] | undefined): SpecChanges | undefined {
  const replaces = readRefs(sink, spec['replaces'], 'spec.replaces');
  const removes = readRefs(sink, spec['removes'], 'spec.removes');
  if (replaces === undefined || removes === undefined) return undefined;
  const before = sink.problems.length;
  const seen = new Map<string, string>();
  const written = new Set((policies ?? []).map((p) => identityKey(identityOf(p))));
  const check = (list: readonly PolicyIdentity[], field: 'replaces' | 'removes'): void => {
    list.forEach((id, i) => {
      const path = `spec.${field}[${i}]`;
      const key = identityKey(id);
      const first = seen.get(key);
      if (first !== undefined) sink.add(path, `duplicate: ${formatIdentity(id)} is also named by ${first}`);
      else seen.set(key, path);
      if (policies === undefined) return;
      if (field === 'replaces' && !written.has(key)) {
        sink.add(path, `${formatIdentity(id)} has no new text: spec.policies must hold the policy that replaces it (same kind, namespace and name), or name it in spec.removes`);
      }
      if (field === 'removes' && written.has(key)) {
        sink.add(path, `${formatIdentity(id)} is also in spec.policies: a policy the contract rewrites belongs in spec.replaces`);
      }
    });
  };
  check(replaces, 'replaces');
  check(removes, 'removes');
  return sink.problems.length > before ? undefined : { replaces, removes };
}

/**
 * The problems of a contract's change against the policies in force (`existing`: the
 * identities of the baseline it is judged against, i.e. every policy it did not write):
 * a `replaces`/`removes` target that does not exist, and a policy of spec.policies that
 * collides with an existing one without being named in `replaces` (never a silent overwrite).
 * Either holds the contract.
 */
export function changeProblems(
  spec: { readonly policies: readonly Policy[]; readonly replaces: readonly PolicyIdentity[]; readonly removes: readonly PolicyIdentity[] },
  existing: Iterable<PolicyIdentity>,
): Problem[] {
  const inForce = new Set<string>();
  for (const id of existing) inForce.add(identityKey(id));
  const problems: Problem[] = [];
  const missing = (list: readonly PolicyIdentity[], field: string): void => {
    list.forEach((id, i) => {
      if (!inForce.has(identityKey(id))) problems.push({ path: `spec.${field}[${i}]`, message: `${formatIdentity(id)} does not exist: there is nothing in force to ${field === 'replaces' ? 'replace' : 'remove'}` });
    });
  };
  missing(spec.replaces, 'replaces');
  missing(spec.removes, 'removes');
  const replaced = new Set(spec.replaces.map(identityKey));
  spec.policies.forEach((p, i) => {
    const id = identityOf(p);
    const key = identityKey(id);
    if (inForce.has(key) && !replaced.has(key)) {
      problems.push({ path: `spec.policies[${i}]`, message: `${formatIdentity(id)} already exists and is not the contract's: name it in spec.replaces to rewrite it` });
    }
  });
  return problems;
}
