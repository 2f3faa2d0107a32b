import { describe, expect, it } from 'vitest';
import { endpointFromRecord, flowFromRecord, formatTimestamp, type Endpoint, type Flow } from '../../../../core/flow/index.js';
import type { Problem } from '../../../../core/common/index.js';
import { aFlowRecord, toProtoLoaderShape, toTimestamp } from '../../../support/builders.js';
import { readCaptures } from './captures.js';

function flowOk(record: unknown): Flow {
  const r = flowFromRecord(record);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

function endpoint(record: unknown): Endpoint {
  const problems: Problem[] = [];
  const e = endpointFromRecord(record, 'source', problems);
  expect(problems).toEqual([]);
  return e;
}

describe('endpointFromRecord: identity labels (product.md "Evaluating a flow" 3)', () => {
  it('pod labels are the k8s: labels minus the namespace and io.cilium.k8s.* keys', () => {
    const e = endpoint({
      ID: 881,
      identity: 3418,
      namespace: 'bookinfo',
      labels: [
        'k8s:app=productpage',
        'k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name=bookinfo',
        'k8s:io.cilium.k8s.policy.cluster=kind-kind',
        'k8s:io.cilium.k8s.policy.serviceaccount=bookinfo-productpage',
        'k8s:io.kubernetes.pod.namespace=bookinfo',
        'k8s:sidecar.opentelemetry.io/injected=bookinfo.otelcol-bookinfo',
        'k8s:version=v1',
      ],
      pod_name: 'productpage-v1-6b746f74dc-9rcxx',
    });
    expect(e).toMatchObject({
      kind: 'pod',
      id: 881,
      identity: 3418,
      namespace: 'bookinfo',
      podName: 'productpage-v1-6b746f74dc-9rcxx',
      podLabels: { app: 'productpage', 'sidecar.opentelemetry.io/injected': 'bookinfo.otelcol-bookinfo', version: 'v1' },
      namespaceLabels: { 'kubernetes.io/metadata.name': 'bookinfo' },
    });
    expect(e.kind === 'pod' && Object.keys(e.podLabels)).toHaveLength(3);
  });

  it('namespace labels keep keys with dots and slashes after the prefix', () => {
    const e = endpoint({
      labels: ['k8s:io.cilium.k8s.namespace.labels.app.kubernetes.io/part-of=flux', 'k8s:io.kubernetes.pod.namespace=flux-system', 'k8s:app=source-controller'],
    });
    expect(e).toMatchObject({ kind: 'pod', namespace: 'flux-system', namespaceLabels: { 'app.kubernetes.io/part-of': 'flux' } });
  });

  it('the namespace comes from the pod-namespace label when endpoint.namespace is absent', () => {
    expect(endpoint({ labels: ['k8s:app=x', 'k8s:io.kubernetes.pod.namespace=shop'] })).toMatchObject({ kind: 'pod', namespace: 'shop' });
  });

  it('endpoint.namespace wins over the label', () => {
    expect(endpoint({ namespace: 'a', labels: ['k8s:app=x', 'k8s:io.kubernetes.pod.namespace=b'] })).toMatchObject({ namespace: 'a' });
  });

  it('a label without "=" has an empty value', () => {
    expect(endpoint({ namespace: 'a', labels: ['k8s:canary'] })).toMatchObject({ podLabels: { canary: '' } });
  });

  const kinds: readonly { name: string; record: unknown; expected: Partial<Record<string, unknown>> }[] = [
    { name: 'reserved:world → external', record: { identity: 2, labels: ['reserved:world'] }, expected: { kind: 'external' } },
    { name: 'cidr: → external', record: { identity: 16777217, labels: ['cidr:10.0.0.0/8', 'reserved:world'] }, expected: { kind: 'external' } },
    { name: 'kube-apiserver + world → external', record: { identity: 16777217, labels: ['reserved:kube-apiserver', 'reserved:world'] }, expected: { kind: 'external' } },
    { name: 'reserved:host', record: { identity: 1, labels: ['reserved:host'] }, expected: { kind: 'reserved', name: 'host' } },
    { name: 'host + remote-node (TKE identity 1) → host', record: { identity: 1, labels: ['reserved:host', 'reserved:remote-node'] }, expected: { kind: 'reserved', name: 'host' } },
    { name: 'host + kube-apiserver → host', record: { identity: 1, labels: ['reserved:host', 'reserved:kube-apiserver'] }, expected: { kind: 'reserved', name: 'host' } },
    { name: 'remote-node', record: { identity: 6, labels: ['reserved:remote-node'] }, expected: { kind: 'reserved', name: 'remote-node' } },
    { name: 'kube-apiserver alone', record: { identity: 7, labels: ['reserved:kube-apiserver'] }, expected: { kind: 'reserved', name: 'kube-apiserver' } },
    { name: 'health', record: { ID: 132, identity: 4, labels: ['reserved:health'] }, expected: { kind: 'reserved', name: 'health', id: 132 } },
    { name: 'reserved:unknown → unknown', record: { identity: 0, labels: ['reserved:unknown'] }, expected: { kind: 'unknown' } },
    { name: 'no labels, namespace and pod given (field-masked export) → unknown', record: { namespace: 'default', pod_name: 'xwing' }, expected: { kind: 'unknown', namespace: 'default', podName: 'xwing' } },
    { name: 'no endpoint at all → unknown', record: undefined, expected: { kind: 'unknown', namespace: null } },
    { name: 'k8s labels without any namespace → unknown', record: { labels: ['k8s:app=x'] }, expected: { kind: 'unknown' } },
    { name: 'no labels, identity 2 → external (fixed reserved identity)', record: { identity: 2 }, expected: { kind: 'external' } },
    { name: 'no labels, identity 1 → host', record: { identity: 1 }, expected: { kind: 'reserved', name: 'host' } },
    { name: 'no labels, a normal identity → unknown', record: { identity: 12345 }, expected: { kind: 'unknown' } },
    { name: 'ID 0 means unset', record: { ID: 0, identity: 1, labels: ['reserved:host'] }, expected: { id: null } },
  ];
  it.each(kinds)('$name', ({ record, expected }) => {
    expect(endpoint(record)).toMatchObject(expected);
  });

  it('reads workloads', () => {
    expect(endpoint({ namespace: 'a', labels: ['k8s:app=x'], workloads: [{ name: 'api', kind: 'Deployment' }] })).toMatchObject({ workloads: [{ name: 'api', kind: 'Deployment' }] });
  });
});

describe('flowFromRecord: protojson and proto-loader shapes agree', () => {
  it('timestamps: {seconds, nanos} formats like protojson', () => {
    expect(formatTimestamp(1636540856, 465597700)).toBe('2021-11-10T10:40:56.465597700Z');
    expect(formatTimestamp(1636540856, 0)).toBe('2021-11-10T10:40:56Z');
    expect(toTimestamp('2021-11-10T10:40:56.4655977Z')).toEqual({ seconds: 1636540856, nanos: 465597700 });
  });

  it('a false BoolValue arrives as {} with defaults off and means "not a reply"', () => {
    expect(flowOk({ ...aFlowRecord(), is_reply: {} }).isReply).toBe(false);
    expect(flowOk({ ...aFlowRecord(), is_reply: { value: true } }).isReply).toBe(true);
  });

  it('the l4 oneof name picks the branch', () => {
    const f = flowOk({ ...aFlowRecord(), l4: { UDP: { destination_port: 53 }, protocol: 'UDP' } });
    expect([f.l4?.protocol, f.l4?.sourcePort, f.l4?.destinationPort]).toEqual(['UDP', 0, 53]);
  });

  it('enums sent as numbers are read too', () => {
    const f = flowOk({ ...aFlowRecord(), verdict: 2, Type: 1, traffic_direction: 1, trace_observation_point: 101, trace_reason: 1, drop_reason_desc: 181 });
    expect([f.observed, f.type, f.direction, f.observationPoint, f.traceReason, f.dropReason]).toEqual(['DROPPED', 'L3_L4', 'ingress', 'TO_ENDPOINT', 'NEW', 'POLICY_DENY']);
  });

  it('every real capture line maps to the same Flow from both shapes', () => {
    let compared = 0;
    for (const capture of readCaptures()) {
      for (const { record } of capture.lines) {
        const flow = record['flow'] as Record<string, unknown>;
        const fromJson = flowOk(flow);
        const fromGrpc = flowOk(toProtoLoaderShape(flow));
        expect({ ...fromGrpc, time: '' }).toEqual({ ...fromJson, time: '' });
        expect(Date.parse(fromGrpc.time)).toBe(Date.parse(fromJson.time));
        compared++;
      }
    }
    expect(compared).toBe(1906);
  });
});
