/**
 * Finds or builds the upstream `hubble` CLI (build.sh beside this file: pinned Cilium module
 * version, Go module proxy, cached per machine outside the repo).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const HUBBLE_CLI_CILIUM_VERSION = 'v1.19.4';
const BUILD_SCRIPT = fileURLToPath(new URL('./build.sh', import.meta.url));

/** Resolves with the binary's path, or rejects with a message that says why it could not be built. */
export function hubbleCli(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [BUILD_SCRIPT], { timeout: 20 * 60_000, maxBuffer: 16 * 1024 * 1024 }, (e, stdout, stderr) => {
      const path = stdout.trim().split('\n').pop() ?? '';
      if (e || path === '') {
        reject(
          new Error(
            `the upstream hubble CLI (cilium ${HUBBLE_CLI_CILIUM_VERSION}) could not be built by ${BUILD_SCRIPT}: ` +
              `${e ? e.message : 'no path printed'}\n${stderr.split('\n').slice(-15).join('\n')}`,
          ),
        );
        return;
      }
      resolve(path);
    });
  });
}
