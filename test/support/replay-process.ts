/** Runs `rampart replay` (the built CLI) as a child process and reads back its address. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const RAMPART_BIN = fileURLToPath(new URL('../../bin/rampart.js', import.meta.url));

export interface ReplayProcess {
  readonly address: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

export async function startReplay(args: readonly string[]): Promise<ReplayProcess> {
  const child = spawn(process.execPath, [RAMPART_BIN, 'replay', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = createInterface({ input: child.stdout! });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`rampart replay did not start: ${stderr}`)), 15_000);
    lines.on('line', (line) => {
      try {
        const msg = JSON.parse(line) as { msg?: string; address?: string };
        if (msg.msg === 'replay server listening' && msg.address) {
          clearTimeout(timer);
          resolve(msg.address);
        }
      } catch {
        // not a log line; ignore
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`rampart replay exited with ${code}: ${stderr}`));
    });
  });
  return {
    address,
    child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
