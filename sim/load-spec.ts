/** Loads a cluster spec file (YAML or JSON) and finds the bundled demo files. */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { err, problem, type Problem, type Result } from '../core/common/index.js';
import { parseClusterSpec, type ClusterSpec } from './cluster-spec.js';

/** The repository root, whether running from sources (sim/) or from the build (dist/sim/). */
export function repoRoot(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const up = path.dirname(here);
  return path.basename(up) === 'dist' ? path.dirname(up) : up;
}

export const demoDir = (): string => path.join(repoRoot(), 'demo');

export function loadClusterSpec(file: string): Result<ClusterSpec, Problem[]> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return err([problem(file, `cannot read: ${e instanceof Error ? e.message : String(e)}`)]);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    return err([problem(file, `not valid YAML: ${e instanceof Error ? e.message : String(e)}`)]);
  }
  const r = parseClusterSpec(doc);
  if (r.ok) return r;
  return err(r.error.map((p) => problem(`${file}: ${p.path}`, p.message)));
}
