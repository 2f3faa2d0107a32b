/**
 * Unknown fields of a contract's policies are warnings with their field path (as kubectl
 * prints them), never silently dropped; the contract's own unknown fields stay errors.
 */
import { describe, expect, it } from 'vitest';
import { parseContract, unknownNetworkPolicyFields } from '../../../../core/contract/index.js';

const policy = (spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'p', namespace: 'shop', labels: { anything: 'goes' }, annotations: { 'a/b': 'c' }, ...metadata },
  spec,
});

const contract = (p: unknown, gates: Record<string, unknown> = {}): unknown => ({
  apiVersion: 'rampart.dev/v1alpha1',
  kind: 'RampContract',
  metadata: { name: 't' },
  spec: {
    policies: [p],
    rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'full', percent: 100, minDuration: '1m' }] },
    gates,
  },
});

describe('unknown fields', () => {
  it('names each unknown field of a NetworkPolicy by path, and nothing known', () => {
    const p = policy(
      {
        podSelector: { matchLabels: { app: 'x' }, matchExpresions: [] },
        policyTypes: ['Ingress'],
        ingres: [],
        ingress: [{ from: [{ podSelector: {}, ipBlock: { cidr: '10.0.0.0/8', excepts: [] } }], ports: [{ port: 80, endport: 90 }] }],
      },
      { lables: { a: 'b' } },
    );
    expect(unknownNetworkPolicyFields(p, '').map((x) => x.path)).toEqual([
      'metadata.lables',
      'spec.podSelector.matchExpresions',
      'spec.ingres',
      'spec.ingress[0].from[0].ipBlock.excepts',
      'spec.ingress[0].ports[0].endport',
    ]);
    expect(unknownNetworkPolicyFields(policy({ podSelector: {}, egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: 'k', operator: 'Exists' }] } }], ports: [{ protocol: 'TCP', port: 53, endPort: 60 }] }] }), '')).toEqual([]);
  });

  it('reports a key named like an Object member (constructor, toString) as unknown, without crashing', () => {
    // Found by the fuzzer (seed 15): `constructor` once looked up Object.prototype's member.
    const p = policy({ podSelector: { constructor: { '1h2m': 1 } }, toString: { x: 1 } });
    expect(unknownNetworkPolicyFields(p, '').map((x) => x.path)).toEqual(['spec.podSelector.constructor', 'spec.toString']);
  });

  it('parseContract warns about a policy field it does not know, with its path', () => {
    const r = parseContract(contract(policy({ podSelector: {}, policyTypes: ['Ingress'], ingres: [] })));
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(r.value.warnings?.map((w) => `${w.path}: ${w.message.split(' (')[0]}`)).toEqual(['spec.policies[0].spec.ingres: unknown field']);
  });

  it('parseContract refuses an unknown contract field, naming it', () => {
    const r = parseContract(contract(policy({ podSelector: {} }), { maxWouldDenny: 0 }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.map((p) => p.path)).toContain('spec.gates.maxWouldDenny');
  });
});
