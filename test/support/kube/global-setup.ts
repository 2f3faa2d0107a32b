/**
 * vitest globalSetup of the `kube` project: builds or finds the cached kube-apiserver and etcd
 * (build.sh), starts them once per test run, hands the kubeconfig and the binaries' folder to
 * the tests through provide/inject (`inject('kubeconfig')`, `inject('kubeBinDir')`: see
 * controller-manager.ts), and tears everything down at the end.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { startKubeApiServer } from './apiserver.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Path of a kubeconfig for the admin user of the test API server. */
    kubeconfig: string;
    /** Where build.sh put the binaries (kube-controller-manager for tests that need GC). */
    kubeBinDir: string;
  }
}

const run = promisify(execFile);

async function binaries(): Promise<string> {
  const script = fileURLToPath(new URL('./build.sh', import.meta.url));
  try {
    const { stdout } = await run(script, [], { maxBuffer: 16 * 1024 * 1024, timeout: 60 * 60_000 });
    const dir = stdout.trim().split('\n').pop();
    if (!dir) throw new Error('build.sh printed no directory');
    return dir;
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`the kube tests need kube-apiserver and etcd, and ${script} could not provide them:\n${stderr}`, { cause: e });
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const binDir = await binaries();
  const server = await startKubeApiServer({ binDir });
  process.stderr.write(`kube: API server ${server.url} ready in ${server.startupMs} ms (binaries in ${binDir})\n`);
  project.provide('kubeconfig', server.kubeconfigPath);
  project.provide('kubeBinDir', binDir);
  return () => server.stop();
}
