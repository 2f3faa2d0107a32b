/**
 * The domain Flow: what Rampart needs from one Hubble `flow.Flow` (Cilium v1.19 field
 * semantics, ../shared/docs/hubble.md). Built from `hubble observe -o json` lines and from
 * gRPC messages alike, so both inputs reach the engine in one shape.
 *
 * NOTE: `ObservedVerdict` is what Cilium reported for the packet today; what the *proposed*
 * policies would do is a `Verdict` (core/policy). The two are never called the same thing.
 */

export const L4_PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ICMPv4', 'ICMPv6', 'VRRP', 'IGMP'] as const;
export type L4Protocol = (typeof L4_PROTOCOLS)[number];

export const OBSERVED_VERDICTS = [
  'VERDICT_UNKNOWN',
  'FORWARDED',
  'DROPPED',
  'ERROR',
  'AUDIT',
  'REDIRECTED',
  'TRACED',
  'TRANSLATED',
] as const;
export type ObservedVerdict = (typeof OBSERVED_VERDICTS)[number];

export const FLOW_TYPES = ['UNKNOWN_TYPE', 'L3_L4', 'L7', 'SOCK'] as const;
export type FlowType = (typeof FLOW_TYPES)[number];

export type TrafficDirection = 'ingress' | 'egress' | 'unknown';

export interface TcpFlags {
  readonly SYN: boolean;
  readonly ACK: boolean;
  readonly FIN: boolean;
  readonly RST: boolean;
}

export interface Layer4 {
  readonly protocol: L4Protocol;
  /** 0 where the protocol has no ports (ICMP). */
  readonly sourcePort: number;
  readonly destinationPort: number;
  /** TCP only; also null on a TCP record without `flags` (L7 flows, hand-written lines). */
  readonly flags: TcpFlags | null;
  /** ICMP type and code, ICMP only. */
  readonly icmpType: number | null;
  readonly icmpCode: number | null;
}

export interface Workload {
  readonly name: string;
  readonly kind: string;
}

/** Reserved identities that can appear on a flow (hubble.md 4.2). */
export type ReservedName =
  | 'host'
  | 'remote-node'
  | 'health'
  | 'init'
  | 'ingress'
  | 'unmanaged'
  | 'kube-apiserver';

interface EndpointBase {
  /** Cilium endpoint ID: set only when the endpoint is local to the reporting node. */
  readonly id: number | null;
  /** Cilium security identity (0 when absent). */
  readonly identity: number;
  /** The identity labels exactly as Hubble sent them (`k8s:app=web`, `reserved:world`, …). */
  readonly labels: readonly string[];
}

/** A Kubernetes pod, with the labels NetworkPolicy selectors read. */
export interface PodEndpoint extends EndpointBase {
  readonly kind: 'pod';
  readonly namespace: string;
  /** Empty when Hubble did not name the pod. */
  readonly podName: string;
  /** Pod labels from `k8s:` identity labels, minus the namespace and `io.cilium.k8s.*` keys. */
  readonly podLabels: Readonly<Record<string, string>>;
  /** From `k8s:io.cilium.k8s.namespace.labels.<key>=<value>`; never invented. */
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly workloads: readonly Workload[];
}

/** Outside the cluster: `reserved:world` or a `cidr:` identity; matched by ipBlock on the flow IP. */
export interface ExternalEndpoint extends EndpointBase {
  readonly kind: 'external';
}

export interface ReservedEndpoint extends EndpointBase {
  readonly kind: 'reserved';
  readonly name: ReservedName;
}

/** `reserved:unknown`, no labels, or a pod whose namespace cannot be told: never guessed. */
export interface UnknownEndpoint extends EndpointBase {
  readonly kind: 'unknown';
  readonly namespace: string | null;
  readonly podName: string;
}

export type Endpoint = PodEndpoint | ExternalEndpoint | ReservedEndpoint | UnknownEndpoint;

export interface Flow {
  /** Event time in ms since the epoch (truncated; the full precision is in `time`). */
  readonly timeMs: number;
  /** The timestamp as RFC 3339: as received from JSON, or formatted from a gRPC {seconds, nanos}. */
  readonly time: string;
  readonly uuid: string | null;
  readonly node: string;
  readonly type: FlowType;
  /** `event_type.type`: 1 drop, 4 trace, 5 policy-verdict, 7 trace-sock, 129 L7. */
  readonly eventType: number | null;
  readonly eventSubType: number | null;
  readonly observed: ObservedVerdict;
  /** `drop_reason_desc` name (e.g. POLICY_DENIED) where the flow was dropped. */
  readonly dropReason: string | null;
  readonly direction: TrafficDirection;
  /** `is_reply` (or the older `reply`); null when the server did not know. */
  readonly isReply: boolean | null;
  /** `trace_reason` name (NEW, ESTABLISHED, REPLY, …) where present. */
  readonly traceReason: string | null;
  /** `trace_observation_point` name (TO_ENDPOINT, TO_OVERLAY, …) where present. */
  readonly observationPoint: string | null;
  readonly ip: { readonly source: string; readonly destination: string; readonly version: 4 | 6 } | null;
  readonly l4: Layer4 | null;
  readonly source: Endpoint;
  readonly destination: Endpoint;
  /**
   * `destination_names`: the DNS names Cilium's DNS proxy saw resolve to the destination IP
   * (toFQDNs policies read them). Absent or empty when Hubble attached none.
   */
  readonly destinationNames?: readonly string[];
}
