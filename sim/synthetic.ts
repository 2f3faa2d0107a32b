/**
 * A generated cluster of any size (the `--workloads` flag, scale tests): workloads spread
 * over a few namespaces, each calling the next two in a ring, all resolving names through
 * kube-dns. No late callers and no periodic jobs: load, not a story.
 */
import type { CallSpec, ClusterSpec, WorkloadSpec } from './cluster-spec.js';

export function syntheticSpec(opts: { workloads: number; nodes: number; namespaces?: number; ratePerCall?: number }): ClusterSpec {
  const nsCount = Math.max(1, opts.namespaces ?? 4);
  const namespaces = Array.from({ length: nsCount }, (_, i) => ({ name: `team-${i + 1}`, labels: { team: `team-${i + 1}` } }));
  const workloads: WorkloadSpec[] = Array.from({ length: opts.workloads }, (_, i) => {
    const name = `svc-${i + 1}`;
    return {
      namespace: namespaces[i % nsCount]!.name,
      name,
      kind: 'Deployment',
      replicas: 1 + (i % 3),
      labels: { app: name, tier: i % 2 === 0 ? 'api' : 'worker' },
      serviceAccount: name,
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      late: false, schedule: null,
    };
  });
  workloads.push({
    namespace: 'kube-system', name: 'coredns', kind: 'Deployment', replicas: 2, labels: { 'k8s-app': 'kube-dns' },
    serviceAccount: 'coredns', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }], late: false, schedule: null,
  });
  const key = (w: WorkloadSpec): string => `${w.namespace}/${w.name}`;
  const calls: CallSpec[] = [];
  for (let i = 0; i < opts.workloads; i++) {
    for (const step of [1, 2]) {
      if (opts.workloads <= step) continue;
      calls.push({
        from: key(workloads[i]!), to: key(workloads[(i + step) % opts.workloads]!), port: 8080, protocol: 'TCP',
        ratePerSec: opts.ratePerCall ?? 1, everyMs: null, schedule: null, offsetMs: 0, burst: 1,
      });
    }
  }
  return {
    cluster: 'rampart-sim',
    policies: [],
    nodes: opts.nodes,
    namespaces: [...namespaces, { name: 'kube-system', labels: {} }],
    workloads,
    externals: [],
    calls,
    dnsPerCall: 0.2,
    dnsServer: 'kube-system/coredns',
    probeEveryMs: 10_000,
  };
}
