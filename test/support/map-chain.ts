/**
 * A small real chain for traffic-map tests: `rampart replay` over the Bookinfo capture →
 * one `rampart agent` → `rampart controlplane` (file mode, with a bookinfo contract), all on
 * loopback. The caller stops it with `stop()`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { RAMPART_BIN, REPO_ROOT, startControlplaneProcess, type ControlplaneProcess } from './controlplane-process.js';
import { waitFor } from './wait-for.js';

export const BOOKINFO_CAPTURE = path.resolve(REPO_ROOT, '..', 'shared', 'flows', 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl');

/** Locks bookinfo down; `forgetReviews` leaves out the rule that admits traffic into reviews. */
export function bookinfoContract(name: string, forgetReviews: boolean): string {
  const selector = forgetReviews ? '{ matchExpressions: [{ key: app, operator: NotIn, values: [reviews] }] }' : '{}';
  return `apiVersion: rampart.dev/v1alpha1
kind: RampContract
metadata: { name: ${name} }
spec:
  policies:
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: default-deny-ingress, namespace: bookinfo }
      spec: { podSelector: {}, policyTypes: [Ingress] }
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: allow-in-namespace, namespace: bookinfo }
      spec:
        podSelector: ${selector}
        ingress:
          - from: [{ podSelector: {} }]
            ports: [{ port: 9080 }]
  rollout:
    strategy: percent
    stages:
      - { name: monitor, minDuration: 1h }
      - { name: full, percent: 100, minDuration: 1h }
`;
}

export interface MapChain {
  readonly dir: string;
  readonly token: string;
  cp: ControlplaneProcess;
  readonly controlplaneArgs: readonly string[];
  /** Stops replay and agent (the control plane keeps running). */
  stopTraffic(): void;
  stop(): Promise<void>;
}

function startChild(args: string[]): { proc: ChildProcess; logs: Record<string, unknown>[] } {
  const proc = spawn(process.execPath, [RAMPART_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Record<string, unknown>[] = [];
  let buffer = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (c: string) => {
    buffer += c;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      try {
        logs.push(JSON.parse(buffer.slice(0, nl)) as Record<string, unknown>);
      } catch {
        // not a log line
      }
      buffer = buffer.slice(nl + 1);
    }
  });
  proc.stderr!.resume();
  return { proc, logs };
}

export async function startMapChain(options: { readonly token?: string; readonly extraControlplaneArgs?: readonly string[] } = {}): Promise<MapChain> {
  const token = options.token ?? 'map-token';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-map-'));
  fs.mkdirSync(path.join(dir, 'contracts'));
  fs.writeFileSync(path.join(dir, 'contracts', 'bookinfo.yaml'), bookinfoContract('bookinfo-lockdown', true));
  fs.writeFileSync(path.join(dir, 'token'), token);
  const children: ChildProcess[] = [];
  const replay = startChild(['replay', '--flows', BOOKINFO_CAPTURE, '--listen', '127.0.0.1:0', '--loop', '--rate', '200']);
  children.push(replay.proc);
  const address = await waitFor(() => replay.logs.find((l) => typeof l['address'] === 'string')?.['address'] as string | undefined, { timeoutMs: 20_000, what: 'replay to listen' });
  const controlplaneArgs = ['--contracts', path.join(dir, 'contracts'), '--state', path.join(dir, 'state'), '--token-file', path.join(dir, 'token'), ...(options.extraControlplaneArgs ?? [])];
  const cp = await startControlplaneProcess(controlplaneArgs);
  const agent = startChild(['agent', '--hubble', address, '--controlplane', `127.0.0.1:${cp.grpcPort}`, '--node', 'node-a', '--window', '300ms', '--metrics-listen', 'off', '--token-file', path.join(dir, 'token')]);
  children.push(agent.proc);
  const chain: MapChain = {
    dir,
    token,
    cp,
    controlplaneArgs,
    stopTraffic: () => {
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    },
    stop: async () => {
      chain.stopTraffic();
      await chain.cp.stop('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return chain;
}
