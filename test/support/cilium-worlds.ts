/**
 * Small clusters ("worlds") for the differential test against Cilium's engine: endpoints given
 * once and rendered two ways, as cilium-judge endpoints (identity labels, IPs, DNS names,
 * container ports) and as the Hubble flows Rampart evaluates, so both engines judge the same
 * connection. Also a seeded generator of random worlds mixing NetworkPolicy, CNP and CCNP.
 */
import type { Flow, Layer4 } from '../../core/flow/index.js';
import { createEvaluator, parsePolicy, type ClusterNamedPortResolver, type NamedPortResolver, type Policy } from '../../core/policy/index.js';
import { aFlow, aPod, aReserved, tcp, udp, sctp } from './builders.js';
import type { JudgeCase, JudgeEndpoint, JudgeRequest, JudgeResult } from './cilium-judge.js';

export interface WorldPort {
  readonly name: string;
  readonly port: number;
  readonly protocol: 'TCP' | 'UDP';
}

export type WorldEndpoint =
  | { readonly kind: 'pod'; readonly namespace: string; readonly name: string; readonly labels: Readonly<Record<string, string>>; readonly ip: string; readonly ports?: readonly WorldPort[] }
  | { readonly kind: 'external'; readonly ip: string; readonly names?: readonly string[] }
  | { readonly kind: 'reserved'; readonly name: 'health' | 'kube-apiserver' | 'ingress'; readonly ip: string };

export interface WorldCase {
  readonly src: number;
  readonly dst: number;
  readonly proto: 'TCP' | 'UDP' | 'SCTP' | 'ICMP';
  readonly port: number;
}

export interface World {
  readonly policies: readonly unknown[];
  readonly endpoints: readonly WorldEndpoint[];
  readonly cases: readonly WorldCase[];
}

export const NAMESPACE_LABELS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  shop: { team: 'a' },
  data: { team: 'b' },
  other: { team: 'c' },
};

function podEndpoint(e: Extract<WorldEndpoint, { kind: 'pod' }>) {
  return aPod({ namespace: e.namespace, labels: e.labels, namespaceLabels: NAMESPACE_LABELS[e.namespace] ?? {}, name: e.name });
}

export function judgeRequest(world: World): JudgeRequest {
  const endpoints: JudgeEndpoint[] = world.endpoints.map((e) => {
    switch (e.kind) {
      case 'pod':
        return { kind: 'pod', labels: podEndpoint(e).labels, ports: e.ports ?? [] };
      case 'external':
        return { kind: 'external', ip: e.ip, names: e.names ?? [] };
      case 'reserved':
        return { kind: 'reserved', labels: [`reserved:${e.name}`] };
    }
  });
  const cases: JudgeCase[] = world.cases.map((c) => ({ src: c.src, dst: c.dst, proto: c.proto, port: c.port }));
  return { policies: world.policies, endpoints, cases };
}

function l4Of(c: WorldCase): Layer4 {
  switch (c.proto) {
    case 'TCP':
      return tcp(c.port);
    case 'UDP':
      return udp(c.port);
    case 'SCTP':
      return sctp(c.port);
    case 'ICMP':
      return { protocol: 'ICMPv4', sourcePort: 0, destinationPort: 0, flags: null, icmpType: c.port, icmpCode: 0 };
  }
}

export function flowOf(world: World, c: WorldCase): Flow {
  const endpoint = (e: WorldEndpoint): Flow['source'] => {
    switch (e.kind) {
      case 'pod':
        return podEndpoint(e);
      case 'external':
        return { kind: 'external', id: null, identity: 2, labels: ['reserved:world'] };
      case 'reserved':
        return aReserved(e.name);
    }
  };
  const src = world.endpoints[c.src]!;
  const dst = world.endpoints[c.dst]!;
  const flow = aFlow({ source: endpoint(src), destination: endpoint(dst), l4: l4Of(c), ip: { source: src.ip, destination: dst.ip, version: 4 } });
  return dst.kind === 'external' && dst.names !== undefined && dst.names.length > 0 ? { ...flow, destinationNames: dst.names } : flow;
}

/** Named ports the way Cilium resolves them: on the pod for ingress, over every pod for egress (pkg/types portmap.go). */
export function resolversOf(world: World): { namedPorts: NamedPortResolver; clusterNamedPorts: ClusterNamedPortResolver } {
  const pods = world.endpoints.filter((e): e is Extract<WorldEndpoint, { kind: 'pod' }> => e.kind === 'pod');
  const namedPorts: NamedPortResolver = (ns, podName, name, protocol) => {
    const pod = pods.find((p) => p.namespace === ns && p.name === podName);
    if (pod === undefined) return undefined;
    const port = (pod.ports ?? []).find((p) => p.name === name);
    return port !== undefined && port.protocol === protocol ? port.port : null;
  };
  const clusterNamedPorts: ClusterNamedPortResolver = (name, protocol) => {
    const numbers = new Set<number>();
    for (const pod of pods) for (const p of pod.ports ?? []) if (p.name === name && p.protocol === protocol) numbers.add(p.port);
    return numbers.size === 1 ? [...numbers][0]! : null;
  };
  return { namedPorts, clusterNamedPorts };
}

export function parseWorldPolicies(world: World): Policy[] {
  return world.policies.map((raw, i) => {
    const r = parsePolicy(raw, `policies[${i}]`);
    if (!r.ok) throw new Error(`generated policy ${i} does not parse: ${JSON.stringify(r.error)}\n${JSON.stringify(raw)}`);
    return r.value;
  });
}

export interface Disagreement {
  readonly world: World;
  readonly case: WorldCase;
  readonly side: 'egress' | 'ingress';
  readonly rampart: string;
  readonly cilium: string;
  readonly reason: string;
}

/** Evaluates every case of a world with Rampart's engine and compares with Cilium's answers. */
export function compareWorld(world: World, cilium: readonly JudgeResult[]): { sides: number; disagreements: Disagreement[] } {
  const evaluator = createEvaluator(parseWorldPolicies(world));
  const options = resolversOf(world);
  const disagreements: Disagreement[] = [];
  let sides = 0;
  world.cases.forEach((c, i) => {
    const src = world.endpoints[c.src]!;
    const dst = world.endpoints[c.dst]!;
    const e = evaluator.evaluate(flowOf(world, c), { egress: src.kind === 'pod', ingress: dst.kind === 'pod' }, options);
    const want = cilium[i]!;
    for (const side of ['egress', 'ingress'] as const) {
      sides++;
      if (e[side] !== want[side]) disagreements.push({ world, case: c, side, rampart: e[side], cilium: want[side], reason: e.reason });
    }
  });
  return { sides, disagreements };
}

/** A seeded PRNG (mulberry32): the same seed gives the same worlds on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The `hubble observe -o json` line of a world's case (a connection start: a TCP SYN, or the
 * first UDP/SCTP/ICMP packet of its 5-tuple), with `destination_names` for named externals.
 * `n` makes the source port unique, so every line is its own connection.
 */
export function flowLineOf(world: World, c: WorldCase, n: number): string {
  const record = (e: WorldEndpoint, local: boolean): Record<string, unknown> => {
    switch (e.kind) {
      case 'pod': {
        const pod = podEndpoint(e);
        return { ...(local ? { ID: 100 + world.endpoints.indexOf(e) } : {}), identity: pod.identity, namespace: e.namespace, labels: pod.labels, pod_name: e.name };
      }
      case 'external':
        return { identity: 2, labels: ['reserved:world'] };
      case 'reserved':
        return { identity: aReserved(e.name).identity, labels: [`reserved:${e.name}`] };
    }
  };
  const src = world.endpoints[c.src]!;
  const dst = world.endpoints[c.dst]!;
  const sport = 20_000 + n;
  const l4 =
    c.proto === 'TCP' ? { TCP: { source_port: sport, destination_port: c.port, flags: { SYN: true } } }
    : c.proto === 'UDP' ? { UDP: { source_port: sport, destination_port: c.port } }
    : c.proto === 'SCTP' ? { SCTP: { source_port: sport, destination_port: c.port } }
    : { ICMPv4: { type: c.port, code: n % 200 } };
  const flow: Record<string, unknown> = {
    time: `2026-01-01T00:00:${String(n % 60).padStart(2, '0')}.000000000Z`,
    uuid: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    verdict: 'FORWARDED',
    IP: { source: src.ip, destination: dst.ip, ipVersion: 'IPv4' },
    l4,
    source: record(src, src.kind === 'pod'),
    destination: record(dst, dst.kind === 'pod'),
    Type: 'L3_L4',
    node_name: 'node-1',
    event_type: { type: 4 },
    trace_observation_point: 'TO_ENDPOINT',
    is_reply: false,
    ...(dst.kind === 'external' && (dst.names?.length ?? 0) > 0 ? { destination_names: dst.names } : {}),
  };
  return JSON.stringify({ flow, node_name: 'node-1', time: flow['time'] });
}

/** The world's pods as `kubectl get pods -A -o json` prints them (named container ports). */
export function podListOf(world: World): Record<string, unknown> {
  const items = world.endpoints
    .filter((e): e is Extract<WorldEndpoint, { kind: 'pod' }> => e.kind === 'pod')
    .map((e) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: e.name, namespace: e.namespace, labels: e.labels },
      spec: { containers: [{ name: 'main', image: 'x', ports: (e.ports ?? []).map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol })) }] },
    }));
  return { apiVersion: 'v1', kind: 'List', items };
}
