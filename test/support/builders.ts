/**
 * Builders for flows and endpoints (style.md 2.10): `aFlow({ destination: aPod({ labels }) })`
 * instead of spread-copied literals. Two families:
 *  - domain values (`aFlow`, `aPod`, `anExternal`, `aReserved`, `anUnknown`, `tcp`, `udp`…),
 *    for code that takes a Flow;
 *  - wire records (`aFlowRecord`, `anEnvelope`, `aLostEventLine`, `toProtoLoaderShape`,
 *    `aPodManifest`), shaped exactly like `hubble observe -o json` / proto-loader output /
 *    `kubectl get pods -o json`, for parsers, fake servers and CLI fixtures.
 * Every default is a valid, realistic value; pass only what the test is about.
 */
import type {
  ExternalEndpoint,
  Flow,
  Layer4,
  PodEndpoint,
  ReservedEndpoint,
  ReservedName,
  TcpFlags,
  UnknownEndpoint,
  Workload,
} from '../../core/flow/index.js';
import { fnv1a32 } from '../../core/common/index.js';

export const DEFAULT_TIME = '2026-01-01T00:00:00.000000000Z';
export const DEFAULT_NODE = 'node-1';

let nextId = 100;

export interface PodOptions {
  readonly namespace?: string;
  readonly name?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Namespace labels; `kubernetes.io/metadata.name` is added unless given. */
  readonly namespaceLabels?: Readonly<Record<string, string>>;
  /** Cilium endpoint ID: a number when local to the reporting node (default), null when remote. */
  readonly id?: number | null;
  readonly identity?: number;
  readonly workloads?: readonly Workload[];
}

/** The identity labels Hubble would print for a pod (sorted, as Hubble sorts them). */
export function podIdentityLabels(
  namespace: string,
  labels: Readonly<Record<string, string>>,
  namespaceLabels: Readonly<Record<string, string>>,
): string[] {
  const out = [
    ...Object.entries(labels).map(([k, v]) => `k8s:${k}=${v}`),
    ...Object.entries(namespaceLabels).map(([k, v]) => `k8s:io.cilium.k8s.namespace.labels.${k}=${v}`),
    'k8s:io.cilium.k8s.policy.cluster=default',
    'k8s:io.cilium.k8s.policy.serviceaccount=default',
    `k8s:io.kubernetes.pod.namespace=${namespace}`,
  ];
  return out.sort();
}

/**
 * A pod endpoint. Like Cilium, the default security identity follows from the identity labels
 * (same labels, same identity), so two `aPod({ labels })` calls are the same workload.
 */
export function aPod(options: PodOptions = {}): PodEndpoint {
  const namespace = options.namespace ?? 'default';
  const labels = options.labels ?? { app: 'web' };
  const namespaceLabels = { 'kubernetes.io/metadata.name': namespace, ...options.namespaceLabels };
  const identityLabels = podIdentityLabels(namespace, labels, namespaceLabels);
  return {
    kind: 'pod',
    id: options.id === undefined ? nextId++ : options.id,
    identity: options.identity ?? 256 + (fnv1a32(identityLabels.join('\n')) % 60_000),
    labels: identityLabels,
    namespace,
    podName: options.name ?? `${labels['app'] ?? 'pod'}-7d9f8c6b5d-x2k4p`,
    podLabels: labels,
    namespaceLabels,
    workloads: options.workloads ?? [],
  };
}

export function anExternal(options: { readonly cidr?: string; readonly identity?: number } = {}): ExternalEndpoint {
  return {
    kind: 'external',
    id: null,
    identity: options.identity ?? (options.cidr ? 16_777_217 : 2),
    labels: options.cidr ? [`cidr:${options.cidr}`, 'reserved:world'] : ['reserved:world'],
  };
}

export function aReserved(name: ReservedName, options: { readonly id?: number | null } = {}): ReservedEndpoint {
  const identity = { host: 1, 'remote-node': 6, health: 4, init: 5, ingress: 8, unmanaged: 3, 'kube-apiserver': 7 }[name];
  return { kind: 'reserved', id: options.id ?? null, identity, labels: [`reserved:${name}`], name };
}

export function anUnknown(options: { readonly id?: number | null; readonly namespace?: string | null; readonly podName?: string } = {}): UnknownEndpoint {
  return {
    kind: 'unknown',
    id: options.id ?? null,
    identity: 0,
    labels: ['reserved:unknown'],
    namespace: options.namespace ?? null,
    podName: options.podName ?? '',
  };
}

export function tcpFlags(...set: readonly (keyof TcpFlags)[]): TcpFlags {
  return { SYN: set.includes('SYN'), ACK: set.includes('ACK'), FIN: set.includes('FIN'), RST: set.includes('RST') };
}

export function tcp(destinationPort = 8080, options: { readonly flags?: TcpFlags; readonly sourcePort?: number } = {}): Layer4 {
  return {
    protocol: 'TCP',
    sourcePort: options.sourcePort ?? 40_000,
    destinationPort,
    flags: options.flags ?? tcpFlags('SYN'),
    icmpType: null,
    icmpCode: null,
  };
}

export function udp(destinationPort = 53, sourcePort = 40_000): Layer4 {
  return { protocol: 'UDP', sourcePort, destinationPort, flags: null, icmpType: null, icmpCode: null };
}

export function sctp(destinationPort = 3868, sourcePort = 40_000): Layer4 {
  return { protocol: 'SCTP', sourcePort, destinationPort, flags: null, icmpType: null, icmpCode: null };
}

export function icmpv4(type = 8, code = 0): Layer4 {
  return { protocol: 'ICMPv4', sourcePort: 0, destinationPort: 0, flags: null, icmpType: type, icmpCode: code };
}

/**
 * A domain Flow: by default a TCP SYN from a local `app=client` pod (10.0.0.1) to a local
 * `app=server` pod (10.0.0.2) port 8080, a FORWARDED trace at TO_ENDPOINT, not a reply.
 * `timeMs` and `time` are kept consistent when only one of them is given.
 */
export function aFlow(overrides: Partial<Flow> = {}): Flow {
  const timeMs = overrides.timeMs ?? (overrides.time !== undefined ? Date.parse(overrides.time) : Date.parse(DEFAULT_TIME));
  return {
    timeMs,
    time: overrides.time ?? new Date(timeMs).toISOString(),
    uuid: null,
    node: DEFAULT_NODE,
    type: 'L3_L4',
    eventType: 4,
    eventSubType: 0,
    observed: 'FORWARDED',
    dropReason: null,
    direction: 'egress',
    isReply: false,
    traceReason: null,
    observationPoint: 'TO_ENDPOINT',
    ip: { source: '10.0.0.1', destination: '10.0.0.2', version: 4 },
    l4: tcp(),
    source: aPod({ labels: { app: 'client' } }),
    destination: aPod({ labels: { app: 'server' } }),
    ...overrides,
  };
}

/** The reply direction of a flow: endpoints, IPs and ports swapped. */
export function reversed(flow: Flow, overrides: Partial<Flow> = {}): Flow {
  const l4 = flow.l4 === null ? null : { ...flow.l4, sourcePort: flow.l4.destinationPort, destinationPort: flow.l4.sourcePort };
  return {
    ...flow,
    source: flow.destination,
    destination: flow.source,
    ip: flow.ip === null ? null : { ...flow.ip, source: flow.ip.destination, destination: flow.ip.source },
    l4,
    ...overrides,
  };
}

// ---------------------------------------------------------------------------------------------
// Wire records

export type JsonRecord = Record<string, unknown>;

export interface EndpointRecordOptions {
  readonly namespace?: string;
  readonly podName?: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly id?: number;
  readonly identity?: number;
}

/** A `flow.Endpoint` record of a pod, as Hubble prints it (no `ID` unless given). */
export function aPodRecord(options: EndpointRecordOptions = {}): JsonRecord {
  const namespace = options.namespace ?? 'default';
  const labels = options.labels ?? { app: 'web' };
  const rec: JsonRecord = {};
  if (options.id !== undefined) rec['ID'] = options.id;
  rec['identity'] = options.identity ?? 12_345;
  rec['namespace'] = namespace;
  rec['labels'] = podIdentityLabels(namespace, labels, { 'kubernetes.io/metadata.name': namespace });
  rec['pod_name'] = options.podName ?? `${labels['app'] ?? 'pod'}-7d9f8c6b5d-x2k4p`;
  return rec;
}

/**
 * A protojson `flow.Flow` record (proto names, enum names, zero values omitted) like the
 * current `hubble observe -o json` prints inside `{"flow":…}`: a TCP SYN trace between two
 * local pods. `overrides` replace top-level fields; set a field to `undefined` to drop it.
 */
export function aFlowRecord(overrides: JsonRecord = {}): JsonRecord {
  const base: JsonRecord = {
    time: DEFAULT_TIME,
    uuid: '5a3f0c52-1d2e-4a57-9a0e-6f1c2b3d4e5f',
    verdict: 'FORWARDED',
    ethernet: { source: '02:00:00:00:00:01', destination: '02:00:00:00:00:02' },
    IP: { source: '10.0.0.1', destination: '10.0.0.2', ipVersion: 'IPv4' },
    l4: { TCP: { source_port: 40_000, destination_port: 8080, flags: { SYN: true } } },
    source: aPodRecord({ labels: { app: 'client' }, podName: 'client-7d9f8c6b5d-x2k4p', id: 101, identity: 20_001 }),
    destination: aPodRecord({ labels: { app: 'server' }, podName: 'server-5c6d7f8b9c-q7w8z', id: 102, identity: 20_002 }),
    Type: 'L3_L4',
    node_name: DEFAULT_NODE,
    event_type: { type: 4 },
    traffic_direction: 'EGRESS',
    trace_observation_point: 'TO_ENDPOINT',
    is_reply: false,
    Summary: 'TCP Flags: SYN',
  };
  const out: JsonRecord = { ...base, ...overrides };
  for (const [k, v] of Object.entries(out)) if (v === undefined) delete out[k];
  return out;
}

/** `{"flow":…,"node_name":…,"time":…}`: one GetFlowsResponse as `-o jsonpb` prints it. */
export function anEnvelope(flow: JsonRecord): JsonRecord {
  return { flow, node_name: flow['node_name'] ?? DEFAULT_NODE, time: flow['time'] ?? DEFAULT_TIME };
}

/** One `-o json` line carrying a flow record. */
export function aFlowLine(overrides: JsonRecord = {}): string {
  return JSON.stringify(anEnvelope(aFlowRecord(overrides)));
}

/** One `lost_events` line (`num_events_lost` is a uint64, so a string, as protojson prints it). */
export function aLostEventLine(count = 1, source = 'HUBBLE_RING_BUFFER', node = DEFAULT_NODE, time = DEFAULT_TIME): string {
  return JSON.stringify({ lost_events: { source, num_events_lost: String(count) }, node_name: node, time });
}

/** RFC 3339 → google.protobuf.Timestamp as proto-loader decodes it (longs as numbers, zero fields omitted). */
export function toTimestamp(rfc3339: string): JsonRecord {
  const m = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/.exec(rfc3339);
  if (!m) throw new Error(`not an RFC 3339 timestamp: ${rfc3339}`);
  const seconds = Math.floor(Date.parse(`${m[1]!}${m[3]!}`) / 1000);
  const nanos = m[2] === undefined ? 0 : Number(m[2].padEnd(9, '0'));
  const ts: JsonRecord = {};
  if (seconds !== 0) ts['seconds'] = seconds;
  if (nanos !== 0) ts['nanos'] = nanos;
  return ts;
}

const L4_BRANCHES = ['TCP', 'UDP', 'ICMPv4', 'ICMPv6', 'SCTP', 'VRRP', 'IGMP'];

/**
 * Converts a protojson flow record into what @grpc/proto-loader hands a client with
 * proto/loader.ts options: `time` as {seconds, nanos}, `is_reply` as a BoolValue wrapper
 * (`{}` when false, since defaults are off), the `l4` oneof named in `protocol`, and the
 * deprecated `reply` kept only when true.
 */
export function toProtoLoaderShape(record: JsonRecord): JsonRecord {
  const out: JsonRecord = structuredClone(record);
  if (typeof out['time'] === 'string') out['time'] = toTimestamp(out['time']);
  if (typeof out['is_reply'] === 'boolean') out['is_reply'] = out['is_reply'] ? { value: true } : {};
  if (out['reply'] === false) delete out['reply'];
  const l4 = out['l4'];
  if (typeof l4 === 'object' && l4 !== null) {
    const branch = L4_BRANCHES.find((b) => (l4 as JsonRecord)[b] !== undefined);
    if (branch !== undefined) (l4 as JsonRecord)['protocol'] = branch;
  }
  return out;
}

export interface ContainerPortSpec {
  readonly name?: string;
  readonly containerPort: number;
  readonly protocol?: 'TCP' | 'UDP' | 'SCTP';
}

/** A Pod manifest as `kubectl get pods -A -o json` lists it (only the fields Rampart reads, plus realistic metadata). */
export function aPodManifest(options: {
  readonly namespace?: string;
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ports?: readonly ContainerPortSpec[];
  readonly podIP?: string;
}): JsonRecord {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: options.name, namespace: options.namespace ?? 'default', labels: options.labels ?? {} },
    spec: {
      containers: [
        {
          name: 'main',
          image: 'registry.example/app:1.0',
          ports: (options.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'TCP' })),
        },
      ],
    },
    status: { phase: 'Running', podIP: options.podIP ?? '10.0.0.2' },
  };
}

/** `kubectl get pods -A -o json` output around some pods. */
export function aPodList(pods: readonly JsonRecord[]): JsonRecord {
  return { apiVersion: 'v1', kind: 'List', items: pods, metadata: { resourceVersion: '' } };
}
