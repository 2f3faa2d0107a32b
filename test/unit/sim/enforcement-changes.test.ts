/**
 * The embedded mode's simulated datapath and a contract that replaces and removes policies in
 * force (product.md "Changes to what is enforced"): a pod the contract's stage enforces is
 * governed by (baseline − R) ∪ P, every other pod by the baseline, judged by core/policy.
 */
import { describe, expect, it } from 'vitest';
import { isEnrolled } from '../../../core/contract/index.js';
import type { AppliedStage } from '../../../core/rollout/index.js';
import { buildCluster, type SimPod } from '../../../sim/cluster.js';
import type { Connection } from '../../../sim/connection.js';
import { CorePolicyJudge } from '../../../sim/core-judge.js';
import { Enforcement } from '../../../sim/enforcement.js';
import { seededRandom } from '../../../sim/random.js';
import { smallSpec } from './fixtures.js';

const np = (name: string, spec: Record<string, unknown>) => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop' }, spec });
// Before: api isolated, frontend admitted on 9090 by an over-broad allow (any peer), and an allow-all legacy policy.
const BASELINE = [
  np('deny-ingress', { podSelector: {}, policyTypes: ['Ingress'] }),
  np('api-open', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ ports: [{ port: 9090 }] }] }),
  np('legacy-all', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{}] }),
];
// After: api-open narrowed to port 9999 (frontend's 9090 no longer admitted), legacy-all removed.
const NARROWED = np('api-open', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ ports: [{ port: 9999 }] }] });

describe('simulated datapath: replaced and removed policies', () => {
  const cluster = buildCluster(smallSpec({ policies: BASELINE }), seededRandom(3));
  const frontend = cluster.pods.find((p) => p.workload === 'shop/frontend')!;
  const apis = cluster.pods.filter((p) => p.workload === 'shop/api');
  const conn = (to: SimPod): Connection => ({
    src: { kind: 'pod', pod: frontend, workload: cluster.workloads.get(frontend.workload)! },
    dst: { kind: 'pod', pod: to, workload: cluster.workloads.get(to.workload)! },
    srcPort: 40000,
    dstPort: 9090,
    protocol: 'TCP',
    service: null,
  });
  const stage = (percent: number, takenOut: boolean): AppliedStage => ({
    contract: 'narrow',
    revision: 1,
    stageIndex: 1,
    stageName: 's',
    mode: 'percent',
    percent,
    namespaces: [],
    policies: [NARROWED],
    ...(takenOut ? { replaces: [{ kind: 'NetworkPolicy', namespace: 'shop', name: 'api-open' }], removes: [{ kind: 'NetworkPolicy', namespace: 'shop', name: 'legacy-all' }] } : {}),
  });

  it('enrolled pods get the new text only, the others the old text only', () => {
    const e = new Enforcement(new CorePolicyJudge(cluster), BASELINE);
    const allowed = (p: SimPod): boolean => e.decide(conn(p), 'ingress').allowed;
    expect(apis.every(allowed)).toBe(true);
    e.setApplied([stage(100, true)]);
    expect(apis.some(allowed)).toBe(false);
    // Without R the old policies keep admitting: the same text added is no change at all.
    e.setApplied([stage(100, false)]);
    expect(apis.every(allowed)).toBe(true);
    // A percent stage: exactly the enrolled pods lose the old allows.
    const percent = 50;
    e.setApplied([stage(percent, true)]);
    for (const p of apis) expect(allowed(p), p.name).toBe(!isEnrolled('narrow', p.namespace, p.name, percent));
  });

  it('Cilium originals: a replaced CNP and a removed CCNP stop governing enrolled pods only', () => {
    const cnp = (name: string, port: string) => ({
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name, namespace: 'shop' },
      spec: { endpointSelector: { matchLabels: { app: 'api' } }, ingress: [{ fromEndpoints: [{}], toPorts: [{ ports: [{ port, protocol: 'TCP' }] }] }] },
    });
    const ccnp = {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumClusterwideNetworkPolicy',
      metadata: { name: 'legacy-all' },
      specs: [{ endpointSelector: { matchLabels: { 'k8s:io.kubernetes.pod.namespace': 'shop', app: 'api' } }, ingress: [{ fromEntities: ['all'] }] }],
    };
    const baseline = [cnp('api-open', '9090'), ccnp];
    const withCilium = buildCluster(smallSpec({ policies: baseline }), seededRandom(3));
    const e = new Enforcement(new CorePolicyJudge(withCilium), baseline);
    const ciliumStage = (percent: number): AppliedStage => ({
      ...stage(percent, false),
      policies: [cnp('api-open', '9999')],
      replaces: [{ kind: 'CiliumNetworkPolicy', namespace: 'shop', name: 'api-open' }],
      removes: [{ kind: 'CiliumClusterwideNetworkPolicy', namespace: '', name: 'legacy-all' }],
    });
    const allowed = (p: SimPod): boolean => e.decide(conn(p), 'ingress').allowed;
    expect(apis.every(allowed)).toBe(true);
    e.setApplied([ciliumStage(100)]);
    expect(apis.some(allowed)).toBe(false);
    // The CCNP governs these pods: kept (not removed), it still admits everyone.
    e.setApplied([{ ...ciliumStage(100), removes: [] }]);
    expect(apis.every(allowed)).toBe(true);
    e.setApplied([ciliumStage(50)]);
    for (const p of apis) expect(allowed(p), p.name).toBe(!isEnrolled('narrow', p.namespace, p.name, 50));
  });
});
