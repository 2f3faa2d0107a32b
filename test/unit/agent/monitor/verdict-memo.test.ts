/**
 * The pipeline's verdict memo gives what evaluating every contract afresh gives: over every
 * capture in ../shared/flows (where it hits a lot), and for inputs that share labels but must
 * not share verdicts (namespace, external address, port, sides).
 */
import { describe, expect, it } from 'vitest';
import { networkPolicyEngine as engine } from '../../../../agent/monitor/policy-engine.js';
import type { ConnectionVerdict } from '../../../../agent/monitor/ports.js';
import { VerdictMemo, MAX_MEMO_ENTRIES } from '../../../../agent/monitor/verdict-memo.js';
import { benchContracts } from '../../../../bench/agent-contracts.js';
import { ConnectionTracker, parseHubbleLine, type Endpoint, type Flow } from '../../../../core/flow/index.js';
import { keyedEdgeOf, observedEdgeIdOf } from '../../../../core/summary/index.js';
import type { ContractEvaluator } from '../../../../agent/monitor/policy-engine.js';
import { aFlow, anExternal, aPod, tcp, udp } from '../../../support/builders.js';
import { readCaptures } from '../../core/flow/captures.js';

const sets: ContractEvaluator[] = benchContracts(8).contracts.map((c) => {
  const r = engine.compile(c.policies);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
});
const pick = (v: ConnectionVerdict): ConnectionVerdict => ({ egress: v.egress, ingress: v.ingress });
const fresh = (flow: Flow, egress: boolean, ingress: boolean): ConnectionVerdict[] => sets.map((s) => pick(engine.evaluate(s, flow, { egress, ingress })));

/** What the pipeline does: look up, else evaluate every contract and remember. */
function viaMemo(memo: VerdictMemo, flow: Flow, egress: boolean, ingress: boolean): ConnectionVerdict[] {
  const hit = memo.lookup(flow, egress, ingress);
  if (hit !== undefined) return hit.map(pick);
  const computed = sets.map((s) => engine.evaluate(s, flow, { egress, ingress }));
  memo.remember(flow, egress, ingress, computed);
  return computed.map(pick);
}

describe('VerdictMemo', () => {
  it('agrees with fresh evaluation on every connection of every capture', () => {
    const memo = new VerdictMemo();
    const tracker = new ConnectionTracker();
    let connections = 0;
    for (const capture of readCaptures()) {
      for (const line of capture.lines) {
        const r = parseHubbleLine(line.text);
        if (!r.ok || r.value.kind !== 'flow') continue;
        const flow = r.value.flow;
        const c = tracker.classify(flow);
        if (c.kind === 'skip') continue;
        connections++;
        expect(viaMemo(memo, flow, c.egress, c.ingress), `${capture.file}:${line.lineNumber}`).toEqual(fresh(flow, c.egress, c.ingress));
      }
    }
    expect(connections).toBeGreaterThan(100);
    expect(memo.hits).toBeGreaterThan(0);
  });

  it('keeps apart what shares identity labels but not the inputs of a verdict', () => {
    const memo = new VerdictMemo();
    const web = aPod({ namespace: 'bookinfo', labels: { app: 'productpage', version: 'v1' }, identity: 300 });
    const reviews = aPod({ namespace: 'bookinfo', labels: { app: 'reviews' }, identity: 301 });
    // Same labels array and identity, another namespace field: must not hit.
    const elsewhere: Endpoint = { ...reviews, namespace: 'default' };
    const world = anExternal({ identity: 2 });
    const cases: Flow[] = [
      aFlow({ source: web, destination: reviews, l4: tcp(9080) }),
      aFlow({ source: web, destination: reviews, l4: tcp(9081) }),
      aFlow({ source: web, destination: reviews, l4: udp(9080) }),
      aFlow({ source: web, destination: elsewhere, l4: tcp(9080) }),
      aFlow({ source: web, destination: world, ip: { source: '10.1.0.1', destination: '10.0.0.9', version: 4 }, l4: tcp(443) }),
      aFlow({ source: web, destination: world, ip: { source: '10.1.0.1', destination: '10.3.0.9', version: 4 }, l4: tcp(443) }),
      aFlow({ source: web, destination: world, ip: { source: '10.1.0.1', destination: '192.168.0.9', version: 4 }, l4: tcp(443) }),
    ];
    for (let round = 0; round < 2; round++) {
      for (const flow of cases) {
        for (const [egress, ingress] of [[true, true], [true, false], [false, true]] as const) {
          expect(viaMemo(memo, flow, egress, ingress)).toEqual(fresh(flow, egress, ingress));
        }
      }
    }
    // Inputs that share a slot (same labels, port, protocol, sides) replace each other, so only
    // the two flows with a slot of their own (other port, other protocol) hit in round two.
    expect(memo.hits).toBe(2 * 3);
    // The external peer's address decides egress-web's ipBlock (contract 0 excepts 10.0.0.0/16).
    const verdictsByAddress = new Set(cases.slice(4).map((f) => JSON.stringify(fresh(f, true, false))));
    expect(verdictsByAddress.size).toBeGreaterThan(1);
  });

  it("gives a hit's aggregation names only when they are the flow's own", () => {
    const memo = new VerdictMemo();
    const web = aPod({ namespace: 'shop', labels: { app: 'web' }, identity: 400, workloads: [{ name: 'web-blue', kind: 'Deployment' }] });
    const db = aPod({ namespace: 'shop', labels: { app: 'db' }, identity: 401 });
    // Same identity, labels (by reference) and namespace, but Hubble names another workload:
    // the verdicts may be shared, the workload names may not.
    const green: Endpoint = { ...web, workloads: [{ name: 'web-green', kind: 'Deployment' }] };
    const blue = aFlow({ source: web, destination: db, l4: tcp(5432) });
    const other = aFlow({ source: green, destination: db, l4: tcp(5432) });
    expect(memo.names(blue)).toBeUndefined(); // nothing looked up yet
    viaMemo(memo, blue, true, true);
    expect(memo.names(blue)).toBeUndefined(); // a miss carries no names
    expect(viaMemo(memo, blue, true, true)).toEqual(fresh(blue, true, true));
    const names = memo.names(blue)!;
    expect(names.observedId).toBe(observedEdgeIdOf(blue));
    names.egress = keyedEdgeOf(blue, 'egress');
    expect(viaMemo(memo, blue, true, true)).toEqual(fresh(blue, true, true));
    expect(memo.names(blue)).toBe(names);
    expect(viaMemo(memo, other, true, true)).toEqual(fresh(other, true, true));
    expect(memo.hits).toBe(3);
    expect(memo.names(other)).toBeUndefined();
    expect(observedEdgeIdOf(other)).not.toBe(observedEdgeIdOf(blue));
    memo.clear();
    expect(memo.names(blue)).toBeUndefined();
  });

  it('never remembers an end without identity or labels', () => {
    const memo = new VerdictMemo();
    const flow = aFlow({ source: aPod({ identity: 0 }), destination: aPod({ labels: { app: 'x' } }) });
    expect(memo.lookup(flow, true, true)).toBeUndefined();
    memo.remember(flow, true, true, fresh(flow, true, true));
    expect(memo.size).toBe(0);
    expect(memo.lookup(flow, true, true)).toBeUndefined();
  });

  it('is bounded', () => {
    const memo = new VerdictMemo();
    const a = aPod({ labels: { app: 'a' } });
    const b = aPod({ labels: { app: 'b' } });
    for (let port = 1; port <= MAX_MEMO_ENTRIES + 10; port++) {
      const flow = aFlow({ source: a, destination: b, l4: tcp(port) });
      if (memo.lookup(flow, true, true) === undefined) memo.remember(flow, true, true, []);
      expect(memo.size).toBeLessThanOrEqual(MAX_MEMO_ENTRIES);
    }
  });
});
