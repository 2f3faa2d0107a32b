/**
 * Builders for Hubble `flow.Flow` records in the proto-loader object shape (keepCase, enums
 * as names, `google.protobuf.BoolValue` as `{ value }`, timestamps as `{ seconds, nanos }`):
 * what a Hubble server publishes and what `hubble observe -o jsonpb` prints after mapping.
 */
import type { SimExternal, SimNode, SimPod, SimWorkload } from './cluster.js';
import { liveIdentity } from './live-identity.js';

export interface EndpointRecord {
  ID?: number;
  identity: number;
  namespace?: string;
  labels: string[];
  pod_name?: string;
  workloads?: { name: string; kind: string }[];
}

export interface TcpFlagsRecord {
  SYN?: boolean;
  ACK?: boolean;
  FIN?: boolean;
  RST?: boolean;
  PSH?: boolean;
}

export type Layer4Record =
  | { TCP: { source_port: number; destination_port: number; flags: TcpFlagsRecord }; protocol: 'TCP' }
  | { UDP: { source_port: number; destination_port: number }; protocol: 'UDP' };

/** One Hubble flow as the simulator publishes it. */
export interface FlowRecord {
  time: { seconds: number; nanos: number };
  uuid: string;
  emitter?: { name: string; version: string };
  verdict: 'FORWARDED' | 'DROPPED';
  drop_reason?: number;
  drop_reason_desc?: string;
  IP: { source: string; destination: string; ipVersion: 'IPv4' };
  l4: Layer4Record;
  source: EndpointRecord;
  destination: EndpointRecord;
  Type: 'L3_L4';
  node_name: string;
  event_type: { type: number; sub_type?: number };
  traffic_direction?: 'INGRESS' | 'EGRESS';
  trace_observation_point?: 'TO_ENDPOINT' | 'TO_OVERLAY' | 'TO_STACK';
  trace_reason?: 'NEW' | 'ESTABLISHED' | 'REPLY';
  is_reply?: { value: boolean };
  policy_match_type?: number;
  destination_service?: { name: string; namespace: string };
  /** DNS names of an external destination (toFQDNs reads them). */
  destination_names?: string[];
  interface?: { index: number; name: string };
  Summary: string;
}

/** Event types (hubble.md 2.3). */
export const EVENT_DROP = 1;
export const EVENT_TRACE = 4;
export const EVENT_POLICY_VERDICT = 5;
/** Datapath observation-point numbers carried in `event_type.sub_type` of traces. */
export const TRACE_SUB_TYPE = { TO_ENDPOINT: 0, TO_STACK: 3, TO_OVERLAY: 4 } as const;
export const POLICY_DENIED = 133;
/** What Cilium 1.19's Hubble puts in `emitter`; the version says these flows are simulated. */
export const EMITTER = Object.freeze({ name: 'Hubble', version: '1.19.4+rampart-sim' });

export function timestamp(timeMs: number, extraNanos = 0): { seconds: number; nanos: number } {
  const seconds = Math.floor(timeMs / 1000);
  return { seconds, nanos: Math.round((timeMs - seconds * 1000) * 1e6) + extraNanos };
}

/** A pod as seen from `observingNode`: `ID` only when the pod is local to that node. */
export function podEndpoint(pod: SimPod, workload: SimWorkload, observingNode: SimNode): EndpointRecord {
  // Kubernetes mode: the pod's labels as the API server has them now (enrollment included).
  const live = liveIdentity(pod);
  const ep: EndpointRecord = {
    identity: live?.identity ?? workload.identity,
    namespace: pod.namespace,
    labels: [...(live?.labels ?? workload.identityLabels)],
    pod_name: pod.name,
    workloads: [{ name: workload.name, kind: workload.kind }],
  };
  if (pod.node.name === observingNode.name) return { ID: pod.endpointId, ...ep };
  return ep;
}

export function externalEndpoint(external: SimExternal): EndpointRecord {
  return { identity: external.identity, labels: [...external.identityLabels] };
}

/** The node itself (kubelet probes): `reserved:host` on its own node. */
export function hostEndpoint(): EndpointRecord {
  return { identity: 1, labels: ['reserved:host'] };
}

export function tcpSummary(flags: TcpFlagsRecord): string {
  const names = (['SYN', 'ACK', 'FIN', 'RST', 'PSH'] as const).filter((f) => flags[f] === true);
  return `TCP Flags: ${names.join(', ')}`;
}
