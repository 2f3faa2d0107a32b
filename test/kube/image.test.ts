/**
 * The container image: the repository's Dockerfile built with podman on a stand-in of its
 * base image (test/support/image/: Debian from mmdebstrap, Node from npm), then run the way
 * deploy/ runs it (non-root, read-only root filesystem, a tmpfs /tmp) as
 * `controlplane --kubernetes` against the test API server, until /readyz answers 200.
 * Slow the first time on a machine (the base image and npm ci inside the build); later runs
 * reuse both while the checkout is unchanged.
 */
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ensureNamespace } from '../support/kube/contracts.js';
import { installCrd, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { waitFor } from '../support/wait-for.js';

const run = promisify(execFile);
const kubeconfig = inject('kubeconfig');
const BUILD = fileURLToPath(new URL('../support/image/build.sh', import.meta.url));
// As test/support/image/podman.sh: what podman needs on this kind of machine.
const PODMAN_GLOBAL = ['--runtime', 'runc', '--cgroup-manager', 'cgroupfs', '--storage-driver', 'vfs'];
const PODMAN_ULIMITS = ['--ulimit', 'nofile=8192:8192', '--ulimit', 'nproc=4096:4096'];
const podman = (...args: string[]): Promise<{ stdout: string; stderr: string }> => run('podman', [...PODMAN_GLOBAL, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

let image = '';
let container = '';
let httpPort = 0;
const dir = mkdtempSync(join(tmpdir(), 'rampart-image-'));

beforeAll(async () => {
  try {
    const { stdout } = await run('bash', [BUILD], { timeout: 30 * 60_000, maxBuffer: 64 * 1024 * 1024 });
    image = stdout.trim().split('\n').pop() ?? '';
  } catch (e) {
    throw new Error(`the image could not be built by ${BUILD}:\n${String((e as { stderr?: string }).stderr ?? e)}`, { cause: e });
  }
  // The container's user (65532) reads the kubeconfig through a bind mount: a copy it may read.
  chmodSync(dir, 0o755);
  copyFileSync(kubeconfig, join(dir, 'kubeconfig'));
  chmodSync(join(dir, 'kubeconfig'), 0o644);
  const namespace = uniqueName('image');
  await installCrd(loadKubeConfig(kubeconfig));
  await ensureNamespace(loadKubeConfig(kubeconfig), namespace);
  httpPort = await freePort();
  const grpcPort = await freePort();
  container = uniqueName('rampart-image');
  // deploy/controlplane/deployment.yaml's securityContext, in podman's words; host network so
  // the container reaches the test API server on loopback and the test reaches /readyz.
  await podman(
    'run', '-d', '--name', container, ...PODMAN_ULIMITS,
    '--read-only', '--read-only-tmpfs=false', '--tmpfs', '/tmp:rw,size=64m', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges',
    '--network', 'host', '-v', `${dir}:/etc/rampart-test:ro`,
    image, 'controlplane', '--kubernetes', '--kubeconfig', '/etc/rampart-test/kubeconfig', '--namespace', namespace,
    `--http-listen=127.0.0.1:${httpPort}`, `--grpc-listen=127.0.0.1:${grpcPort}`,
  );
}, 35 * 60_000);

afterAll(async () => {
  if (container) await podman('rm', '-f', '-t', '2', container).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

async function logs(): Promise<string> {
  const { stdout, stderr } = await podman('logs', container).catch(() => ({ stdout: '', stderr: '' }));
  return `${stdout}${stderr}`.split('\n').slice(-20).join('\n');
}

describe('the Rampart image', () => {
  it('starts as controlplane --kubernetes against the API server and becomes ready', async () => {
    const outcome = await waitFor(
      async () => {
        const running = (await podman('inspect', '--format', '{{.State.Running}}', container)).stdout.trim();
        if (running !== 'true') return 'stopped';
        const ready = await fetch(`http://127.0.0.1:${httpPort}/readyz`).then(
          (r) => r.status === 200,
          () => false,
        );
        return ready ? 'ready' : false;
      },
      { timeoutMs: 45_000, intervalMs: 250, what: 'the containerised control plane to answer /readyz 200' },
    ).catch(async (e: unknown) => `${e instanceof Error ? e.message : String(e)}`);
    if (outcome !== 'ready') throw new Error(`${outcome}; container log:\n${await logs()}`);
    const health = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
    expect(health.status).toBe(200);
  }, 60_000);

  it('runs as a non-root user on a read-only root filesystem', async () => {
    expect((await podman('exec', container, 'node', '-e', 'process.stdout.write(String(process.getuid()))')).stdout).toBe('65532');
    expect((await podman('inspect', '--format', '{{.HostConfig.ReadonlyRootfs}}', container)).stdout.trim()).toBe('true');
    const write = await podman('exec', container, 'node', '-e', "require('fs').writeFileSync('/app/x', 'x')").then(
      () => 'wrote',
      (e: { stderr?: string }) => e.stderr ?? '',
    );
    expect(write).toMatch(/EROFS|read-only file system/);
    // /tmp is the one writable place (the manifests mount an emptyDir there).
    await podman('exec', container, 'node', '-e', "require('fs').writeFileSync('/tmp/x', 'x')");
  });
});
