/**
 * The nodes seen recently, kept in --state/nodes.json across restarts. Without it a
 * restarted control plane would expect only the agents that happened to reconnect first,
 * and could pass a coverage gate on part of the cluster; with it, a node seen before the
 * restart stays expected (and counts against coverage while silent) for the expected-node TTL.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';

export const KNOWN_NODES_FILE = 'nodes.json';

/** node → last seen (ms). Unreadable content counts as empty: the TTL rebuilds it. */
export function loadKnownNodes(stateDir: string): Map<string, number> {
  const out = new Map<string, number>();
  let text: string;
  try {
    text = fs.readFileSync(path.join(stateDir, KNOWN_NODES_FILE), 'utf8');
  } catch {
    return out;
  }
  try {
    const parsed: unknown = JSON.parse(text);
    const nodes = typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)['nodes'] : null;
    if (typeof nodes === 'object' && nodes !== null) {
      for (const [node, ms] of Object.entries(nodes)) if (typeof ms === 'number' && Number.isFinite(ms)) out.set(node, ms);
    }
  } catch {
    return out;
  }
  return out;
}

export function saveKnownNodes(stateDir: string, nodes: ReadonlyMap<string, number>): void {
  const sorted = Object.fromEntries([...nodes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  writeFileAtomic(path.join(stateDir, KNOWN_NODES_FILE), `${JSON.stringify({ nodes: sorted })}\n`);
}
