/**
 * The real kubectl (built by build.sh at the pinned version) for kube tests, with the test
 * kubeconfig and a PATH on which it finds the kubectl-rampart plugin, as a user's shell would.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../controlplane-process.js';

export interface Kubectl {
  readonly bin: string;
  /** The environment kubectl runs with (PATH with the plugin first, KUBECONFIG, HOME). */
  readonly env: NodeJS.ProcessEnv;
  run(args: readonly string[], timeoutMs?: number): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** kubectl from `kubeBinDir`; the plugin is linked into `<dir>/bin`, which goes first on PATH. */
export function kubectlWithPlugin(kubeBinDir: string, kubeconfig: string, dir: string): Kubectl {
  const binDir = join(dir, 'bin');
  mkdirSync(binDir, { recursive: true });
  symlinkSync(join(REPO_ROOT, 'bin/kubectl-rampart'), join(binDir, 'kubectl-rampart'));
  const bin = join(kubeBinDir, 'kubectl');
  const env = { PATH: `${binDir}:${process.env['PATH'] ?? ''}`, KUBECONFIG: kubeconfig, HOME: dir };
  return {
    bin,
    env,
    run: (args, timeoutMs = 30_000) =>
      new Promise((resolve) => {
        execFile(bin, [...args], { env, timeout: timeoutMs }, (e, stdout, stderr) => {
          resolve({ code: e ? (typeof e.code === 'number' ? e.code : 1) : 0, stdout, stderr });
        });
      }),
  };
}
