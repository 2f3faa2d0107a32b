import { describe, expect, it } from 'vitest';
import { endpointEdgeName, stripPodHash, workloadName } from '../../../../core/flow/index.js';
import { aPod, aReserved, anExternal, anUnknown } from '../../../support/builders.js';

describe('stripPodHash', () => {
  it.each([
    ['productpage-v1-6b746f74dc-9rcxx', 'productpage-v1'],
    ['ratings-v1-b6994bb9-jgqxb', 'ratings-v1'],
    ['coredns-558bd4d5db-w2m67', 'coredns'],
    ['source-controller-9dfbc5cd-cz76x', 'source-controller'],
    ['fluentd-x7k2p', 'fluentd'],
    ['xwing', 'xwing'],
    ['web-0', 'web-0'],
    ['my-api', 'my-api'], // "api" has vowels: not a generated suffix
  ])('%s → %s', (pod, workload) => {
    expect(stripPodHash(pod)).toBe(workload);
  });
});

describe('workloadName', () => {
  it('prefers Hubble workloads, then app labels, then the pod name', () => {
    expect(workloadName(aPod({ labels: { app: 'a' }, workloads: [{ name: 'deploy-x', kind: 'Deployment' }] }))).toBe('deploy-x');
    expect(workloadName(aPod({ labels: { app: 'a', 'app.kubernetes.io/name': 'b' } }))).toBe('a');
    expect(workloadName(aPod({ labels: { 'app.kubernetes.io/name': 'b', 'k8s-app': 'c' } }))).toBe('b');
    expect(workloadName(aPod({ labels: { 'k8s-app': 'kube-dns' } }))).toBe('kube-dns');
    expect(workloadName(aPod({ labels: { tier: 'x' }, name: 'reviews-v2-7bf8c9648f-r7bs2' }))).toBe('reviews-v2');
  });

  it('names the other endpoint kinds', () => {
    expect(endpointEdgeName(aReserved('host'), '10.0.0.1')).toBe('reserved/host');
    expect(endpointEdgeName(anExternal(), '1.2.3.4')).toBe('world/1.2.3.4');
    expect(endpointEdgeName(anUnknown({ namespace: 'default', podName: 'xwing' }), '10.0.0.9')).toBe('default/xwing');
    expect(endpointEdgeName(anUnknown(), '10.0.0.9')).toBe('unknown/10.0.0.9');
  });
});
