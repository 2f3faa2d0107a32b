/** Shared builders for the simulator's unit tests: a tiny cluster and a rule-table judge. */
import { parseClusterSpec, type ClusterSpec } from '../../../sim/cluster-spec.js';
import type { Connection } from '../../../sim/connection.js';
import type { PolicyJudge, SideDecision } from '../../../sim/enforcement.js';

export function smallSpec(overrides: Record<string, unknown> = {}): ClusterSpec {
  const parsed = parseClusterSpec({
    cluster: 'unit',
    nodes: 2,
    namespaces: [{ name: 'shop', labels: { team: 'web' } }, { name: 'kube-system' }],
    workloads: [
      { namespace: 'shop', name: 'frontend', replicas: 2, labels: { tier: 'web' }, ports: [{ port: 8080 }] },
      { namespace: 'shop', name: 'api', replicas: 2, ports: [{ port: 9090 }] },
      { namespace: 'kube-system', name: 'coredns', replicas: 1, labels: { 'k8s-app': 'kube-dns' }, ports: [{ port: 53, protocol: 'UDP' }] },
    ],
    externals: [{ name: 'bank', cidr: '198.51.100.0/24' }],
    dns: { perCall: 0 },
    probeEvery: '0',
    calls: [{ from: 'shop/frontend', to: 'shop/api', port: 9090, rate: 10 }],
    ...overrides,
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.error));
  return parsed.value;
}

/**
 * A judge over fake "policies" of the shape `{ side, deny: 'ns/workload' }`: the side is
 * isolated when any fake policy names it, and denied when the peer is the named workload.
 */
export const tableJudge: PolicyJudge = {
  decide(_key: string, policies: readonly unknown[], conn: Connection, side: 'egress' | 'ingress'): SideDecision {
    const rules = policies as readonly { side: string; deny: string }[];
    const mine = rules.filter((r) => r.side === side);
    if (mine.length === 0) return { enforced: false, allowed: true };
    const peer = side === 'egress' ? conn.dst : conn.src;
    const peerKey = peer.kind === 'pod' ? peer.workload.key : peer.kind;
    return { enforced: true, allowed: !mine.some((r) => r.deny === peerKey) };
  },
};
