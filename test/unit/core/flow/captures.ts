/**
 * The real Hubble captures in ../shared/flows/ (relative to the repo root), read line by line
 * with plain JSON.parse: tests compute their expectations from these records independently of
 * the parser under test.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface CaptureLine {
  readonly lineNumber: number;
  readonly text: string;
  readonly record: Record<string, unknown>;
}

export interface Capture {
  readonly file: string;
  readonly path: string;
  readonly lines: readonly CaptureLine[];
}

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above the test');
    dir = up;
  }
  return dir;
}

export const SHARED_FLOWS_DIR = resolve(repoRoot(), '..', 'shared', 'flows');

export function readCaptures(): Capture[] {
  return readdirSync(SHARED_FLOWS_DIR)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()
    .map((file) => {
      const path = join(SHARED_FLOWS_DIR, file);
      const lines = readFileSync(path, 'utf8')
        .split('\n')
        .map((text, i) => ({ lineNumber: i + 1, text }))
        .filter((l) => l.text.trim() !== '')
        .map((l) => ({ ...l, record: JSON.parse(l.text) as Record<string, unknown> }));
      return { file, path, lines };
    });
}
