import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseClusterSpec } from '../../../sim/cluster-spec.js';
import { addressIn, buildCluster } from '../../../sim/cluster.js';
import { seededRandom } from '../../../sim/random.js';
import { smallSpec } from './fixtures.js';

describe('buildCluster', () => {
  const cluster = buildCluster(smallSpec(), seededRandom(7));

  it('labels pods the way Cilium builds identity labels', () => {
    const frontend = cluster.workloads.get('shop/frontend')!;
    expect(frontend.identityLabels).toEqual([
      'k8s:app=frontend',
      'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=shop',
      'k8s:io.cilium.k8s.namespace.labels.team=web',
      'k8s:io.cilium.k8s.policy.cluster=unit',
      'k8s:io.cilium.k8s.policy.serviceaccount=frontend',
      'k8s:io.kubernetes.pod.namespace=shop',
      'k8s:tier=web',
    ]);
    // The pod carries pod-template-hash, which Cilium's label filter keeps out of the identity.
    expect(Object.keys(frontend.pods[0]!.labels)).toContain('pod-template-hash');
    expect(frontend.identityLabels.some((l) => l.includes('pod-template-hash'))).toBe(false);
    expect(frontend.pods[0]!.name).toMatch(/^frontend-[a-z0-9]{10}-[a-z0-9]{5}$/);
  });

  it('spreads replicas over the nodes, with IPs from each node pod CIDR', () => {
    const nodes = new Set(cluster.workloads.get('shop/frontend')!.pods.map((p) => p.node.name));
    expect(nodes.size).toBe(2);
    for (const pod of cluster.pods) expect(pod.ip.startsWith(`10.244.${pod.node.index}.`)).toBe(true);
    expect(new Set(cluster.pods.map((p) => p.ip)).size).toBe(cluster.pods.length);
  });

  it('gives one identity per workload, distinct across workloads', () => {
    const ids = [...cluster.workloads.values()].map((w) => w.identity);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toBeGreaterThanOrEqual(256);
    expect(cluster.externals.get('external/bank')!.identityLabels).toEqual(['cidr:198.51.100.0/24', 'reserved:world']);
  });

  it('is deterministic for a seed', () => {
    const again = buildCluster(smallSpec(), seededRandom(7));
    expect(again.pods.map((p) => p.name)).toEqual(cluster.pods.map((p) => p.name));
  });

  it('picks addresses inside a CIDR', () => {
    const r = seededRandom(3);
    for (let i = 0; i < 50; i++) expect(addressIn('198.51.100.0/24', r)).toMatch(/^198\.51\.100\.([1-9]|[1-9]\d|1\d\d|2[0-4]\d|25[0-4])$/);
  });
});

describe('parseClusterSpec', () => {
  it('reports every problem with its field path', () => {
    const r = parseClusterSpec({
      namespaces: [{ name: 'a' }],
      workloads: [{ namespace: 'b', name: 'w', replicas: 0 }],
      calls: [{ from: 'a/w', to: 'a/nope', port: 70000 }],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.error.map((p) => p.path);
    expect(paths).toEqual(
      expect.arrayContaining(['workloads[0].namespace', 'workloads[0].replicas', 'calls[0].from', 'calls[0].to', 'calls[0].port', 'calls[0]']),
    );
  });

  it('accepts the bundled demo cluster', () => {
    const doc: unknown = parse(readFileSync(new URL('../../../demo/cluster.yaml', import.meta.url), 'utf8'));
    const r = parseClusterSpec(doc);
    expect(r.ok ? [] : r.error).toEqual([]);
    if (!r.ok) return;
    expect(r.value.namespaces).toHaveLength(4);
    expect(r.value.workloads.length).toBeGreaterThanOrEqual(18);
    // The invoicing job calls the ledger on its CronJob schedule, wall-clock aligned.
    const invoice = r.value.calls.find((c) => c.from === 'payments/invoice-job');
    expect(r.value.workloads.find((w) => w.name === 'invoice-job')?.schedule).toBe('*/3 * * * *');
    expect(invoice?.schedule?.next(Date.parse('2026-12-06T17:04:30Z'))).toBe(Date.parse('2026-12-06T17:06:00Z'));
  });

  it('reads CronJob schedules: a bad one, or one on another kind, is a problem at its path; a CronJob call needs no rate', () => {
    const r = parseClusterSpec({
      namespaces: [{ name: 'a' }],
      workloads: [
        { namespace: 'a', name: 'job', kind: 'CronJob', schedule: '*/3 * * *' },
        { namespace: 'a', name: 'web', schedule: '@hourly' },
        { namespace: 'a', name: 'ok', kind: 'CronJob', schedule: '@hourly' },
      ],
      calls: [{ from: 'a/ok', to: 'a/web', port: 80 }, { from: 'a/web', to: 'a/ok', port: 80 }],
      dns: { perCall: 0 },
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.map((p) => p.path)).toEqual(['workloads[0].schedule', 'workloads[1].schedule', 'calls[1]']);
    expect(r.error[0]!.message).toContain('expected five fields');
    expect(r.error[1]!.message).toContain('only a CronJob');
  });
});
