/**
 * Runs `rampart` subcommands as child processes for the demo: their output goes to one log
 * file each (and, line by line, to an optional listener), an unexpected exit is reported,
 * and `stopAll` ends them in order with SIGTERM, then SIGKILL after a grace period, so the
 * demo never leaves a process behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly logFile: string;
  /** Resolves with the exit code (or the signal's name) when the process is gone. */
  readonly exited: Promise<number | string>;
  /** The last lines it printed (for an error message when it dies). */
  readonly tail: string[];
}

const TAIL_LINES = 8;

export interface SupervisorOptions {
  /** `bin/rampart.js` of this checkout. */
  readonly bin: string;
  readonly logDir: string;
  /** Called when a child exits while the supervisor is not stopping. */
  readonly onUnexpectedExit: (child: Child, code: number | string) => void;
}

export class Supervisor {
  private readonly children: Child[] = [];
  private readonly logs: WriteStream[] = [];
  private readonly opts: SupervisorOptions;
  private stopping = false;

  constructor(opts: SupervisorOptions) {
    this.opts = opts;
  }

  start(name: string, args: readonly string[], onLine?: (line: string) => void): Child {
    const logFile = path.join(this.opts.logDir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: 'a' });
    const tail: string[] = [];
    this.logs.push(log);
    // NOTE: each child gets its own process group, so a terminal's Ctrl-C reaches only the
    // demo, which then stops the agents before the control plane (their last windows arrive).
    const proc = spawn(process.execPath, [this.opts.bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    for (const stream of [proc.stdout, proc.stderr]) {
      if (!stream) continue;
      const lines = createInterface({ input: stream });
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        onLine?.(line);
      });
    }
    const exited = new Promise<number | string>((resolve) => {
      proc.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
      proc.once('error', (e) => resolve(`spawn error: ${e.message}`));
    });
    const child: Child = { name, process: proc, logFile, exited, tail };
    void exited.then((code) => {
      if (!this.stopping) this.opts.onUnexpectedExit(child, code);
    });
    this.children.push(child);
    return child;
  }

  /**
   * Stops every child: those started after the first (the agents) together, then the first
   * (the control plane), so the agents' last windows can still be delivered.
   */
  async stopAll(graceMs = 5000): Promise<void> {
    this.stopping = true;
    const [first, ...rest] = this.children;
    await Promise.all(rest.map((c) => stopChild(c, graceMs)));
    if (first) await stopChild(first, graceMs);
    await Promise.all(this.logs.map((l) => new Promise<void>((resolve) => l.end(resolve))));
  }

  /** Last resort, for a process `exit` handler: SIGKILL whatever still runs, synchronously. */
  killAllNow(): void {
    this.stopping = true;
    for (const c of this.children) if (c.process.exitCode === null && c.process.signalCode === null) c.process.kill('SIGKILL');
  }

  pids(): number[] {
    return this.children.map((c) => c.process.pid).filter((p): p is number => p !== undefined);
  }
}

async function stopChild(c: Child, graceMs: number): Promise<void> {
  if (c.process.exitCode !== null || c.process.signalCode !== null) return;
  c.process.kill('SIGTERM');
  const timer = setTimeout(() => c.process.kill('SIGKILL'), graceMs);
  await c.exited;
  clearTimeout(timer);
}
