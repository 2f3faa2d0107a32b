/**
 * `audit` over hand-written policies and a simulated capture: each kind of finding appears
 * where it should (and not elsewhere), and the narrower rule of an over-broad one admits all
 * the traffic the broad rule admitted.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { audit, BOTH_SIDES, ObservationSet, type Finding } from '../../../../core/authoring/index.js';
import { createEvaluator, type NetworkPolicy } from '../../../../core/policy/index.js';
import { writeCapture } from '../../../../sim/capture.js';
import { demoDir, loadClusterSpec } from '../../../../sim/load-spec.js';
import { flowsOf, parsePolicies } from './support.js';

const np = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'payments' }, spec });

function capture() {
  const spec = loadClusterSpec(join(demoDir(), 'cluster.yaml'));
  if (!spec.ok) throw new Error('spec');
  const lines: string[] = [];
  writeCapture({ spec: spec.value, durationMs: 90_000, seed: 5, endMs: Date.parse('2026-06-01T12:00:00Z'), write: (l) => lines.push(l.trimEnd()) });
  const obs = new ObservationSet();
  for (const f of flowsOf(lines)) obs.addFlow(f);
  return [...obs.representatives.values()];
}

const find = (fs: readonly Finding[], kind: string, policy: string | null) => fs.filter((f) => f.kind === kind && f.policy === policy);

describe('audit', () => {
  const flows = capture();
  const policies = parsePolicies([
    np('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] }),
    np('egress-anywhere', { podSelector: {}, policyTypes: ['Egress'], egress: [{}] }),
    np('ledger-from-cluster', { podSelector: { matchLabels: { app: 'ledger' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 5432 }] }] }),
    np('ledger-copy', { podSelector: { matchLabels: { app: 'ledger' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: 5432 }] }] }),
    np('typo', { podSelector: { matchLabels: { app: 'legder' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'payments-api' } } }], ports: [{ port: 5432 }] }] }),
    np('api-in', { podSelector: { matchLabels: { app: 'payments-api' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }] }] }),
  ]);
  const report = audit({ policies, pods: null, flows });

  it('finds open namespaces, leaving system namespaces out unless named', () => {
    expect(report.findings.filter((f) => f.kind === 'open-namespace').map((f) => f.namespace)).toEqual(['data', 'shop']);
    expect(report.notes).toContainEqual(expect.stringContaining('left out kube-system'));
    const named = audit({ policies, pods: null, flows, namespaces: ['data', 'kube-system', 'shop'] });
    expect(named.findings.filter((f) => f.kind === 'open-namespace').map((f) => f.namespace)).toEqual(['data', 'kube-system', 'shop']);
  });

  it('finds over-broad rules, and their narrower rules admit the same traffic', () => {
    const broad = find(report.findings, 'over-broad-rule', 'payments/egress-anywhere')[0]!;
    expect(broad.severity).toBe('high');
    expect(broad.narrower!.length).toBeGreaterThan(0);
    const narrowed = parsePolicies([np('narrowed', { podSelector: {}, policyTypes: ['Egress'], egress: broad.narrower })]);
    const onlyDeny = parsePolicies([np('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]);
    const wide = createEvaluator([...onlyDeny, policies[1]!]);
    const narrow = createEvaluator([...onlyDeny, ...narrowed]);
    let admitted = 0;
    for (const f of flows) {
      if (f.source.kind !== 'pod' || f.source.namespace !== 'payments') continue;
      const sides = { egress: true, ingress: false };
      if (wide.evaluate(f, sides).verdict === 'allow') {
        admitted++;
        expect(narrow.evaluate(f, sides).verdict).toBe('allow');
      }
    }
    expect(admitted).toBeGreaterThan(0);
    expect(find(report.findings, 'over-broad-rule', 'payments/api-in')[0]?.severity).toBe('high');
    expect(find(report.findings, 'over-broad-rule', 'payments/ledger-copy')[0]?.message).toContain('any pod of any namespace');
  });

  it('finds unused rules, policies that select no pod, and redundant policies', () => {
    expect(find(report.findings, 'unused-rule', 'payments/typo')).toHaveLength(1);
    expect(find(report.findings, 'selects-no-pod', 'payments/typo')).toHaveLength(1);
    expect(find(report.findings, 'selects-no-pod', 'payments/ledger-copy')).toHaveLength(0);
    const redundant = report.findings.filter((f) => f.kind === 'redundant-policy').map((f) => f.policy);
    // One of the two identical ledger policies, never both; never the default-deny.
    expect(redundant.filter((p) => p?.startsWith('payments/ledger'))).toHaveLength(1);
    expect(redundant).not.toContain('payments/default-deny');
    // Removing every policy reported redundant at once changes no verdict.
    const kept = policies.filter((p: NetworkPolicy) => !redundant.includes(`${p.namespace}/${p.name}`));
    const a = createEvaluator(policies);
    const b = createEvaluator(kept);
    for (const f of flows) expect(b.evaluate(f, BOTH_SIDES).verdict).toBe(a.evaluate(f, BOTH_SIDES).verdict);
  });

  it('without flows: open namespaces from --pods and over-broad rules without a narrower one', () => {
    const r = audit({ policies, pods: [{ namespace: 'payments', name: 'ledger-0', labels: { app: 'ledger' } }, { namespace: 'web', name: 'w', labels: { app: 'w' } }], flows: null });
    expect(r.findings.filter((f) => f.kind === 'open-namespace').map((f) => f.namespace)).toEqual(['web']);
    expect(find(r.findings, 'selects-no-pod', 'payments/typo')[0]?.severity).toBe('medium');
    expect(r.findings.some((f) => f.kind === 'unused-rule')).toBe(false);
    expect(find(r.findings, 'over-broad-rule', 'payments/egress-anywhere')[0]?.narrower).toBeUndefined();
  });
});
