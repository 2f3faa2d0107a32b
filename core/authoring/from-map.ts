/**
 * The control plane's traffic map (`GET /api/v1/map`, product.md "Traffic map") as
 * connections for `suggest --controlplane`. The map names workloads, never pods or labels, so
 * labels come from --manifests (template labels) or --pods; a workload with neither gets
 * `app: <name>` and a note saying it was guessed. Peers the map cannot name (external
 * endpoints without an address, nodes) are left out with a note.
 */
import type { PolicyProtocol } from '../policy/index.js';
import { podFacts, workloadFacts } from './cluster.js';
import type { Labels } from './labels.js';
import type { ObservationSet } from './observe.js';
import { syntheticFlow, syntheticPod, WORLD } from './synthetic-flow.js';

export interface TrafficMapEdge {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly count: number;
  readonly verdict?: string;
}

export interface TrafficMap {
  readonly nodes: readonly { readonly id: string; readonly namespace: string; readonly kind?: string }[];
  readonly edges: readonly TrafficMapEdge[];
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates the map's JSON shape; a string says what is wrong, with the field path. */
export function parseTrafficMap(body: unknown): TrafficMap | string {
  if (!isObj(body)) return 'map: expected an object';
  const nodes = Array.isArray(body['nodes']) ? body['nodes'] : [];
  if (!Array.isArray(body['edges'])) return 'map.edges: expected a list';
  const edges: TrafficMapEdge[] = [];
  for (const [i, e] of (body['edges'] as unknown[]).entries()) {
    if (!isObj(e)) return `map.edges[${i}]: expected an object`;
    const { from, to, port, protocol, count } = e;
    if (typeof from !== 'string' || typeof to !== 'string') return `map.edges[${i}]: expected from and to as "ns/workload"`;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 0 || port > 65535) return `map.edges[${i}].port: expected a port number`;
    if (typeof protocol !== 'string') return `map.edges[${i}].protocol: expected a string`;
    edges.push({ from, to, port, protocol, count: typeof count === 'number' ? count : 0, ...(typeof e['verdict'] === 'string' ? { verdict: e['verdict'] } : {}) });
  }
  return {
    nodes: nodes.filter(isObj).map((n) => ({ id: String(n['id'] ?? ''), namespace: String(n['namespace'] ?? ''), ...(typeof n['kind'] === 'string' ? { kind: n['kind'] } : {}) })),
    edges,
  };
}

const PROTOCOLS: ReadonlySet<string> = new Set(['TCP', 'UDP', 'SCTP']);
const IP = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-fA-F:]+:[0-9a-fA-F:]*)$/;

export function addMapEdges(map: TrafficMap, into: ObservationSet, pods: readonly Record<string, unknown>[], manifests: readonly Record<string, unknown>[]): { notes: string[] } {
  const notes: string[] = [];
  const labels = new Map<string, Labels>();
  for (const o of manifests) {
    const w = workloadFacts(o);
    if (w !== null) labels.set(`${w.namespace}/${w.name}`, w.templateLabels);
  }
  for (const o of pods) {
    const p = podFacts(o);
    if (p !== null && !labels.has(`${p.namespace}/${p.workload}`)) labels.set(`${p.namespace}/${p.workload}`, p.labels);
  }
  const guessed = new Set<string>();
  const pod = (id: string) => {
    const slash = id.indexOf('/');
    const ns = id.slice(0, slash);
    const name = id.slice(slash + 1);
    let l = labels.get(id);
    if (l === undefined) {
      l = { app: name };
      if (!guessed.has(id)) notes.push(`${id}: no labels known (pass --manifests or --pods); guessed app=${name}`);
      guessed.add(id);
    }
    return syntheticPod(ns, name, 'Deployment', l);
  };
  const external = (id: string): string | null => {
    const slash = id.indexOf('/');
    const prefix = id.slice(0, slash);
    const rest = id.slice(slash + 1);
    return (prefix === 'world' || prefix === 'external') && IP.test(rest) ? rest : null;
  };
  const nodeKind = new Map(map.nodes.map((n) => [n.id, n.kind]));
  const kindOf = (id: string): 'pod' | 'external' | 'node' | 'unnamed' => {
    // The map names ends without a namespace `world` and `reserved:<name>` (nodes carry their kind).
    if (id.startsWith('reserved:')) return id === 'reserved:host' || id === 'reserved:remote-node' ? 'node' : 'unnamed';
    const kind = nodeKind.get(id);
    if (kind === 'reserved') return 'node';
    if (kind === 'unknown') return 'unnamed';
    const slash = id.indexOf('/');
    if (slash <= 0) return 'unnamed';
    const prefix = id.slice(0, slash);
    if (prefix === 'reserved') return 'node';
    if (prefix === 'world' || prefix === 'external') return external(id) === null ? 'unnamed' : 'external';
    if (prefix === 'unknown') return 'unnamed';
    return 'pod';
  };
  for (const e of map.edges) {
    if (e.verdict === 'denied') continue; // enforced drops are not traffic anyone relies on
    if (!PROTOCOLS.has(e.protocol)) {
      notes.push(`map edge ${e.from} → ${e.to}:${e.port}/${e.protocol}: protocol without ports, left out`);
      continue;
    }
    const fk = kindOf(e.from);
    const tk = kindOf(e.to);
    if (fk === 'node' || tk === 'node') continue; // always allowed
    if (fk === 'unnamed' || tk === 'unnamed' || (fk === 'external' && tk === 'external')) {
      notes.push(`map edge ${e.from} → ${e.to}:${e.port}/${e.protocol}: an end the map does not name (no address), left out`);
      continue;
    }
    const src = fk === 'pod' ? pod(e.from) : WORLD;
    const dst = tk === 'pod' ? pod(e.to) : WORLD;
    const ips = { source: fk === 'external' ? external(e.from)! : '10.255.0.1', destination: tk === 'external' ? external(e.to)! : '10.255.0.2' };
    into.addConnection(syntheticFlow(src, dst, e.protocol as PolicyProtocol, e.port, ips));
  }
  return { notes };
}
