/**
 * Real processes for the agent's integration tests: the compiled CLI (`npm run build` first;
 * `npm test` does) run as `rampart replay` and `rampart agent` child processes on loopback,
 * their JSON log lines collected, their ports read back from those lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onLogLines } from './log-lines.js';
import { parsePrometheusText, type Exposition } from './prom-text.js';
import { waitFor } from './wait-for.js';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BIN = path.join(REPO_ROOT, 'bin', 'rampart.js');
export const SHARED_FLOWS = path.resolve(REPO_ROOT, '..', 'shared', 'flows');
export const TCP_CAPTURE = path.join(SHARED_FLOWS, 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl');

export type LogLine = Record<string, unknown>;

export interface RampartProcess {
  readonly proc: ChildProcess;
  readonly logs: LogLine[];
  stderr(): string;
  exitCode(): number | null | undefined;
  waitForLog(pred: (l: LogLine) => boolean, what: string, timeoutMs?: number): Promise<LogLine>;
  /** Sends the signal and resolves with the exit code (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
}

export function spawnRampart(args: readonly string[]): RampartProcess {
  if (!existsSync(path.join(REPO_ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/cli/main.js is missing: run `npm run build` before the integration tests');
  }
  const proc = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: LogLine[] = [];
  let err = '';
  let code: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    proc.on('exit', (c, signal) => {
      code = c ?? (signal ? -1 : null);
      resolve(code);
    });
  });
  onLogLines(proc.stdout!, (l) => logs.push(l));
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => {
    err += c;
  });
  return {
    proc,
    logs,
    stderr: () => err,
    exitCode: () => code,
    waitForLog: (pred, what, timeoutMs = 20_000) =>
      waitFor(
        () => {
          const found = logs.find(pred);
          if (found) return found;
          if (code !== undefined) throw new Error(`process exited (${code}) before ${what}: ${err}`);
          return undefined;
        },
        { timeoutMs, what },
      ),
    async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 30_000) {
      if (code !== undefined) return code;
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      const c = await exited;
      clearTimeout(timer);
      return c;
    },
  };
}

export interface ReplayProcess extends RampartProcess {
  readonly address: string;
}

export async function startReplay(flowsFile: string, args: readonly string[] = [], listen = '127.0.0.1:0'): Promise<ReplayProcess> {
  const p = spawnRampart(['replay', '--flows', flowsFile, '--listen', listen, ...args]);
  const line = await p.waitForLog((l) => l['msg'] === 'replay server listening', 'the replay server to listen');
  return { ...p, address: String(line['address']) };
}

export interface AgentProcess extends RampartProcess {
  readonly metricsPort: number;
  metrics(): Promise<Exposition>;
  get(pathname: string): Promise<{ status: number; body: string }>;
}

export async function startAgentProcess(options: {
  readonly hubble: string;
  readonly controlplane: string;
  readonly node: string;
  readonly window?: string;
  readonly extra?: readonly string[];
}): Promise<AgentProcess> {
  const p = spawnRampart([
    'agent',
    '--hubble',
    options.hubble,
    '--controlplane',
    options.controlplane,
    '--node',
    options.node,
    '--window',
    options.window ?? '500ms',
    '--metrics-listen',
    '127.0.0.1:0',
    ...(options.extra ?? []),
  ]);
  const line = await p.waitForLog((l) => l['msg'] === 'http listening', 'the agent HTTP server');
  const metricsPort = Number(line['port']);
  const get = async (pathname: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}${pathname}`);
    return { status: res.status, body: await res.text() };
  };
  return {
    ...p,
    metricsPort,
    get,
    metrics: async () => parsePrometheusText((await get('/metrics')).body),
  };
}

/** A sample the agent must export (a missing series is an error, never a 0). */
async function agentSample(agent: AgentProcess, name: string): Promise<number> {
  const v = (await agent.metrics()).value(name);
  if (v === undefined) throw new Error(`the agent exports no ${name}`);
  return v;
}

/**
 * Waits until the agent has closed `count` more windows: its own clock has moved on by that
 * many windows. Use it before asserting that something did not happen, instead of a sleep.
 */
export async function waitForAgentWindows(agent: AgentProcess, count: number, timeoutMs = 30_000): Promise<void> {
  const start = await agentSample(agent, 'rampart_agent_windows_total');
  await waitFor(async () => (await agentSample(agent, 'rampart_agent_windows_total')) >= start + count, { timeoutMs, what: `the agent to close ${count} more windows` });
}

/**
 * Waits until the agent has closed a window after this call and every window it closed is
 * acknowledged (its outbox is empty): nothing it has seen is still in flight to the control plane.
 */
export async function waitForAgentSettled(agent: AgentProcess, timeoutMs = 30_000): Promise<void> {
  const start = await agentSample(agent, 'rampart_agent_windows_total');
  await waitFor(
    async () => (await agentSample(agent, 'rampart_agent_windows_total')) > start && (await agentSample(agent, 'rampart_agent_outbox_windows')) === 0,
    { timeoutMs, what: 'the agent to close a window and have every window acknowledged' },
  );
}

/** The flows of a capture file, one JSON line each. */
export function captureLines(file: string): string[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '');
}

/** Runs `rampart evaluate` and returns its jsonl records. */
export async function evaluateCapture(policiesFile: string, flowsFile: string): Promise<{ verdict: string; egress: string; ingress: string }[]> {
  const p = spawnRampart(['evaluate', '--policies', policiesFile, '--flows', flowsFile, '--format', 'jsonl']);
  // 'close' (not 'exit'): every byte of stdout has been read by then.
  const code = await new Promise<number | null>((resolve) => p.proc.on('close', (c) => resolve(c)));
  // exit 1 means "some flow denied": still a complete answer.
  if (code !== 0 && code !== 1) throw new Error(`rampart evaluate exited ${code}: ${p.stderr()}`);
  return p.logs as unknown as { verdict: string; egress: string; ingress: string }[];
}
