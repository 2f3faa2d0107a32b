/** Runs `rampart <args>` (the built CLI) to completion: exit code, stdout and stderr. */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'rampart.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * `stdoutFile`: stdout goes straight to that file (some commands exit before a pipe drains).
 * `timeoutMs`: the command is killed and the promise rejects, naming it, when it runs longer.
 */
export function runCli(args: readonly string[], stdin?: string, stdoutFile?: string, timeoutMs?: number): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const fd = stdoutFile === undefined ? null : openSync(stdoutFile, 'w');
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', fd ?? 'pipe', 'pipe'] });
    if (fd !== null) closeSync(fd);
    let stdout = '';
    let stderr = '';
    p.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const timer =
      timeoutMs === undefined
        ? null
        : setTimeout(() => {
            p.kill('SIGKILL');
            reject(new Error(`rampart ${args.join(' ')} did not finish within ${timeoutMs} ms`));
          }, timeoutMs);
    p.on('error', reject);
    p.on('close', (code) => {
      if (timer !== null) clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    p.stdin!.end(stdin ?? '');
  });
}

/** Each non-empty line of a command's stdout, parsed as JSON (`--format jsonl`). */
export function jsonLines<T>(stdout: string): T[] {
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);
}
