/**
 * Finds or builds the Go peers of the kube tests (build.sh beside this file: helm and our
 * kstatus checker, pinned by go.mod/go.sum, cached per machine outside the repo), and runs
 * the kstatus checker on objects read back from the API server.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BUILD_SCRIPT = fileURLToPath(new URL('./build.sh', import.meta.url));

export interface KubePeers {
  readonly helm: string;
  readonly kstatus: string;
}

let built: Promise<KubePeers> | null = null;

/** Resolves with the binaries' paths, or rejects saying why they could not be built. */
export function kubePeers(): Promise<KubePeers> {
  built ??= run('bash', [BUILD_SCRIPT], { timeout: 30 * 60_000, maxBuffer: 16 * 1024 * 1024 }).then(
    ({ stdout }) => {
      const dir = stdout.trim().split('\n').pop() ?? '';
      if (dir === '') throw new Error(`${BUILD_SCRIPT} printed no directory`);
      return { helm: join(dir, 'helm'), kstatus: join(dir, 'kstatus') };
    },
    (e: unknown) => {
      const stderr = (e as { stderr?: string }).stderr ?? '';
      throw new Error(`helm and the kstatus checker could not be built by ${BUILD_SCRIPT}:\n${stderr.split('\n').slice(-15).join('\n')}`, { cause: e });
    },
  );
  return built;
}

export interface KstatusVerdict {
  /** kstatus's status: InProgress, Current, Failed, Terminating, NotFound or Unknown. */
  readonly status: string;
  readonly message: string;
}

/** What sigs.k8s.io/cli-utils/pkg/kstatus computes for each object (in order). */
export async function kstatus(objects: readonly unknown[]): Promise<KstatusVerdict[]> {
  const { kstatus: bin } = await kubePeers();
  const child = execFile(bin, [], { timeout: 30_000 });
  const out: Promise<string> = new Promise((resolve, reject) => {
    let text = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(text) : reject(new Error(`kstatus exited ${code}: ${stderr}`))));
  });
  child.stdin!.end(objects.map((o) => JSON.stringify(o)).join('\n') + '\n');
  const verdicts = (await out)
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as KstatusVerdict & { error?: string });
  for (const v of verdicts) if (v.error) throw new Error(`kstatus: ${v.error}`);
  return verdicts;
}
