/**
 * Kubernetes mode against a real kube-apiserver + etcd on loopback (the `kube` test rig;
 * test/support/kube/build.sh builds or finds the binaries): two `rampart controlplane
 * --kubernetes` processes on one Lease. Prints
 * - the time from creating a RampContract to its first status write (seen on a watch, so
 *   the figure includes the API server's round trips both ways), p50/p95/max over N;
 * - the failover time: kill -9 of the leader → the standby answers /readyz 200, and → the
 *   standby's first status write (a contract created right after the kill).
 * Knobs: BENCH_KUBE_CONTRACTS (20).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, CustomObjectsApi, Watch, type KubeConfig } from '@kubernetes/client-node';
import { startKubeApiServer } from '../test/support/kube/apiserver.js';
import { GROUP, PLURAL, VERSION, installCrd, loadKubeConfig } from '../test/support/kube/client.js';
import { contractBody } from '../test/support/kube/contracts.js';

const N = Number(process.env['BENCH_KUBE_CONTRACTS'] ?? 20);
const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..', '..');
const bin = path.join(root, 'bin', 'rampart.js');

interface Replica {
  readonly proc: ChildProcess;
  readonly identity: string;
  httpPort: number;
}

function startReplica(kubeconfig: string, namespace: string, identity: string, tokenFile: string): Promise<Replica> {
  const proc = spawn(
    process.execPath,
    [bin, 'controlplane', '--kubernetes', '--kubeconfig', kubeconfig, '--namespace', namespace, '--grpc-listen', '127.0.0.1:0', '--http-listen', '127.0.0.1:0', '--reconcile-interval', '200ms', '--token-file', tokenFile],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, RAMPART_LEADER_IDENTITY: identity } },
  );
  return new Promise((resolve, reject) => {
    let buf = '';
    proc.stdout!.setEncoding('utf8');
    let found = false;
    proc.stdout!.on('data', (c: string) => {
      if (found) return; // the rest of the log is not needed (keep reading so the pipe never fills)
      buf += c;
      const m = /"httpPort":(\d+)/.exec(buf);
      if (m) {
        found = true;
        resolve({ proc, identity, httpPort: Number(m[1]) });
        buf = '';
      }
    });
    proc.once('exit', (code) => reject(new Error(`${identity} exited with ${code}`)));
  });
}

async function readyz(r: Replica): Promise<number> {
  try {
    return (await fetch(`http://127.0.0.1:${r.httpPort}/readyz`)).status;
  } catch {
    return 0;
  }
}

async function until<T>(what: string, fn: () => Promise<T | false> | T | false, timeoutMs = 60_000, intervalMs = 20): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Watches contracts; resolves the first time each name shows a status phase. */
async function statusWatch(kc: KubeConfig): Promise<{ firstStatus: Map<string, number>; stop(): void }> {
  const firstStatus = new Map<string, number>();
  const controller = await new Watch(kc).watch(
    `/apis/${GROUP}/${VERSION}/${PLURAL}`,
    {},
    (_type: string, obj: { metadata?: { name?: string }; status?: { phase?: string } }) => {
      const name = obj.metadata?.name;
      if (name && obj.status?.phase !== undefined && !firstStatus.has(name)) firstStatus.set(name, performance.now());
    },
    () => undefined,
  );
  return { firstStatus, stop: () => controller.abort() };
}

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};

async function main(): Promise<void> {
  let binDir: string;
  try {
    binDir = execFileSync(path.join(root, 'test', 'support', 'kube', 'build.sh'), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n').pop()!;
  } catch {
    process.stdout.write('skipped: no kube-apiserver/etcd binaries (test/support/kube/build.sh failed)\n');
    return;
  }
  const server = await startKubeApiServer({ binDir });
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-kube-bench-'));
  const replicas: Replica[] = [];
  try {
    const kc = loadKubeConfig(server.kubeconfigPath);
    await installCrd(kc);
    const namespace = 'rampart-bench';
    await kc.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: namespace } } });
    const tokenFile = path.join(tmp, 'token');
    fs.writeFileSync(tokenFile, 'bench');
    replicas.push(await startReplica(server.kubeconfigPath, namespace, 'replica-a', tokenFile));
    await until('replica-a to lead', async () => (await readyz(replicas[0]!)) === 200);
    replicas.push(await startReplica(server.kubeconfigPath, namespace, 'replica-b', tokenFile));
    const watch = await statusWatch(kc);
    const api = kc.makeApiClient(CustomObjectsApi);

    const latencies: number[] = [];
    for (let i = 0; i < N; i++) {
      const name = `bench-${i}`;
      const t0 = performance.now();
      await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: contractBody(name) });
      const t1 = await until(`status of ${name}`, () => watch.firstStatus.get(name) ?? false, 30_000, 2);
      latencies.push(t1 - t0);
    }
    process.stdout.write(
      `contract create → first status write (${N} contracts, one at a time, 1 leader + 1 standby): p50 ${pct(latencies, 50).toFixed(0)} ms, p95 ${pct(latencies, 95).toFixed(0)} ms, max ${Math.max(...latencies).toFixed(0)} ms\n`,
    );

    const [a, b] = replicas as [Replica, Replica];
    const killed = performance.now();
    a.proc.kill('SIGKILL');
    await api.createClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, body: contractBody('bench-after-failover') });
    await until('the standby to lead', async () => (await readyz(b)) === 200, 60_000, 20);
    const ready = performance.now() - killed;
    const written = (await until('the first status write after failover', () => watch.firstStatus.get('bench-after-failover') ?? false, 30_000, 2)) - killed;
    process.stdout.write(`failover (kill -9 of the leader; lease 15 s, renew 5 s, retry 2 s): standby ready after ${(ready / 1000).toFixed(2)} s, first status write after ${(written / 1000).toFixed(2)} s\n`);
    watch.stop();
  } finally {
    for (const r of replicas) r.proc.kill('SIGKILL');
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
