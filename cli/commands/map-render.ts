/**
 * Rendering the traffic map (GET /api/v1/map, POST /api/v1/preview answers) for the CLI:
 * a table, Graphviz dot (namespaces as clusters, would-deny edges red, newly-allowed amber),
 * or the JSON as received.
 */
import { formatTable } from '../../io/table.js';

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

export interface RenderedEdge {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol: string;
  readonly count: number;
  readonly verdict: string;
  readonly reason: string;
}

export function edgesOf(body: unknown): RenderedEdge[] {
  const edges = obj(body)['edges'];
  return (Array.isArray(edges) ? edges : []).map((raw) => {
    const e = obj(raw);
    return { from: str(e['from']), to: str(e['to']), port: num(e['port']), protocol: str(e['protocol']), count: num(e['count']), verdict: str(e['verdict']), reason: str(e['reason']) };
  });
}

/** The answer's warnings (where Cilium departs from a NetworkPolicy's text), one line each as `<command>: warning: <path>: <message>`. */
export function warningLines(command: string, body: unknown): string {
  const warnings = obj(body)['warnings'];
  return (Array.isArray(warnings) ? warnings : []).map((raw) => `${command}: warning: ${str(obj(raw)['path'])}: ${str(obj(raw)['message'])}\n`).join('');
}

export function renderTable(body: unknown): string {
  const edges = edgesOf(body);
  if (edges.length === 0) return 'no edges in the map\n';
  const rows = edges.map((e) => [e.from, e.to, `${e.port}/${e.protocol}`, e.count, e.verdict]);
  const other = num(obj(body)['other']);
  return formatTable(['FROM', 'TO', 'PORT', 'COUNT', 'VERDICT'], rows) + (other > 0 ? `(${other} more connections on edges beyond the map's bound)\n` : '');
}

const quote = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const COLOURS: Readonly<Record<string, string>> = { 'would-deny': 'red', 'newly-allowed': 'orange', 'already-denied': 'gray40', denied: 'gray40', indeterminate: 'purple' };

export function renderDot(body: unknown): string {
  const nodes = obj(body)['nodes'];
  const byNs = new Map<string, string[]>();
  for (const raw of Array.isArray(nodes) ? nodes : []) {
    const n = obj(raw);
    const ns = str(n['namespace']);
    byNs.set(ns, [...(byNs.get(ns) ?? []), str(n['id'])]);
  }
  const lines = ['digraph rampart_map {', '  rankdir=LR;', '  node [shape=box, style=rounded];'];
  let i = 0;
  for (const [ns, ids] of [...byNs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (ns === '') {
      for (const id of ids) lines.push(`  ${quote(id)} [shape=ellipse];`);
      continue;
    }
    lines.push(`  subgraph cluster_${i++} {`, `    label=${quote(ns)};`, ...ids.map((id) => `    ${quote(id)} [label=${quote(id.slice(ns.length + 1))}];`), '  }');
  }
  for (const e of edgesOf(body)) {
    const colour = COLOURS[e.verdict];
    lines.push(`  ${quote(e.from)} -> ${quote(e.to)} [label=${quote(`${e.port}/${e.protocol} ×${e.count}`)}${colour ? `, color=${colour}, fontcolor=${colour}` : ''}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
