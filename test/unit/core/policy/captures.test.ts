/**
 * The engine over every real capture in ../shared/flows/ (cilium/hubble-otel samples, bookinfo):
 * expectations are computed from the raw JSON records, independently of the flow parser.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseHubbleLine, type Flow } from '../../../../core/flow/index.js';
import { createEvaluator, parseNetworkPolicy, type NetworkPolicy } from '../../../../core/policy/index.js';
import { np } from './helpers.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return dir;
}
const ROOT = repoRoot();
const FLOWS_DIR = resolve(ROOT, '..', 'shared', 'flows');

interface RawEndpoint {
  readonly ID?: number;
  readonly namespace?: string;
  readonly labels?: readonly string[];
}
interface Sample {
  readonly where: string;
  readonly flow: Flow;
  readonly src: RawEndpoint;
  readonly dst: RawEndpoint;
  readonly dstPort: number | null;
  readonly syn: boolean;
}

function samples(): Sample[] {
  const out: Sample[] = [];
  for (const file of readdirSync(FLOWS_DIR).filter((f) => f.endsWith('.jsonl')).sort()) {
    readFileSync(join(FLOWS_DIR, file), 'utf8')
      .split('\n')
      .forEach((text, i) => {
        if (text.trim() === '') return;
        const parsed = parseHubbleLine(text);
        if (!parsed.ok) throw new Error(`${file}:${i + 1}: ${parsed.error}`);
        if (parsed.value.kind !== 'flow') return;
        const raw = JSON.parse(text) as { flow?: Record<string, unknown> } & Record<string, unknown>;
        const rec = (raw.flow ?? raw) as { source?: RawEndpoint; destination?: RawEndpoint; l4?: { TCP?: { destination_port?: number; flags?: { SYN?: boolean; ACK?: boolean } } } };
        const tcpRec = rec.l4?.TCP;
        out.push({
          where: `${file}:${i + 1}`,
          flow: parsed.value.flow,
          src: rec.source ?? {},
          dst: rec.destination ?? {},
          dstPort: tcpRec?.destination_port ?? null,
          syn: tcpRec?.flags?.SYN === true && tcpRec.flags.ACK !== true,
        });
      });
  }
  return out;
}

const namespaceOf = (e: RawEndpoint): string | undefined =>
  e.namespace ?? e.labels?.find((l) => l.startsWith('k8s:io.kubernetes.pod.namespace='))?.split('=')[1];
const isNode = (e: RawEndpoint): boolean => (e.labels ?? []).some((l) => l === 'reserved:host' || l === 'reserved:remote-node');
const isK8sPod = (e: RawEndpoint): boolean => (e.labels ?? []).some((l) => l.startsWith('k8s:io.kubernetes.pod.namespace='));
const appOf = (e: RawEndpoint): string | undefined => e.labels?.find((l) => l.startsWith('k8s:app='))?.slice('k8s:app='.length);
const sidesOf = (s: Sample): { egress: boolean; ingress: boolean } => ({ egress: s.src.ID !== undefined, ingress: s.dst.ID !== undefined });

function fixture(name: string): NetworkPolicy[] {
  const text = readFileSync(join(ROOT, 'test', 'fixtures', 'policies', name), 'utf8');
  return parseAllDocuments(text).map((doc, i) => {
    const r = parseNetworkPolicy(doc.toJS(), `${name}[${i}]`);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    return r.value;
  });
}

describe('the engine over the real captures', () => {
  const all = samples();

  it('reads every capture', () => {
    expect(all.length).toBeGreaterThan(1000);
  });

  it('default-deny in bookinfo: bookinfo pods are denied on their evaluated sides except with nodes; others untouched', () => {
    const set = createEvaluator([np('bookinfo', 'default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })]);
    let denied = 0;
    for (const s of all) {
      const sides = sidesOf(s);
      const e = set.evaluate(s.flow, sides);
      const expectSide = (self: RawEndpoint, peer: RawEndpoint, requested: boolean): string => {
        if (!requested || !isK8sPod(self)) return 'none';
        if (namespaceOf(self) !== 'bookinfo') return 'allow';
        return isNode(peer) ? 'allow' : 'deny';
      };
      const expected = { egress: expectSide(s.src, s.dst, sides.egress), ingress: expectSide(s.dst, s.src, sides.ingress) };
      expect({ egress: e.egress, ingress: e.ingress }, `${s.where}: ${e.reason}`).toEqual(expected);
      if (e.verdict === 'deny') {
        denied++;
        expect(e.policies).toEqual(['bookinfo/default-deny']);
      }
    }
    expect(denied).toBeGreaterThan(100);
  });

  it('the bookinfo lockdown fixture admits productpage → details/reviews on 9080 and names the policies', () => {
    const set = createEvaluator(fixture('bookinfo-lockdown.yaml'));
    let checked = 0;
    for (const s of all) {
      const e = set.evaluate(s.flow, sidesOf(s));
      expect(['allow', 'deny', 'indeterminate']).toContain(e.verdict);
      if (e.verdict === 'deny') expect(e.policies.length).toBeGreaterThan(0);
      const dstApp = appOf(s.dst);
      if (appOf(s.src) === 'productpage' && (dstApp === 'reviews' || dstApp === 'details') && s.dstPort === 9080 && s.syn) {
        checked++;
        const sides = sidesOf(s);
        expect(e.verdict, `${s.where}: ${e.reason}`).toBe('allow');
        if (sides.egress) expect(e.policies).toContain('bookinfo/productpage');
        if (sides.ingress) expect(e.policies).toContain('bookinfo/backends-from-productpage');
      }
      if (appOf(s.src) === 'reviews' && appOf(s.dst) === 'ratings' && s.dstPort === 9080 && s.syn) {
        checked++;
        expect(e.verdict, `${s.where}: ${e.reason}`).toBe('allow');
      }
    }
    expect(checked).toBeGreaterThan(5);
  });
});
