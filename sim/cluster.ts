/**
 * The simulated cluster built from a spec: nodes, pods spread over them, pod IPs from each
 * node's pod CIDR, Cilium endpoint IDs (per node) and security identities (per set of
 * identity labels, cluster-wide), labelled the way Cilium builds identity labels
 * (../shared/docs/hubble.md section 4).
 */
import { fnv1a32 } from '../core/common/index.js';
import type { ClusterSpec, ContainerPort, ExternalSpec, WorkloadSpec } from './cluster-spec.js';
import type { Random } from './random.js';

export interface SimNode {
  readonly name: string;
  readonly index: number;
  /** The node's own IP (what `reserved:host` / `reserved:remote-node` traffic comes from). */
  readonly ip: string;
}

export interface SimWorkload extends WorkloadSpec {
  /** `namespace/name`. */
  readonly key: string;
  readonly pods: readonly SimPod[];
  /** Cilium security identity shared by every pod of the workload (same identity labels). */
  readonly identity: number;
  /** Sorted `k8s:key=value` identity labels, as Hubble prints them. */
  readonly identityLabels: readonly string[];
}

export interface SimPod {
  readonly namespace: string;
  readonly name: string;
  readonly workload: string;
  readonly node: SimNode;
  readonly ip: string;
  /** Cilium endpoint ID on its node. Only flows observed on that node carry it. */
  readonly endpointId: number;
  /** Pod labels as the API server has them, `pod-template-hash` included. */
  readonly labels: Readonly<Record<string, string>>;
  readonly ports: readonly ContainerPort[];
}

export interface SimExternal extends ExternalSpec {
  /** A local-scope CIDR identity (1<<24 and up), or 2 (`reserved:world`) for `world: true`. */
  readonly identity: number;
  readonly identityLabels: readonly string[];
}

export interface Cluster {
  readonly name: string;
  readonly nodes: readonly SimNode[];
  readonly namespaceLabels: ReadonlyMap<string, Readonly<Record<string, string>>>;
  readonly workloads: ReadonlyMap<string, SimWorkload>;
  readonly externals: ReadonlyMap<string, SimExternal>;
  readonly pods: readonly SimPod[];
}

/** Identity labels Cilium's default label filter keeps; pod-template-hash and friends go. */
const FILTERED_POD_LABEL = /^(pod-template-hash|pod-template-generation|controller-revision-hash|controller-uid)$|^(statefulset\.kubernetes\.io|apps\.kubernetes\.io|batch\.kubernetes\.io)\//;

export function identityLabelsFor(opts: {
  namespace: string;
  namespaceLabels: Readonly<Record<string, string>>;
  podLabels: Readonly<Record<string, string>>;
  serviceAccount: string;
  cluster: string;
}): string[] {
  const labels = [
    `k8s:io.kubernetes.pod.namespace=${opts.namespace}`,
    `k8s:io.cilium.k8s.policy.cluster=${opts.cluster}`,
    `k8s:io.cilium.k8s.policy.serviceaccount=${opts.serviceAccount}`,
  ];
  for (const [k, v] of Object.entries(opts.namespaceLabels)) labels.push(`k8s:io.cilium.k8s.namespace.labels.${k}=${v}`);
  for (const [k, v] of Object.entries(opts.podLabels)) if (!FILTERED_POD_LABEL.test(k)) labels.push(`k8s:${k}=${v}`);
  return labels.sort();
}

const randomSuffix = (random: Random, length: number): string => {
  const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
  let s = '';
  for (let i = 0; i < length; i++) s += alphabet[random.int(0, alphabet.length - 1)];
  return s;
};

/** Builds the cluster deterministically from the spec and a seeded random source. */
export function buildCluster(spec: ClusterSpec, random: Random, nodeCount = spec.nodes): Cluster {
  const nodes: SimNode[] = Array.from({ length: nodeCount }, (_, i) => ({
    name: `sim-worker-${i + 1}`,
    index: i,
    ip: `172.18.0.${i + 2}`,
  }));
  const namespaceLabels = new Map<string, Record<string, string>>();
  for (const ns of spec.namespaces) namespaceLabels.set(ns.name, { 'kubernetes.io/metadata.name': ns.name, ...ns.labels });

  const usedIdentities = new Set<number>();
  const allocateIdentity = (labels: readonly string[]): number => {
    // Global identities live in 256..65535; a stable hash keeps them the same across runs.
    let id = 256 + (fnv1a32(labels.join(',')) % 65_000);
    while (usedIdentities.has(id)) id = id >= 65_535 ? 256 : id + 1;
    usedIdentities.add(id);
    return id;
  };
  const nextEndpointId = nodes.map(() => random.int(100, 400));
  const nextHostOctet = nodes.map(() => 10);
  let spread = 0;

  const workloads = new Map<string, SimWorkload>();
  const pods: SimPod[] = [];
  for (const w of spec.workloads) {
    const key = `${w.namespace}/${w.name}`;
    const nsLabels = namespaceLabels.get(w.namespace) ?? { 'kubernetes.io/metadata.name': w.namespace };
    const identityLabels = identityLabelsFor({
      namespace: w.namespace,
      namespaceLabels: nsLabels,
      podLabels: w.labels,
      serviceAccount: w.serviceAccount,
      cluster: spec.cluster,
    });
    const templateHash = randomSuffix(random, 10);
    const wlPods: SimPod[] = [];
    for (let r = 0; r < w.replicas; r++) {
      // Spread replicas round-robin, continuing where the previous workload stopped, as a
      // scheduler balancing pod counts roughly does.
      const node = nodes[spread++ % nodes.length]!;
      const octet = nextHostOctet[node.index]!;
      nextHostOctet[node.index] = octet + 1;
      const endpointId = nextEndpointId[node.index]!;
      nextEndpointId[node.index] = endpointId + random.int(1, 40);
      const name = w.kind === 'StatefulSet' ? `${w.name}-${r}` : `${w.name}-${templateHash}-${randomSuffix(random, 5)}`;
      const pod: SimPod = {
        namespace: w.namespace,
        name,
        workload: key,
        node,
        ip: `10.244.${node.index}.${octet}`,
        endpointId,
        labels: w.kind === 'StatefulSet' ? { ...w.labels } : { ...w.labels, 'pod-template-hash': templateHash },
        ports: w.ports,
      };
      wlPods.push(pod);
      pods.push(pod);
    }
    workloads.set(key, { ...w, key, pods: wlPods, identity: allocateIdentity(identityLabels), identityLabels });
  }

  const externals = new Map<string, SimExternal>();
  let cidrIdentity = 16_777_217;
  for (const e of spec.externals) {
    externals.set(`external/${e.name}`, {
      ...e,
      identity: e.world ? 2 : cidrIdentity++,
      identityLabels: e.world ? ['reserved:world'] : [`cidr:${e.cidr}`, 'reserved:world'],
    });
  }
  return { name: spec.cluster, nodes, namespaceLabels, workloads, externals, pods };
}

/** A random address inside an IPv4 CIDR (host part never all-zeros). */
export function addressIn(cidr: string, random: Random): string {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const octets = (base ?? '0.0.0.0').split('.').map(Number);
  const baseNum = (((octets[0] ?? 0) << 24) | ((octets[1] ?? 0) << 16) | ((octets[2] ?? 0) << 8) | (octets[3] ?? 0)) >>> 0;
  const hostBits = 32 - bits;
  const span = hostBits >= 31 ? 0x7fffffff : 2 ** hostBits;
  const mask = hostBits === 32 ? 0 : (0xffffffff << hostBits) >>> 0;
  const n = ((baseNum & mask) + (span > 2 ? random.int(1, span - 2) : 0)) >>> 0;
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}
