/**
 * One sample flow per edge, printed as a `hubble observe -o json` line so that people (and
 * `rampart evaluate`) can read it back. Only the fields a verdict depends on are written:
 * the sample is for explaining an edge, and it rides in every report.
 */
import type { Endpoint, Flow } from '../../core/flow/index.js';

function endpointJson(e: Endpoint): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (e.id !== null) out.ID = e.id;
  out.identity = e.identity;
  if (e.kind === 'pod') {
    out.namespace = e.namespace;
    if (e.podName !== '') out.pod_name = e.podName;
    if (e.workloads.length > 0) out.workloads = e.workloads.map((w) => ({ name: w.name, kind: w.kind }));
  } else if (e.kind === 'unknown') {
    if (e.namespace !== null) out.namespace = e.namespace;
    if (e.podName !== '') out.pod_name = e.podName;
  }
  out.labels = e.labels;
  return out;
}

export function sampleFlowJson(flow: Flow): string {
  const f: Record<string, unknown> = { time: flow.time };
  if (flow.uuid !== null) f.uuid = flow.uuid;
  f.verdict = flow.observed;
  if (flow.dropReason !== null) f.drop_reason_desc = flow.dropReason;
  if (flow.ip) f.IP = { source: flow.ip.source, destination: flow.ip.destination, ipVersion: flow.ip.version === 6 ? 'IPv6' : 'IPv4' };
  const l4 = flow.l4;
  if (l4) {
    if (l4.protocol === 'ICMPv4' || l4.protocol === 'ICMPv6') {
      f.l4 = { [l4.protocol]: { type: l4.icmpType ?? 0, code: l4.icmpCode ?? 0 } };
    } else {
      const ports: Record<string, unknown> = { source_port: l4.sourcePort, destination_port: l4.destinationPort };
      if (l4.flags) ports.flags = Object.fromEntries(Object.entries(l4.flags).filter(([, v]) => v));
      f.l4 = { [l4.protocol]: ports };
    }
  }
  f.source = endpointJson(flow.source);
  f.destination = endpointJson(flow.destination);
  f.Type = flow.type;
  f.node_name = flow.node;
  if (flow.eventType !== null) f.event_type = flow.eventSubType === null ? { type: flow.eventType } : { type: flow.eventType, sub_type: flow.eventSubType };
  if (flow.direction !== 'unknown') f.traffic_direction = flow.direction.toUpperCase();
  if (flow.observationPoint !== null) f.trace_observation_point = flow.observationPoint;
  if (flow.traceReason !== null) f.trace_reason = flow.traceReason;
  if (flow.isReply !== null) f.is_reply = flow.isReply;
  return JSON.stringify({ flow: f, node_name: flow.node, time: flow.time });
}
