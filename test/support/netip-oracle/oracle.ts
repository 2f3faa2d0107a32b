/**
 * Asks the netip oracle (main.go: Cilium's filterByIPs on Go's net/netip; built and cached by
 * build.sh) what Hubble does with IP filter strings: reject the filter, or match / not match
 * a flow's IP. One process per call, every pair at once.
 */
import { execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const BUILD_SCRIPT = fileURLToPath(new URL('./build.sh', import.meta.url));

export type OracleAnswer = 'reject' | 'match' | 'nomatch';

/** Resolves with the binary's path (building it once), or rejects saying why not. */
export function netipOracle(): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('bash', [BUILD_SCRIPT], { timeout: 5 * 60_000 }, (e, stdout, stderr) => {
      const path = stdout.trim().split('\n').pop() ?? '';
      if (e || path === '') reject(new Error(`the netip oracle could not be built by ${BUILD_SCRIPT}: ${e ? e.message : 'no path printed'}\n${stderr}`));
      else resolve(path);
    });
  });
}

/** The oracle's answer for each `[filter, flowIp]` pair, in order. */
export function askOracle(bin: string, pairs: readonly (readonly [string, string])[]): Promise<OracleAnswer[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const answers = out.split('\n').filter((l) => l !== '') as OracleAnswer[];
      if (code !== 0 || answers.length !== pairs.length) reject(new Error(`netip oracle exited ${code} with ${answers.length}/${pairs.length} answers: ${err}`));
      else resolve(answers);
    });
    child.stdin.end(pairs.map((p) => JSON.stringify(p)).join('\n') + '\n');
  });
}
