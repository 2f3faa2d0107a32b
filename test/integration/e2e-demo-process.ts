/**
 * Starts `rampart demo --fast --headless` as a child process for the end-to-end and dashboard
 * tests, reads its start line (API address, token file, child pids), and stops it, making
 * sure no process is left behind even when a test fails half-way.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../support/wait-for.js';

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));
const bin = fileURLToPath(new URL('../../bin/rampart.js', import.meta.url));

export interface DemoProcess {
  readonly child: ChildProcess;
  readonly api: string;
  readonly token: string;
  readonly tokenFile: string;
  /** The control plane's and the agents' pids. */
  readonly pids: readonly number[];
  readonly output: string[];
  readonly exited: Promise<number | null>;
  get<T>(path: string): Promise<T>;
  metricsText(): Promise<string>;
  /** Stops the demo if it still runs (SIGINT, then SIGKILL after 15 s) and anything it left (for afterAll). */
  kill(): Promise<void>;
}

export const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

export async function startDemo(extraArgs: readonly string[] = []): Promise<DemoProcess> {
  if (!existsSync(fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
  const child = spawn(process.execPath, [bin, 'demo', '--fast', '--headless', '--http-listen', '127.0.0.1:0', '--duration', '170s', ...extraArgs], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  for (const s of [child.stdout, child.stderr]) createInterface({ input: s }).on('line', (l) => output.push(l));
  let pids: number[] = [];
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      // Ctrl-C first, so the demo stops its children and removes its working folder.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
  };
  try {
    const line = await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`the demo exited with ${child.exitCode} before starting`);
      return output.find((l) => l.includes('demo started:'));
    }, {
      timeoutMs: 30_000,
      what: 'the demo to start',
    });
    const api = /api (\S+)/.exec(line)?.[1];
    const tokenFile = /token-file (\S+)/.exec(line)?.[1];
    pids = /pids (\S+)/.exec(line)?.[1]?.split(',').map(Number) ?? [];
    if (!api || !tokenFile) throw new Error(`unexpected start line: ${line}`);
    const token = readFileSync(tokenFile, 'utf8').trim();
    const headers = { authorization: `Bearer ${token}` };
    return {
      child,
      api,
      token,
      tokenFile,
      pids,
      output,
      exited,
      kill,
      async get<T>(path: string): Promise<T> {
        const res = await fetch(`${api}${path}`, { headers });
        if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
        return (await res.json()) as T;
      },
      async metricsText(): Promise<string> {
        const res = await fetch(`${api}/metrics`, { headers });
        return res.text();
      },
    };
  } catch (e) {
    await kill();
    throw new Error(`${e instanceof Error ? e.message : String(e)}\ndemo output:\n${output.join('\n')}`, { cause: e });
  }
}
