import { describe, expect, it } from 'vitest';
import { countsOnThisNode, MAX_LABEL_CHARS, MAX_PEER_LABELS, MAX_WINDOW_LABEL_CHARS, mergeObservedEdges, ObservedEdgeCollector, observedPeerOf, peerName } from '../../../../core/summary/index.js';
import { aFlow, anExternal, aPod, aReserved, tcp, udp } from '../../../support/builders.js';

const from = aPod({ namespace: 'shop', name: 'frontend-6b746f74dc-9rcxx', labels: { app: 'frontend', 'pod-template-hash': '6b746f74dc' } });
const to = aPod({ namespace: 'shop', name: 'api-5c9d7b8f6d-abcde', labels: { app: 'api' } });

describe('observed edges (agent side)', () => {
  it('folds connections to workloads, never pods or IPs, and counts them', () => {
    const c = new ObservedEdgeCollector(10);
    c.add(aFlow({ source: from, destination: to, l4: tcp(8080), timeMs: 1000 }));
    c.add(aFlow({ source: aPod({ namespace: 'shop', name: 'frontend-6b746f74dc-zzzzz', labels: { app: 'frontend' } }), destination: to, l4: tcp(8080), timeMs: 3000 }));
    c.add(aFlow({ source: from, destination: to, l4: udp(53), timeMs: 2000 }));
    const { edges, overflow } = c.flush();
    expect(overflow).toBe(0);
    expect(edges.map((e) => `${peerName(e.from)}→${peerName(e.to)}:${e.port}/${e.protocol}=${e.count}`)).toEqual(['shop/frontend→shop/api:8080/TCP=2', 'shop/frontend→shop/api:53/UDP=1']);
    expect(edges[0]).toMatchObject({ firstSeenMs: 1000, lastSeenMs: 3000 });
    const text = JSON.stringify(edges);
    expect(text).not.toContain('9rcxx');
    expect(text).not.toContain('10.0.0.');
    // The representative labels are the first identity's, for judging selectors later.
    expect(edges[0]!.from.labels).toEqual({ app: 'frontend', 'pod-template-hash': '6b746f74dc' });
    expect(edges[0]!.from.namespaceLabels).toEqual({ 'kubernetes.io/metadata.name': 'shop' });
    expect(c.flush().edges).toEqual([]);
  });

  it('keeps memory bounded under a flood of distinct workloads: the rest is counted as overflow', () => {
    const c = new ObservedEdgeCollector(50);
    for (let i = 0; i < 5000; i++) c.add(aFlow({ source: aPod({ namespace: 'flood', labels: { app: `w${i}` } }), destination: to }));
    expect(c.size).toBe(50);
    const { edges, overflow } = c.flush();
    expect(edges).toHaveLength(50);
    expect(overflow + edges.reduce((s, e) => s + e.count, 0)).toBe(5000);
  });

  it('bounds the labels of an end and marks it partial', () => {
    const labels = Object.fromEntries(Array.from({ length: MAX_PEER_LABELS + 5 }, (_, i) => [`k${String(i).padStart(3, '0')}`, 'v']));
    const p = observedPeerOf(aPod({ namespace: 'x', labels: { app: 'a', ...labels } }));
    expect(Object.keys(p.labels)).toHaveLength(MAX_PEER_LABELS);
    expect(p.labelsPartial).toBe(true);
    expect(observedPeerOf(aPod({ labels: { app: 'a' } })).labelsPartial).toBe(false);
    expect(observedPeerOf(anExternal())).toMatchObject({ kind: 'external', workload: 'world', labels: {} });
    expect(observedPeerOf(aReserved('host'))).toMatchObject({ kind: 'reserved', workload: 'reserved:host' });
  });

  it('bounds the label bytes of a window: edges past the budget keep counts, lose labels, and are marked partial', () => {
    const c = new ObservedEdgeCollector(2000);
    const big = (i: number): Record<string, string> => Object.fromEntries(Array.from({ length: MAX_PEER_LABELS }, (_, k) => [`k${k}`.padEnd(100, 'k'), `${i}`.padEnd(MAX_LABEL_CHARS, 'v')]));
    for (let i = 0; i < 400; i++) c.add(aFlow({ source: aPod({ namespace: 'big', labels: { app: `w${i}`, ...big(i) } }), destination: to }));
    const { edges } = c.flush();
    expect(edges).toHaveLength(400);
    const chars = edges.reduce((n, e) => n + [e.from, e.to].reduce((m, p) => m + Object.entries({ ...p.labels, ...p.namespaceLabels }).reduce((x, [k, v]) => x + k.length + v.length, 0), 0), 0);
    expect(chars).toBeLessThanOrEqual(MAX_WINDOW_LABEL_CHARS);
    expect(edges.some((e) => e.from.labelsPartial && Object.keys(e.from.labels).length === 0)).toBe(true);
    const merged = mergeObservedEdges(edges, 0, edges.map((e) => ({ ...e, port: 1 })), 0, 2000);
    const mergedChars = merged.edges.reduce((n, e) => n + Object.entries(e.from.labels).reduce((x, [k, v]) => x + k.length + v.length, 0), 0);
    expect(mergedChars).toBeLessThanOrEqual(MAX_WINDOW_LABEL_CHARS);
  });

  it('counts a pod-to-pod connection on the source node only, and outside sources on the destination node', () => {
    const f = aFlow({ source: from, destination: to });
    expect(countsOnThisNode(f, true, false)).toBe(true);
    expect(countsOnThisNode(f, false, true)).toBe(false);
    expect(countsOnThisNode(aFlow({ source: anExternal(), destination: to }), false, true)).toBe(true);
  });

  it('merges windows additively and moves what does not fit to overflow', () => {
    const a = new ObservedEdgeCollector(10);
    const b = new ObservedEdgeCollector(10);
    for (let i = 0; i < 3; i++) a.add(aFlow({ source: from, destination: to, timeMs: 10 + i }));
    b.add(aFlow({ source: from, destination: to, timeMs: 5 }));
    b.add(aFlow({ source: to, destination: from, timeMs: 50 }));
    const fa = a.flush();
    const fb = b.flush();
    const m = mergeObservedEdges(fa.edges, 2, fb.edges, 1, 1);
    expect(m.edges).toHaveLength(1);
    expect(m.edges[0]).toMatchObject({ count: 4, firstSeenMs: 5, lastSeenMs: 12 });
    expect(m.overflow).toBe(2 + 1 + 1);
  });
});
