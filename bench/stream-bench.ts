/**
 * What the stream benchmarks (hubble, agent) share: the bench Hubble server in a child
 * process (so `process.cpuUsage()` in the bench is the consumer's CPU alone), CPU/wall
 * measurement of one consumer run, and the capture flows the server plays.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCapture } from '../replay/capture.js';
import type { PbRecord } from '../proto/codec/hubble-types.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly flows: number;
}

/** Starts `bench/<script>.js <count>`, which prints `{"address":…}` once listening. */
export async function startBenchServer(script: string, count: number): Promise<{ address: string; stop: () => void }> {
  const child = spawn(process.execPath, [join(here, `${script}.js`), String(count)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const first = await new Promise<string>((resolveLine, reject) => {
    lines.once('line', resolveLine);
    child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
  });
  const { address } = JSON.parse(first) as { address: string };
  return { address, stop: () => child.kill('SIGTERM') };
}

/** Runs one consumer after a GC and returns its wall time, CPU time and flow count. */
export async function measure(fn: () => Promise<number>): Promise<Sample> {
  (globalThis as { gc?: () => void }).gc?.();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const flows = await fn();
  const wallMs = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { wallMs, cpuMs: (cpu.user + cpu.system) / 1000, flows };
}

/**
 * The L3/L4 flows of ../shared/flows that the agent's server-side filter lets through
 * (drops, traces, policy verdicts), so every flow in a bench ring reaches every consumer.
 */
export function loadAgentVisibleFlows(): PbRecord[] {
  const repoRoot = here.replace(/[\\/]dist[\\/]bench$/, '').replace(/[\\/]bench$/, '');
  const flowsDir = resolve(repoRoot, '..', 'shared', 'flows');
  const base: PbRecord[] = [];
  for (const file of readdirSync(flowsDir).filter((f) => f.endsWith('.jsonl') && !/dns|http/.test(f)).sort()) {
    const r = parseCapture(readFileSync(join(flowsDir, file), 'utf8'), file);
    if (!r.ok) throw new Error(`bad capture ${file}`);
    base.push(
      ...r.value.filter((rec) => {
        const type = ((rec['flow'] as PbRecord | undefined)?.['event_type'] as PbRecord | undefined)?.['type'];
        return type === 1 || type === 4 || type === 5;
      }),
    );
  }
  return base;
}
