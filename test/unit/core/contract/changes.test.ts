/**
 * spec.replaces and spec.removes (product.md "Changes to what is enforced"): parsed with
 * path-named problems, part of the revision, kept by to-json, and checked against the policies
 * in force by changeProblems (a missing target, a collision not named in replaces).
 */
import { describe, expect, it } from 'vitest';
import { formatProblems, type Problem } from '../../../../core/common/index.js';
import { changeFromFiles, changeProblems, contractToJson, parseContract, type Contract } from '../../../../core/contract/index.js';
import { parseNetworkPolicy, type NetworkPolicy } from '../../../../core/policy/index.js';

const manifest = (name: string, namespace = 'shop') => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec: { podSelector: {} } });
const np = (name: string, namespace = 'shop'): NetworkPolicy => {
  const r = parseNetworkPolicy(manifest(name, namespace), name);
  if (!r.ok) throw new Error(formatProblems(r.error));
  return r.value;
};

function doc(spec: Record<string, unknown>): Record<string, unknown> {
  return {
    apiVersion: 'rampart.dev/v1alpha1',
    kind: 'RampContract',
    metadata: { name: 'narrow' },
    spec: { policies: [manifest('allow-frontend')], rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'full', percent: 100, minDuration: '1m' }] }, ...spec },
  };
}

function parsed(spec: Record<string, unknown>): Contract {
  const r = parseContract(doc(spec));
  if (!r.ok) throw new Error(formatProblems(r.error));
  return r.value;
}

function problems(spec: Record<string, unknown>): string[] {
  const r = parseContract(doc(spec));
  if (r.ok) throw new Error('expected problems');
  return r.error.map((p: Problem) => `${p.path}: ${p.message}`);
}

describe('spec.replaces and spec.removes', () => {
  it('parses references with the kind defaulted, cluster-wide ones without a namespace', () => {
    const c = parsed({
      replaces: [{ namespace: 'shop', name: 'allow-frontend' }],
      removes: [{ kind: 'CiliumNetworkPolicy', namespace: 'shop', name: 'legacy' }, { kind: 'CiliumClusterwideNetworkPolicy', name: 'legacy-cluster' }],
    });
    expect(c.spec.replaces).toEqual([{ kind: 'NetworkPolicy', namespace: 'shop', name: 'allow-frontend' }]);
    expect(c.spec.removes).toEqual([
      { kind: 'CiliumNetworkPolicy', namespace: 'shop', name: 'legacy' },
      { kind: 'CiliumClusterwideNetworkPolicy', namespace: '', name: 'legacy-cluster' },
    ]);
    expect(parsed({}).spec.replaces).toEqual([]);
    expect(parsed({ replaces: null, removes: [] }).spec.removes).toEqual([]);
  });

  it('names every problem by its path', () => {
    expect(problems({ replaces: [{ namespace: 'shop', name: 'allow-api' }] })).toEqual([
      'spec.replaces[0]: shop/allow-api has no new text: spec.policies must hold the policy that replaces it (same kind, namespace and name), or name it in spec.removes',
    ]);
    expect(problems({ removes: [{ namespace: 'shop', name: 'allow-frontend' }] })).toEqual([
      'spec.removes[0]: shop/allow-frontend is also in spec.policies: a policy the contract rewrites belongs in spec.replaces',
    ]);
    expect(problems({ removes: [{ namespace: 'shop', name: 'old' }, { kind: 'NetworkPolicy', namespace: 'shop', name: 'old' }] })).toEqual(['spec.removes[1]: duplicate: shop/old is also named by spec.removes[0]']);
    expect(problems({ replaces: [{ namespace: 'shop', name: 'allow-frontend' }], removes: [{ namespace: 'shop', name: 'allow-frontend' }] })).toContain(
      'spec.removes[0]: duplicate: shop/allow-frontend is also named by spec.replaces[0]',
    );
    expect(problems({ removes: [{ name: 'x' }, { kind: 'CiliumClusterwideNetworkPolicy', namespace: 'shop', name: 'y' }, { kind: 'Pod', namespace: 'shop', name: 'z' }, { namespace: 'shop', name: 'Bad_Name', extra: 1 }] })).toEqual([
      'spec.removes[0].namespace: required: the namespace of the NetworkPolicy',
      'spec.removes[1].namespace: must not be set: a CiliumClusterwideNetworkPolicy has no namespace',
      'spec.removes[2].kind: must be one of "NetworkPolicy", "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", got "Pod"',
      'spec.removes[3].extra: unknown field (expected one of: kind, namespace, name)',
      expect.stringMatching(/^spec\.removes\[3\]\.name: /),
    ]);
    expect(problems({ replaces: 'shop/x' })).toEqual(['spec.replaces: expected a list of policy references ({kind, namespace, name})']);
  });

  it('a change to them is a new revision; a contract without them keeps the hash of its policies', () => {
    const plain = parsed({});
    const replacing = parsed({ replaces: [{ namespace: 'shop', name: 'allow-frontend' }] });
    const removing = parsed({ replaces: [{ namespace: 'shop', name: 'allow-frontend' }], removes: [{ namespace: 'shop', name: 'legacy' }] });
    expect(new Set([plain.policiesHash, replacing.policiesHash, removing.policiesHash]).size).toBe(3);
    // Spelling the default kind out is the same reference, so the same revision.
    expect(parsed({ replaces: [{ kind: 'NetworkPolicy', namespace: 'shop', name: 'allow-frontend' }] }).policiesHash).toBe(replacing.policiesHash);
    expect(plain.policiesHash).toBe(parsed({ replaces: [], removes: null }).policiesHash);
  });

  it('to-json keeps them (and leaves them out when empty); parsing it back gives the same contract', () => {
    const c = parsed({ replaces: [{ namespace: 'shop', name: 'allow-frontend' }], removes: [{ kind: 'CiliumClusterwideNetworkPolicy', name: 'legacy' }] });
    const json = contractToJson(c);
    expect(json.spec.replaces).toEqual([{ namespace: 'shop', name: 'allow-frontend' }]);
    expect(json.spec.removes).toEqual([{ kind: 'CiliumClusterwideNetworkPolicy', name: 'legacy' }]);
    const again = parseContract(json);
    expect(again.ok && again.value).toEqual(c);
    expect('replaces' in contractToJson(parsed({})).spec).toBe(false);
  });
});

describe('changeProblems: against the policies in force', () => {
  const spec = parsed({ replaces: [{ namespace: 'shop', name: 'allow-frontend' }], removes: [{ namespace: 'shop', name: 'legacy' }] }).spec;
  const id = (name: string) => ({ kind: 'NetworkPolicy', namespace: 'shop', name });

  it('none when every target exists', () => {
    expect(changeProblems(spec, [id('allow-frontend'), id('legacy'), id('other')])).toEqual([]);
  });

  it('a target that does not exist holds the contract, named by path', () => {
    expect(changeProblems(spec, [id('allow-frontend')])).toEqual([{ path: 'spec.removes[0]', message: 'shop/legacy does not exist: there is nothing in force to remove' }]);
    expect(changeProblems(spec, [{ kind: 'CiliumNetworkPolicy', namespace: 'shop', name: 'legacy' }, id('allow-frontend')]).map((p) => p.path)).toEqual(['spec.removes[0]']);
  });

  it('a policy colliding with an existing one not named in replaces is a problem (never a silent overwrite)', () => {
    const plain = parsed({}).spec;
    expect(changeProblems(plain, [id('allow-frontend')])).toEqual([
      { path: 'spec.policies[0]', message: 'shop/allow-frontend already exists and is not the contract\'s: name it in spec.replaces to rewrite it' },
    ]);
  });
});

describe('changeFromFiles: what evaluate and fix judge', () => {
  it('same-named policies are replacements; named targets come out of after; before is all of B', () => {
    const c = changeFromFiles([np('a'), np('new')], [], [{ kind: 'NetworkPolicy', namespace: 'shop', name: 'gone' }], [np('a'), np('gone'), np('kept')]);
    expect(c.problems).toEqual([]);
    expect(c.replaced).toEqual(['shop/a']);
    expect(c.implicit).toEqual(['shop/a']);
    expect(c.removed).toEqual(['shop/gone']);
    expect(c.change.baseline.map((p) => p.name)).toEqual(['a', 'gone', 'kept']);
    expect(c.change.removed?.map((r) => r.name).sort()).toEqual(['a', 'gone']);
  });

  it('a target missing from the baseline is a problem', () => {
    const c = changeFromFiles([np('a')], [{ kind: 'NetworkPolicy', namespace: 'shop', name: 'a' }], [], [np('other')]);
    expect(c.problems.map((p) => p.message)).toEqual(['shop/a does not exist: there is nothing in force to replace in the --baseline policies']);
  });
});
