/**
 * What the `rampart evaluate` CLI tests share: the shop fixtures, the jsonl line evaluate
 * prints, a bounded run of the compiled CLI, and a scratch folder for written inputs.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll } from 'vitest';
import { jsonLines, runCli, type CliResult } from './run-cli.js';

export const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
export const SHOP = join(ROOT, 'test', 'fixtures', 'flows', 'shop');
export const SHOP_POLICIES = join(SHOP, 'policies.yaml');
export const SHOP_FLOWS = join(SHOP, 'flows.jsonl');
const RUN_TIMEOUT_MS = 30_000;

/** One line of `--format jsonl` (change and baseline only with --baseline). */
export interface EvaluateLine {
  index: number;
  uuid: string | null;
  verdict: string;
  egress: string;
  ingress: string;
  policies: string[];
  reason: string;
  change?: string;
  baseline?: { egress: string; ingress: string };
}

export const evaluateLines = (stdout: string): EvaluateLine[] => jsonLines<EvaluateLine>(stdout);

/** `rampart <args>` with `input` on stdin; fails the test naming the command when it runs over 30 s. */
export const rampart = (args: readonly string[], input?: string): Promise<CliResult> => runCli(args, input, undefined, RUN_TIMEOUT_MS);

/**
 * A scratch folder for this test file, made once the compiled CLI is known to be there and
 * removed after the file's tests. Returns its path getter (the folder exists from beforeAll on).
 */
export function scratchDir(prefix: string): () => string {
  let dir = '';
  beforeAll(() => {
    if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) throw new Error('run `npm run build` first: this test drives the compiled CLI');
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
  });
  return () => dir;
}
