/**
 * Runs a real kube-controller-manager (test/support/kube/build.sh builds it from the same
 * pinned module as the API server) against the test API server, with only the controllers a
 * test asks for — by default the garbage collector, so ownerReferences cascade as on a real
 * cluster (deleting a contract deletes what it owns). Start one per test file that needs it:
 *
 *   const kcm = await startKubeControllerManager({ binDir: inject('kubeBinDir'), kubeconfigPath: inject('kubeconfig') });
 *   … await kcm.stop();
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '../wait-for.js';

export interface KubeControllerManager {
  /** Milliseconds from spawning to the selected controllers' caches being synced. */
  readonly startupMs: number;
  readonly logPath: string;
  stop(): Promise<void>;
}

export interface ControllerManagerOptions {
  readonly binDir: string;
  /** The admin kubeconfig of the test API server (inject('kubeconfig')). */
  readonly kubeconfigPath: string;
  /** kube-controller-manager controller names; default: the garbage collector only. */
  readonly controllers?: readonly string[];
  readonly readyTimeoutMs?: number;
}

/** klog lines that say a controller is working: the GC logs it once its monitors synced. */
const READY: Readonly<Record<string, RegExp>> = {
  'garbage-collector-controller': /Caches are synced.*garbage.collector|All resource monitors have synced/i,
};

export async function startKubeControllerManager(o: ControllerManagerOptions): Promise<KubeControllerManager> {
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'rampart-kcm-'));
  const logPath = join(dir, 'kube-controller-manager.log');
  const controllers = o.controllers ?? ['garbage-collector-controller'];
  const child = spawn(
    join(o.binDir, 'kube-controller-manager'),
    [
      `--kubeconfig=${o.kubeconfigPath}`,
      `--controllers=${controllers.join(',')}`,
      '--leader-elect=false',
      '--secure-port=0', // no serving: nothing probes it, and it needs no certificates
      '--use-service-account-credentials=false',
      '--concurrent-gc-syncs=5',
      '--v=2',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = createWriteStream(logPath);
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const killOnExit = (): void => {
    child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const patterns = controllers.map((c) => READY[c]).filter((p): p is RegExp => p !== undefined);
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`kube-controller-manager exited with code ${child.exitCode}`);
        const text = await readFile(logPath, 'utf8').catch(() => '');
        return patterns.every((p) => p.test(text));
      },
      { timeoutMs: o.readyTimeoutMs ?? 60_000, intervalMs: 200, what: `kube-controller-manager (${controllers.join(', ')}) to sync` },
    ).catch(async (e: unknown) => {
      const tail = (await readFile(logPath, 'utf8').catch(() => '(no log)')).split('\n').slice(-30).join('\n');
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- kube-controller-manager.log ---\n${tail}`, { cause: e });
    });
  } catch (e) {
    await stop();
    throw e;
  }
  return { startupMs: Math.round(performance.now() - started), logPath, stop };
}
