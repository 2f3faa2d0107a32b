/**
 * The smallest fix on the demo's Blocked contract (payments-lockdown forgets invoice-job →
 * ledger:5432): one new ingress policy on the ledger, nothing widened, both sides when both
 * deny, and a podSelector that never isolates pods that were open before.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { BOTH_SIDES, smallestFix } from '../../../../core/authoring/index.js';
import { parseContract } from '../../../../core/contract/index.js';
import { createEvaluator } from '../../../../core/policy/index.js';
import { writeCapture } from '../../../../sim/capture.js';
import { demoDir, loadClusterSpec } from '../../../../sim/load-spec.js';
import { aFlow, aPod, tcp } from '../../../support/builders.js';
import { flowsOf, judge, parsePolicies } from './support.js';

function demoContract(name: string) {
  const c = parseContract(parse(readFileSync(join(demoDir(), 'contracts', `${name}.yaml`), 'utf8')));
  if (!c.ok) throw new Error(JSON.stringify(c.error));
  return c.value;
}

describe('smallestFix', () => {
  it('unblocks payments-lockdown with one ingress rule for invoice-job → ledger:5432', () => {
    const spec = loadClusterSpec(join(demoDir(), 'cluster.yaml'));
    if (!spec.ok) throw new Error('spec');
    const lines: string[] = [];
    writeCapture({ spec: spec.value, durationMs: 120_000, seed: 3, endMs: Date.parse('2026-06-01T12:00:30Z'), write: (l) => lines.push(l.trimEnd()) });
    const flows = flowsOf(lines);
    const contract = demoContract('payments-lockdown');
    const before = judge(contract.spec.policies, flows);
    expect(before.deny).toBeGreaterThan(0);
    const fix = smallestFix(contract.spec.policies, before.denied, flows.slice(0, 2000));
    if (!fix.ok) throw new Error(JSON.stringify(fix.error));
    expect(fix.value.edges.map((e) => `${e.side} ${e.from} → ${e.to}:${e.port}/${e.protocol}`)).toEqual(['ingress payments/invoice-job → payments/ledger:5432/TCP']);
    expect(fix.value.policies).toHaveLength(1);
    expect(fix.value.policies[0]).toMatchObject({
      metadata: { name: 'fix-ledger-ingress', namespace: 'payments' },
      spec: { podSelector: { matchLabels: { app: 'ledger' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'invoice-job' } } }], ports: [{ protocol: 'TCP', port: 5432 }] }] },
    });
    const after = judge([...contract.spec.policies, ...parsePolicies(fix.value.policies)], flows);
    expect(after.deny).toBe(0);
    // The contract with the fix appended is still a valid contract.
    const raw = parse(readFileSync(join(demoDir(), 'contracts', 'payments-lockdown.yaml'), 'utf8')) as { spec: { policies: unknown[] } };
    raw.spec.policies.push(...fix.value.policies);
    expect(parseContract(raw).ok).toBe(true);
  });

  it('opens both sides when both deny, and never isolates a pod that was open', () => {
    const client = aPod({ namespace: 'x', labels: { app: 'client', team: 't' } });
    const server = aPod({ namespace: 'y', labels: { app: 'server' } });
    const policies = parsePolicies([
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'lock', namespace: 'x' }, spec: { podSelector: { matchLabels: { team: 't' } }, policyTypes: ['Egress'] } },
      { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: 'y' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
    ]);
    const flow = aFlow({ source: client, destination: server, l4: tcp(8443) });
    const fix = smallestFix(policies, [flow]);
    if (!fix.ok) throw new Error(JSON.stringify(fix.error));
    expect(fix.value.edges.map((e) => e.side).sort()).toEqual(['egress', 'ingress']);
    const egress = fix.value.policies.find((p) => (p['metadata'] as { namespace: string }).namespace === 'x')!;
    // client's selector AND the isolating policy's: only pods that were already isolated.
    expect((egress['spec'] as { podSelector: unknown }).podSelector).toEqual({ matchLabels: { team: 't', app: 'client' } });
    expect(JSON.stringify(egress)).toContain('"kubernetes.io/metadata.name":"y"');
    const after = createEvaluator([...policies, ...fix.value.parsed]);
    expect(after.evaluate(flow, BOTH_SIDES).verdict).toBe('allow');
    // A pod with app=client but without team=t was not isolated before, and is not now.
    const open = aPod({ namespace: 'x', labels: { app: 'client' } });
    const elsewhere = aFlow({ source: open, destination: aPod({ namespace: 'z', labels: { app: 'other' } }), l4: tcp(1) });
    expect(after.evaluate(elsewhere, BOTH_SIDES).verdict).toBe('allow');
  });

  it('says what it cannot fix instead of guessing', () => {
    const policies = parsePolicies([{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'd', namespace: 'x' }, spec: { podSelector: {}, policyTypes: ['Egress'] } }]);
    const flow = aFlow({ source: aPod({ namespace: 'x', labels: { app: 'a' } }), destination: { kind: 'unknown', id: null, identity: 0, labels: ['reserved:unknown'], namespace: null, podName: '' } });
    const fix = smallestFix(policies, [flow]);
    // An unknown peer makes the verdict indeterminate, not deny: nothing to fix.
    if (!fix.ok) throw new Error(JSON.stringify(fix.error));
    expect(fix.value.policies).toEqual([]);
  });

  it('names the workload as precisely as its stable labels allow, so a neighbour sharing its app label stays closed', () => {
    const policies = parsePolicies([{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'deny', namespace: 'b' }, spec: { podSelector: {}, policyTypes: ['Ingress'] } }]);
    // Hubble names the controllers (reviews-v1, reviews-v2): two workloads that share app=reviews.
    const productpage = aPod({ namespace: 'b', labels: { app: 'productpage', version: 'v1' }, workloads: [{ name: 'productpage-v1', kind: 'Deployment' }] });
    const v2 = aPod({ namespace: 'b', labels: { app: 'reviews', version: 'v2', 'pod-template-hash': '7bf8c9648f' }, workloads: [{ name: 'reviews-v2', kind: 'Deployment' }] });
    const v1 = aPod({ namespace: 'b', labels: { app: 'reviews', version: 'v1' }, workloads: [{ name: 'reviews-v1', kind: 'Deployment' }] });
    const fix = smallestFix(policies, [aFlow({ source: productpage, destination: v2, l4: tcp(9080) })]);
    if (!fix.ok) throw new Error(JSON.stringify(fix.error));
    expect((fix.value.policies[0]!['spec'] as { podSelector: unknown }).podSelector).toEqual({ matchLabels: { app: 'reviews', version: 'v2' } });
    const after = createEvaluator([...policies, ...fix.value.parsed]);
    expect(after.evaluate(aFlow({ source: productpage, destination: v1, l4: tcp(9080) }), BOTH_SIDES).verdict).toBe('deny');
    // Without controller names the edge is "b/reviews", and the fix opens it for every reviews pod.
    const bare = (labels: Record<string, string>) => aPod({ namespace: 'b', labels });
    const loose = smallestFix(policies, [aFlow({ source: bare({ app: 'productpage' }), destination: bare({ app: 'reviews', version: 'v2' }), l4: tcp(9080) })]);
    if (!loose.ok) throw new Error(JSON.stringify(loose.error));
    expect((loose.value.policies[0]!['spec'] as { podSelector: unknown }).podSelector).toEqual({ matchLabels: { app: 'reviews' } });
  });
});
