/**
 * Runs the real `rampart controlplane` (the compiled CLI, `npm run build` first) as a child
 * process on loopback ports chosen by the OS, read back from its `listening` log line.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onLogLines } from './log-lines.js';
import { waitFor } from './wait-for.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const RAMPART_BIN = path.join(REPO_ROOT, 'bin', 'rampart.js');

export interface ControlplaneProcess {
  readonly proc: ChildProcess;
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly base: string;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `env`: extra environment variables for the child (Kubernetes mode's test timings). */
export async function startControlplaneProcess(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<ControlplaneProcess> {
  const proc = spawn(process.execPath, [RAMPART_BIN, 'controlplane', '--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  onLogLines(proc.stdout!, (l) => logs.push(l));
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => {
    stderr += c;
  });
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (code) => {
      exitCode = code;
      resolve(code);
    });
  });
  const listening = await waitFor(
    () => {
      if (exitCode !== undefined) throw new Error(`controlplane exited with ${exitCode}: ${stderr}`);
      return logs.find((l) => l['msg'] === 'listening');
    },
    { timeoutMs: 20_000, what: 'the control plane to listen' },
  );
  const grpcPort = Number(listening['grpcPort']);
  const httpPort = Number(listening['httpPort']);
  return {
    proc,
    grpcPort,
    httpPort,
    base: `http://127.0.0.1:${httpPort}`,
    logs,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (exitCode !== undefined) return exitCode;
      proc.kill(signal);
      return exited;
    },
  };
}
