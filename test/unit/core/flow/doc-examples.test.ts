/** The real example lines quoted in hubble.md (fixture hubble-doc-examples.jsonl), one named case each. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ConnectionTracker, isPolicyDrop, parseHubbleLine, type Flow, type HubbleRecord } from '../../../../core/flow/index.js';

const lines = readFileSync(new URL('../../../fixtures/flows/hubble-doc-examples.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter((l) => l !== '');

function record(n: number): HubbleRecord {
  const r = parseHubbleLine(lines[n]!);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}
function flow(n: number): Flow {
  const r = record(n);
  if (r.kind !== 'flow') throw new Error(`line ${n + 1} is ${r.kind}`);
  return r.flow;
}

describe('hubble.md example lines', () => {
  it('(a) TO_PROXY trace between two local pods: an ACK, not a start', () => {
    const f = flow(0);
    expect([f.observationPoint, f.source.kind, f.source.id, f.destination.id, f.isReply]).toEqual(['TO_PROXY', 'pod', 881, 3879, false]);
    expect(new ConnectionTracker().classify(f)).toEqual({ kind: 'skip', reason: 'not-connection-start' });
  });

  it('(b) REDIRECTED UDP verdict to a remote CoreDNS: egress side only', () => {
    const f = flow(1);
    expect([f.observed, f.destination.id, f.destination.kind === 'pod' && f.destination.namespace]).toEqual(['REDIRECTED', null, 'kube-system']);
    expect(new ConnectionTracker().classify(f)).toEqual({ kind: 'connection', egress: true, ingress: false });
  });

  it('(c) Cilium 1.19 trace: uuid and trace_reason read; host (with remote-node) to world', () => {
    const f = flow(2);
    expect([f.uuid, f.traceReason, f.source.kind === 'reserved' && f.source.name, f.destination.kind]).toEqual(['d54c1e24-8985-4710-b275-b19b15aed350', 'NEW', 'host', 'external']);
    // neither endpoint has an ID on this node: no side is evaluated here
    expect(new ConnectionTracker().classify(f)).toEqual({ kind: 'skip', reason: 'no-local-endpoint' });
  });

  it('(d) AUDIT verdict from a flux pod to the host/kube-apiserver', () => {
    const f = flow(3);
    expect(f.observed).toBe('AUDIT');
    expect(f.source).toMatchObject({ kind: 'pod', namespace: 'flux-system', podLabels: { app: 'source-controller' } });
    expect(f.source.kind === 'pod' && f.source.namespaceLabels['app.kubernetes.io/part-of']).toBe('flux');
    expect(f.destination).toMatchObject({ kind: 'reserved', name: 'host' });
  });

  it('(e) field-masked POLICY_DENIED drop: a policy drop with unknown endpoints (no labels)', () => {
    const f = flow(4);
    expect(isPolicyDrop(f)).toBe(true);
    expect([f.type, f.source.kind, f.destination.kind]).toEqual(['UNKNOWN_TYPE', 'unknown', 'unknown']);
    expect(f.destination.kind === 'unknown' && f.destination.podName).toBe('deathstar-7848d6c4d5-th9v2');
  });

  it('(f) lost event', () => {
    expect(record(5)).toMatchObject({ kind: 'lost', source: 'HUBBLE_RING_BUFFER', count: 1, node: 'kubernetes/worker1' });
  });
});
