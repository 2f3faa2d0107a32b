/**
 * The simulated datapath enforces Cilium policies with the same engine the agents use
 * (core/policy via CorePolicyJudge): a CNP with a toFQDNs egress admits the external whose DNS
 * names Hubble attaches (the cluster spec's `dns`), and isolates the rest of the pod's egress.
 */
import { describe, expect, it } from 'vitest';
import { buildCluster } from '../../../sim/cluster.js';
import type { Connection, Peer } from '../../../sim/connection.js';
import { CorePolicyJudge } from '../../../sim/core-judge.js';
import { seededRandom } from '../../../sim/random.js';
import { smallSpec } from './fixtures.js';

describe('CorePolicyJudge with CiliumNetworkPolicies', () => {
  const spec = smallSpec({ externals: [{ name: 'bank', cidr: '198.51.100.0/24', dns: ['api.bank.example'] }, { name: 'other', cidr: '203.0.113.0/24' }] });
  const cluster = buildCluster(spec, seededRandom(1));
  const judge = new CorePolicyJudge(cluster);
  const pod = (w: string): Peer => {
    const workload = cluster.workloads.get(w)!;
    return { kind: 'pod', pod: cluster.pods.find((p) => p.workload === w)!, workload };
  };
  const external = (name: string): Peer => ({ kind: 'external', external: cluster.externals.get(`external/${name}`)!, ip: name === 'bank' ? '198.51.100.9' : '203.0.113.9' });
  const conn = (src: Peer, dst: Peer, port: number): Connection => ({ src, dst, srcPort: 40_000, dstPort: port, protocol: 'TCP', service: null });
  const cnp = [
    {
      apiVersion: 'cilium.io/v2',
      kind: 'CiliumNetworkPolicy',
      metadata: { name: 'frontend-out', namespace: 'shop' },
      spec: { endpointSelector: { matchLabels: { app: 'frontend' } }, egress: [{ toFQDNs: [{ matchName: 'api.bank.example' }], toPorts: [{ ports: [{ port: '443', protocol: 'TCP' }] }] }] },
    },
  ];

  it('admits the FQDN destination and denies the rest of the isolated egress', () => {
    expect(judge.decide('k', cnp, conn(pod('shop/frontend'), external('bank'), 443), 'egress')).toEqual({ enforced: true, allowed: true });
    expect(judge.decide('k', cnp, conn(pod('shop/frontend'), external('other'), 443), 'egress')).toEqual({ enforced: true, allowed: false });
    expect(judge.decide('k', cnp, conn(pod('shop/frontend'), pod('shop/api'), 9090), 'egress')).toEqual({ enforced: true, allowed: false });
    // Another pod is not selected: not enforced.
    expect(judge.decide('k', cnp, conn(pod('shop/api'), external('other'), 443), 'egress').enforced).toBe(false);
    expect(judge.invalidPolicies).toBe(0);
  });
});
