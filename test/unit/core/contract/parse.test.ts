import { describe, expect, it } from 'vitest';
import { formatProblems, type Problem } from '../../../../core/common/index.js';
import {
  DEFAULT_ADVANCE,
  DEFAULT_GATES,
  DEFAULT_ROLLBACK,
  contractToJson,
  parseContract,
  type Contract,
} from '../../../../core/contract/index.js';
import { invalidContracts, validContracts } from '../../../support/contract-fixtures.js';

const policy = (name: string, namespace = 'shop', spec: unknown = { podSelector: {} }) => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name, namespace },
  spec,
});

/** A valid contract document; tests override one part at a time. */
function aContract(spec: Record<string, unknown> = {}, top: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'rampart.dev/v1alpha1',
    kind: 'RampContract',
    metadata: { name: 'shop-lockdown' },
    spec: {
      policies: [policy('default-deny')],
      rollout: {
        strategy: 'percent',
        stages: [
          { name: 'monitor', minDuration: '30m' },
          { name: 'canary', percent: 10, minDuration: '1h' },
          { name: 'full', percent: 100, minDuration: '1h' },
        ],
      },
      ...spec,
    },
    ...top,
  };
}

function parsed(doc: unknown): Contract {
  const result = parseContract(doc);
  if (!result.ok) throw new Error(`expected the contract to parse:\n${formatProblems(result.error)}`);
  return result.value;
}

function problems(doc: unknown): Problem[] {
  const result = parseContract(doc);
  if (result.ok) throw new Error('expected problems, the contract parsed');
  return result.error;
}

describe('parseContract: fixtures', () => {
  it.each(validContracts().map((f) => [f.file, f] as const))('accepts %s', (_file, fixture) => {
    const contract = parsed(fixture.doc);
    expect(contract.spec.stages[0]!.kind).toBe('monitor');
    expect(contract.spec.policies.length).toBeGreaterThan(0);
  });

  it.each(invalidContracts().map((f) => [f.file, f] as const))('rejects %s with the expected problems', (_file, fixture) => {
    expect(fixture.expected.length, 'fixture lists `# expect:` lines').toBeGreaterThan(0);
    const found = problems(fixture.doc);
    for (const want of fixture.expected) {
      const match = found.find((p) => p.path === want.path && p.message.includes(want.messageIncludes));
      expect(match, `want ${want.path}: …${want.messageIncludes}… in\n${formatProblems(found)}`).toBeDefined();
    }
  });

  it('reports every problem of a document, not just the first', () => {
    const fixture = invalidContracts().find((f) => f.file.endsWith('many-problems.yaml'))!;
    const found = problems(fixture.doc);
    expect(new Set(found.map((p) => p.path)).size).toBeGreaterThanOrEqual(fixture.expected.length);
  });
});

describe('parseContract: document shape', () => {
  const cases: { name: string; doc: unknown; path: string; message: string }[] = [
    { name: 'not an object', doc: 'shop', path: '(document)', message: 'expected an object, got "shop"' },
    { name: 'a list', doc: [aContract()], path: '(document)', message: 'expected an object, got an array' },
    { name: 'wrong apiVersion', doc: aContract({}, { apiVersion: 'rampart.dev/v1' }), path: 'apiVersion', message: 'must be "rampart.dev/v1alpha1", got "rampart.dev/v1"' },
    { name: 'wrong kind', doc: aContract({}, { kind: 'NetworkPolicy' }), path: 'kind', message: 'must be "RampContract", got "NetworkPolicy"' },
    { name: 'missing metadata', doc: aContract({}, { metadata: undefined }), path: 'metadata', message: 'required' },
    { name: 'name too long', doc: aContract({}, { metadata: { name: 'a'.repeat(254) } }), path: 'metadata.name', message: 'must be no more than 253 characters, got 254' },
    { name: 'missing spec', doc: aContract({}, { spec: undefined }), path: 'spec', message: 'required' },
    { name: 'unknown top-level field', doc: aContract({}, { specs: {} }), path: 'specs', message: 'unknown field' },
    { name: 'unknown spec field', doc: aContract({ gate: {} }), path: 'spec.gate', message: 'unknown field' },
    { name: 'policies not a list', doc: aContract({ policies: policy('x') }), path: 'spec.policies', message: 'expected a list' },
    { name: 'policies missing', doc: aContract({ policies: undefined }), path: 'spec.policies', message: 'required' },
    {
      name: 'a policy twice',
      doc: aContract({ policies: [policy('a'), policy('b'), policy('a')] }),
      path: 'spec.policies[2].metadata',
      message: 'duplicate policy shop/a (also spec.policies[0])',
    },
    {
      name: 'a bad embedded policy keeps its full path',
      doc: aContract({ policies: [policy('a'), { ...policy('b'), kind: 'Pod' }] }),
      path: 'spec.policies[1].kind',
      message: 'NetworkPolicy',
    },
    { name: 'rollout missing', doc: aContract({ rollout: undefined }), path: 'spec.rollout', message: 'required' },
    { name: 'stages missing', doc: aContract({ rollout: { strategy: 'percent' } }), path: 'spec.rollout.stages', message: 'required' },
    { name: 'strategy missing', doc: aContract({ rollout: { stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'all', percent: 100, minDuration: '1m' }] } }), path: 'spec.rollout.strategy', message: 'required' },
    { name: 'percent as a string', doc: aContract({ rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'all', percent: '100', minDuration: '1m' }] } }), path: 'spec.rollout.stages[1].percent', message: 'expected an integer, got "100"' },
    { name: 'fractional percent', doc: aContract({ rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'some', percent: 12.5, minDuration: '1m' }, { name: 'all', percent: 100, minDuration: '1m' }] } }), path: 'spec.rollout.stages[1].percent', message: 'expected an integer, got 12.5' },
    { name: 'stage not an object', doc: aContract({ rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, 'all'] } }), path: 'spec.rollout.stages[1]', message: 'expected an object' },
    { name: 'negative duration', doc: aContract({ rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '-1m' }, { name: 'all', percent: 100, minDuration: '1m' }] } }), path: 'spec.rollout.stages[0].minDuration', message: 'expected a duration' },
    { name: 'zero report age', doc: aContract({ gates: { maxReportAge: '0s' } }), path: 'spec.gates.maxReportAge', message: 'must be greater than 0' },
    { name: 'gates not an object', doc: aContract({ gates: [1] }), path: 'spec.gates', message: 'expected an object, got an array' },
    { name: 'negative maxNewlyAllowed', doc: aContract({ gates: { maxNewlyAllowed: -1 } }), path: 'spec.gates.maxNewlyAllowed', message: 'at least 0' },
    { name: 'fractional maxNewlyAllowed', doc: aContract({ gates: { maxNewlyAllowed: 1.5 } }), path: 'spec.gates.maxNewlyAllowed', message: 'expected an integer, got 1.5' },
    { name: 'null minDuration is a missing one', doc: aContract({ rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: null }, { name: 'all', percent: 100, minDuration: '1m' }] } }), path: 'spec.rollout.stages[0].minDuration', message: 'required' },
    { name: 'unknown rollback field', doc: aContract({ rollback: { maxDenies: 3 } }), path: 'spec.rollback.maxDenies', message: 'unknown field' },
    { name: 'unknown rollback target', doc: aContract({ rollback: { to: 'canary' } }), path: 'spec.rollback.to', message: 'expected one of monitor, previous, got "canary"' },
    { name: 'unknown stage field', doc: aContract({ rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m', pct: 5 }, { name: 'all', percent: 100, minDuration: '1m' }] } }), path: 'spec.rollout.stages[0].pct', message: 'unknown field' },
    {
      name: 'too many except entries for the CRD',
      doc: aContract({ policies: [policy('a', 'shop', { podSelector: {}, policyTypes: ['Egress'], egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16', '10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16', '10.5.0.0/16', '10.6.0.0/16'] } }] }] })] }),
      path: 'spec.policies[0].spec.egress[0].to[0].ipBlock.except',
      message: 'must have at most 5 except entries',
    },
    {
      name: 'too many rules for the CRD',
      doc: aContract({ policies: [policy('a', 'shop', { podSelector: {}, ingress: Array.from({ length: 9 }, () => ({})) })] }),
      path: 'spec.policies[0].spec.ingress',
      message: 'must have at most 8 rules',
    },
    {
      name: 'too many match expressions for the CRD',
      doc: aContract({ policies: [policy('a', 'shop', { podSelector: { matchExpressions: Array.from({ length: 9 }, (_, i) => ({ key: `k${i}`, operator: 'Exists' })) } })] }),
      path: 'spec.policies[0].spec.podSelector.matchExpressions',
      message: 'must have at most 8 expressions',
    },
  ];

  it.each(cases)('$name → $path', ({ doc, path, message }) => {
    const found = problems(doc);
    expect(found, formatProblems(found)).toContainEqual(expect.objectContaining({ path, message: expect.stringContaining(message) as unknown }));
  });
});

describe('parseContract: over-limit problems carry their code', () => {
  it('marks a bound exceeded as over-limit (callers act on the code, never the text), and nothing else', () => {
    const tooMany = problems(aContract({ policies: [policy('a', 'shop', { podSelector: {}, ingress: Array.from({ length: 9 }, () => ({})) })] }));
    expect(tooMany).toContainEqual(expect.objectContaining({ path: 'spec.policies[0].spec.ingress', code: 'over-limit' }));
    const missing = problems({ apiVersion: 'rampart.dev/v1alpha1', kind: 'RampContract' });
    expect(missing.length).toBeGreaterThan(0);
    expect(missing.filter((p) => p.code !== undefined)).toEqual([]);
  });
});

describe('parseContract: model and defaults', () => {
  it('fills in every default when gates, rollback and advance are left out', () => {
    const contract = parsed(aContract());
    expect(contract.spec.gates).toEqual(DEFAULT_GATES);
    expect(contract.spec.rollback).toEqual(DEFAULT_ROLLBACK);
    expect(contract.spec.advance).toBe(DEFAULT_ADVANCE);
    expect(contract.spec.rollback.to).toBe('monitor');
    expect(parsed(aContract({ rollback: { to: 'previous' } })).spec.rollback.to).toBe('previous');
    expect(DEFAULT_GATES).toEqual({
      minFlows: 100,
      maxWouldDeny: 0,
      maxWouldDenyRatio: 0,
      maxNewlyAllowed: null,
      minNodeCoverage: 1,
      maxLostEventsRatio: 0.01,
      maxReportAgeMs: 120_000,
      historyWindowMs: 7 * 86_400_000,
      minWorkloadCoverage: 0,
      maxInconclusiveMs: null,
    });
  });

  it('reads the evidence-sufficiency gates: history window and budget in days or Go-style, coverage as a share', () => {
    const c = parsed(aContract({ gates: { historyWindow: '1d12h', minWorkloadCoverage: 0.5, maxInconclusive: '2d' } }));
    expect(c.spec.gates).toMatchObject({ historyWindowMs: 36 * 3_600_000, minWorkloadCoverage: 0.5, maxInconclusiveMs: 2 * 86_400_000 });
    expect(parsed(aContract({ gates: { historyWindow: '0', maxInconclusive: '90m' } })).spec.gates).toMatchObject({ historyWindowMs: 0, maxInconclusiveMs: 5_400_000 });
    expect(parsed(aContract({ gates: { maxInconclusive: null } })).spec.gates.maxInconclusiveMs).toBeNull();
  });

  it('rejects bad evidence-sufficiency gates with their field paths', () => {
    const r = parseContract(aContract({ gates: { historyWindow: '7 days', minWorkloadCoverage: 1.5, maxInconclusive: '0s' } }));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.map((p) => p.path).sort()).toEqual(['spec.gates.historyWindow', 'spec.gates.maxInconclusive', 'spec.gates.minWorkloadCoverage']);
    expect(r.error.find((p) => p.path === 'spec.gates.historyWindow')?.message).toContain('7d');
  });

  it('defaults the fields a partial gates object leaves out, keeps the ones it sets', () => {
    const contract = parsed(aContract({ gates: { minFlows: 5, maxReportAge: '90s' } }));
    expect(contract.spec.gates).toEqual({ ...DEFAULT_GATES, minFlows: 5, maxReportAgeMs: 90_000 });
  });

  it('takes null as "not set" where the CRD is not nullable: defaults apply, the first stage stays a monitor stage', () => {
    const contract = parsed(
      aContract({
        gates: { minFlows: null, maxReportAge: null },
        advance: null,
        rollback: null,
        rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m', percent: null, namespaces: null }, { name: 'all', percent: 100, minDuration: '1m' }] },
      }),
    );
    expect(contract.spec.gates).toEqual(DEFAULT_GATES);
    expect(contract.spec.advance).toBe(DEFAULT_ADVANCE);
    expect(contract.spec.rollback).toEqual(DEFAULT_ROLLBACK);
    expect(contract.spec.stages[0]!.kind).toBe('monitor');
  });

  it('reads an explicit null as "no limit"', () => {
    const contract = parsed(aContract({ gates: { maxWouldDeny: null, maxWouldDenyRatio: null }, rollback: { maxActualDeniesPerMinute: null } }));
    expect(contract.spec.gates.maxWouldDeny).toBeNull();
    expect(contract.spec.gates.maxWouldDenyRatio).toBeNull();
    expect(parsed(aContract({ gates: { maxNewlyAllowed: null } })).spec.gates.maxNewlyAllowed).toBeNull();
    expect(parsed(aContract({ gates: { maxNewlyAllowed: 3 } })).spec.gates.maxNewlyAllowed).toBe(3);
    expect(contract.spec.rollback.maxActualDeniesPerMinute).toBeNull();
  });

  it('builds typed stages with durations in milliseconds', () => {
    const contract = parsed(aContract());
    expect(contract.spec.strategy).toBe('percent');
    expect(contract.spec.stages).toEqual([
      { kind: 'monitor', name: 'monitor', minDurationMs: 1_800_000 },
      { kind: 'percent', name: 'canary', percent: 10, minDurationMs: 3_600_000 },
      { kind: 'percent', name: 'full', percent: 100, minDurationMs: 3_600_000 },
    ]);
  });

  it('builds namespace stages', () => {
    const contract = parsed(
      aContract({
        rollout: {
          strategy: 'namespaces',
          stages: [
            { name: 'monitor', minDuration: '1m' },
            { name: 'one', namespaces: ['a'], minDuration: '1m' },
            { name: 'two', namespaces: ['b', 'c'], minDuration: '2m' },
          ],
        },
      }),
    );
    expect(contract.spec.stages.slice(1)).toEqual([
      { kind: 'namespaces', name: 'one', namespaces: ['a'], minDurationMs: 60_000 },
      { kind: 'namespaces', name: 'two', namespaces: ['b', 'c'], minDurationMs: 120_000 },
    ]);
  });

  it('keeps the policies as written and parsed', () => {
    const contract = parsed(aContract({ policies: [policy('a', 'x'), policy('b', 'y')] }));
    expect(contract.spec.rawPolicies).toEqual([policy('a', 'x'), policy('b', 'y')]);
    expect(contract.spec.policies.map((p) => `${p.namespace}/${p.name}`)).toEqual(['x/a', 'y/b']);
  });

  it('passes on policy warnings with their contract paths', () => {
    const noNamespace = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'a' }, spec: { podSelector: {} } };
    const contract = parsed(aContract({ policies: [noNamespace] }));
    expect(contract.warnings?.map((w) => w.path)).toEqual(['spec.policies[0].metadata.namespace']);
  });

  it('hashes the policies: key order does not matter, content does, gates do not', () => {
    const base = parsed(aContract()).policiesHash;
    const reordered = aContract({ policies: [{ spec: { podSelector: {} }, metadata: { namespace: 'shop', name: 'default-deny' }, kind: 'NetworkPolicy', apiVersion: 'networking.k8s.io/v1' }] });
    expect(parsed(reordered).policiesHash).toBe(base);
    expect(parsed(aContract({ gates: { minFlows: 1 } })).policiesHash).toBe(base);
    expect(parsed(aContract({ policies: [policy('default-deny', 'shop', { podSelector: {}, policyTypes: ['Egress'] })] })).policiesHash).not.toBe(base);
  });

  it('round-trips through contractToJson', () => {
    for (const fixture of validContracts()) {
      const contract = parsed(fixture.doc);
      const again = parsed(JSON.parse(JSON.stringify(contractToJson(contract))));
      expect(again, fixture.file).toEqual(contract);
    }
  });
});
