/**
 * Starts a real etcd + kube-apiserver on loopback for the `kube` test project (what
 * kubebuilder's envtest does): generated certificates (openssl), a static-token admin user in
 * system:masters, RBAC authorization, service-account signing keys (so the TokenRequest API
 * works), and a kubeconfig for @kubernetes/client-node. No controller-manager runs: tests
 * create the objects a controller would (e.g. ServiceAccounts) themselves.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../wait-for.js';

const run = promisify(execFile);

export interface KubeApiServer {
  /** https://127.0.0.1:<port> */
  readonly url: string;
  readonly kubeconfigPath: string;
  /** Bearer token of the admin user (group system:masters). */
  readonly adminToken: string;
  /** PEM of the CA that signed the serving certificate. */
  readonly caPem: string;
  /** Milliseconds from spawning etcd to /readyz answering ok. */
  readonly startupMs: number;
  /** Temp dir with certificates, logs and etcd data; removed by stop(). */
  readonly dir: string;
  stop(): Promise<void>;
}

/** The API server's audit log (JSON lines: writes to Rampart's resources, metadata level), from the kubeconfig's path. */
export function auditLogPath(kubeconfigPath: string): string {
  return join(dirname(kubeconfigPath), 'audit.log');
}

export interface StartOptions {
  /** Directory holding the `kube-apiserver` and `etcd` binaries (test/support/kube/build.sh). */
  readonly binDir: string;
  /** How long to wait for the server to become ready (a loaded 2-core machine is slow). */
  readonly readyTimeoutMs?: number;
}

/**
 * The kernel hands out ephemeral ports (bind to port 0, every outgoing connection) from
 * ip_local_port_range only. etcd and kube-apiserver take their ports on the command line, so
 * we pick free ones below that range: no other process can be given such a port between our
 * check and the child's bind, as it could a port we bound to 0 and closed.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 12_000 ? low : 32_768;
  } catch {
    return 32_768; // Linux's default low end
  }
}

async function freePort(taken: ReadonlySet<number> = new Set()): Promise<number> {
  const high = ephemeralLow();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (high - 10_000));
    if (taken.has(port)) continue;
    const server = createServer();
    const free = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (free) {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      return port;
    }
  }
  throw new Error('no free loopback port below the ephemeral range after 50 tries');
}

async function openssl(cwd: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd });
}

/** CA, a serving certificate for 127.0.0.1/localhost, and an RSA key pair for service accounts. */
async function makeCertificates(dir: string): Promise<void> {
  await openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=rampart-test-ca']);
  await writeFile(
    join(dir, 'serving.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  await openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'serving.key', '-out', 'serving.csr', '-subj', '/CN=kube-apiserver']);
  await openssl(dir, ['x509', '-req', '-in', 'serving.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'serving.crt', '-days', '2', '-extfile', 'serving.ext']);
  await openssl(dir, ['genrsa', '-out', 'sa.key', '2048']);
  await openssl(dir, ['rsa', '-in', 'sa.key', '-pubout', '-out', 'sa.pub']);
}

function spawnLogged(bin: string, args: string[], logPath: string): ChildProcess {
  const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = createWriteStream(logPath);
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return child;
}

async function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

async function tail(path: string, lines = 25): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** GET a path with the admin token; resolves the status code and body. */
export function adminGet(server: Pick<KubeApiServer, 'url' | 'adminToken' | 'caPem'>, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, server.url),
      { ca: server.caPem, headers: { authorization: `Bearer ${server.adminToken}` }, timeout: 5000 },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end();
  });
}

export async function startKubeApiServer(options: StartOptions): Promise<KubeApiServer> {
  const started = performance.now();
  const dir = await mkdtemp(join(tmpdir(), 'rampart-kube-'));
  const children: ChildProcess[] = [];
  // If the test process dies without running teardown, do not leave servers behind.
  const killOnExit = (): void => children.forEach((c) => c.kill('SIGKILL'));
  process.once('exit', killOnExit);
  const stop = async (): Promise<void> => {
    // apiserver first, then etcd: the reverse of start-up.
    for (const child of [...children].reverse()) await stopChild(child, 10_000);
    process.off('exit', killOnExit);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await makeCertificates(dir);
    const adminToken = `admin-${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    await writeFile(join(dir, 'tokens.csv'), `${adminToken},rampart-test-admin,uid-admin,"system:masters"\n`);
    await mkdir(join(dir, 'etcd'), { mode: 0o700 });
    // An audit log of every write (metadata only), beside the kubeconfig: tests
    // read who wrote what, with which User-Agent (auditLogPath).
    await writeFile(
      join(dir, 'audit-policy.json'),
      JSON.stringify({
        apiVersion: 'audit.k8s.io/v1',
        kind: 'Policy',
        omitStages: ['RequestReceived'],
        rules: [
          // Every write to any resource (server-side apply is a patch): the fencing test counts them all.
          { level: 'Metadata', verbs: ['create', 'update', 'patch', 'delete', 'deletecollection'] },
          { level: 'None' },
        ],
      }),
    );

    const etcdClient = await freePort();
    const etcdPeer = await freePort(new Set([etcdClient]));
    const securePort = await freePort(new Set([etcdClient, etcdPeer]));
    const etcd = spawnLogged(
      join(options.binDir, 'etcd'),
      [
        '--name=default',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
        `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
        `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
        `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
        '--unsafe-no-fsync', // test data: durability buys nothing and fsync is slow on shared disks
        '--log-level=warn',
      ],
      join(dir, 'etcd.log'),
    );
    children.push(etcd);

    const apiserver = spawnLogged(
      join(options.binDir, 'kube-apiserver'),
      [
        `--etcd-servers=http://127.0.0.1:${etcdClient}`,
        '--bind-address=127.0.0.1',
        '--advertise-address=127.0.0.1',
        `--secure-port=${securePort}`,
        `--tls-cert-file=${join(dir, 'serving.crt')}`,
        `--tls-private-key-file=${join(dir, 'serving.key')}`,
        `--client-ca-file=${join(dir, 'ca.crt')}`,
        `--token-auth-file=${join(dir, 'tokens.csv')}`,
        '--authorization-mode=RBAC',
        '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
        `--service-account-key-file=${join(dir, 'sa.pub')}`,
        `--service-account-signing-key-file=${join(dir, 'sa.key')}`,
        '--service-cluster-ip-range=10.0.0.0/24',
        '--endpoint-reconciler-type=none',
        '--enable-priority-and-fairness=false',
        '--profiling=false',
        `--audit-policy-file=${join(dir, 'audit-policy.json')}`,
        `--audit-log-path=${auditLogPath(join(dir, 'kubeconfig'))}`,
        '--audit-log-maxsize=200',
        '--v=1',
      ],
      join(dir, 'apiserver.log'),
    );
    children.push(apiserver);

    const caPem = await readFile(join(dir, 'ca.crt'), 'utf8');
    const url = `https://127.0.0.1:${securePort}`;
    const failedEarly = (): string | false => {
      for (const [name, child] of [['etcd', etcd], ['kube-apiserver', apiserver]] as const) {
        if (child.exitCode !== null) return `${name} exited with code ${child.exitCode}`;
      }
      return false;
    };
    await waitFor(
      async () => {
        const early = failedEarly();
        if (early) throw new Error(early);
        const res = await adminGet({ url, adminToken, caPem }, '/readyz');
        return res.status === 200;
      },
      { timeoutMs: options.readyTimeoutMs ?? 180_000, intervalMs: 250, what: 'kube-apiserver /readyz' },
    ).catch(async (e: unknown) => {
      const logs = `--- apiserver.log ---\n${await tail(join(dir, 'apiserver.log'))}\n--- etcd.log ---\n${await tail(join(dir, 'etcd.log'))}`;
      throw new Error(`kube-apiserver did not become ready: ${e instanceof Error ? e.message : String(e)}\n${logs}`, { cause: e });
    });

    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(
      kubeconfigPath,
      JSON.stringify({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'rampart-test', cluster: { server: url, 'certificate-authority-data': Buffer.from(caPem).toString('base64') } }],
        users: [{ name: 'admin', user: { token: adminToken } }],
        contexts: [{ name: 'rampart-test', context: { cluster: 'rampart-test', user: 'admin' } }],
        'current-context': 'rampart-test',
      }),
      { mode: 0o600 },
    );
    return { url, kubeconfigPath, adminToken, caPem, startupMs: Math.round(performance.now() - started), dir, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
