/** Runs `rampart <args>` (the built CLI) to completion: exit code, stdout and stderr. */
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'bin', 'rampart.js');

/** `stdoutFile`: stdout goes straight to that file (some commands exit before a pipe drains). */
export function runCli(args: readonly string[], stdin?: string, stdoutFile?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const fd = stdoutFile === undefined ? null : openSync(stdoutFile, 'w');
    const p = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', fd ?? 'pipe', 'pipe'] });
    if (fd !== null) closeSync(fd);
    let stdout = '';
    let stderr = '';
    p.stdout?.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code, stdout, stderr }));
    p.stdin!.end(stdin ?? '');
  });
}
