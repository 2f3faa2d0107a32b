/**
 * Client of the cilium-judge peer (test/support/cilium-judge/main.go): Cilium's own policy
 * engine, from the pinned Cilium module, behind one long-lived process speaking JSON lines.
 * `startCiliumJudge()` finds (or builds, once per machine) the binary with build.sh and spawns
 * it; each `judge` call is one request line and one answer line, matched by id.
 */
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** The sources live beside this file in the repo; from dist/ the repo copy is two levels up. */
const BUILD_SCRIPT_CANDIDATES = [path.join(HERE, 'cilium-judge', 'build.sh'), path.join(HERE, '..', '..', '..', 'test', 'support', 'cilium-judge', 'build.sh')];

export interface JudgeEndpoint {
  readonly kind: 'pod' | 'external' | 'reserved';
  /** pod: its identity labels; reserved: `["reserved:<name>"]`. */
  readonly labels?: readonly string[];
  /** external: its IP (and the DNS names Hubble would attach). */
  readonly ip?: string;
  readonly names?: readonly string[];
  readonly ports?: ReadonlyArray<{ readonly name: string; readonly port: number; readonly protocol: string }>;
}

export interface JudgeCase {
  readonly src: number;
  readonly dst: number;
  readonly proto: 'TCP' | 'UDP' | 'SCTP' | 'ICMP' | 'ICMPv6';
  /** Destination port, or the ICMP type. */
  readonly port: number;
}

export interface JudgeRequest {
  readonly policies: readonly unknown[];
  readonly endpoints: readonly JudgeEndpoint[];
  readonly cases: readonly JudgeCase[];
}

export interface JudgeResult {
  readonly egress: 'allow' | 'deny' | 'none';
  readonly ingress: 'allow' | 'deny' | 'none';
}

export interface CiliumJudge {
  judge(request: JudgeRequest): Promise<JudgeResult[]>;
  close(): Promise<void>;
}

/** Path of the built judge (builds it on first use on this machine); throws with build.sh's reason. */
export async function ciliumJudgeBinary(): Promise<string> {
  const { existsSync } = await import('node:fs');
  const script = BUILD_SCRIPT_CANDIDATES.find((p) => existsSync(p));
  if (script === undefined) throw new Error(`cilium-judge: build.sh not found (looked in ${BUILD_SCRIPT_CANDIDATES.join(', ')})`);
  try {
    const { stdout } = await promisify(execFile)('bash', [script], { maxBuffer: 1 << 20, timeout: 30 * 60_000 });
    return stdout.trim().split('\n').pop()!;
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`cilium-judge could not be built: ${stderr.trim() || String(e)}`);
  }
}

export async function startCiliumJudge(): Promise<CiliumJudge> {
  const bin = await ciliumJudgeBinary();
  const child: ChildProcessWithoutNullStreams = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
  const pending = new Map<number, { resolve: (r: JudgeResult[]) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const lines = createInterface({ input: child.stdout });
  lines.on('line', (line) => {
    let msg: { id?: number; error?: string; results?: JudgeResult[] };
    try {
      msg = JSON.parse(line) as typeof msg;
    } catch {
      return;
    }
    const waiter = msg.id === undefined ? undefined : pending.get(msg.id);
    if (waiter === undefined) return;
    pending.delete(msg.id!);
    if (msg.error !== undefined) waiter.reject(new Error(`cilium-judge: ${msg.error}`));
    else waiter.resolve(msg.results ?? []);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code) => {
    for (const w of pending.values()) w.reject(new Error(`cilium-judge exited (${code}): ${stderr}`));
    pending.clear();
  });
  return {
    judge(request: JudgeRequest): Promise<JudgeResult[]> {
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.stdin.write(`${JSON.stringify({ id, ...request })}\n`);
      });
    },
    async close(): Promise<void> {
      child.stdin.end();
      await exited;
    },
  };
}
