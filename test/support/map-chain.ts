/**
 * A small real chain for traffic-map tests: `rampart replay` over the Bookinfo capture →
 * one `rampart agent` → `rampart controlplane` (file mode, with a bookinfo contract), all on
 * loopback. The caller stops it with `stop()`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnRampart, startReplay, TCP_CAPTURE } from './agent-harness.js';
import { bookinfoContract } from './bookinfo.js';
import { startControlplaneProcess, type ControlplaneProcess } from './controlplane-process.js';

export interface MapChain {
  readonly dir: string;
  readonly token: string;
  cp: ControlplaneProcess;
  readonly controlplaneArgs: readonly string[];
  /** Stops replay and agent (the control plane keeps running). */
  stopTraffic(): void;
  stop(): Promise<void>;
}

export async function startMapChain(options: { readonly token?: string; readonly extraControlplaneArgs?: readonly string[] } = {}): Promise<MapChain> {
  const token = options.token ?? 'map-token';
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-map-'));
  fs.mkdirSync(path.join(dir, 'contracts'));
  fs.writeFileSync(path.join(dir, 'contracts', 'bookinfo.yaml'), bookinfoContract({ missingReviews: true, durations: ['1h', '1h'] }));
  fs.writeFileSync(path.join(dir, 'token'), token);
  const replay = await startReplay(TCP_CAPTURE, ['--loop', '--rate', '200']);
  const controlplaneArgs = ['--contracts', path.join(dir, 'contracts'), '--state', path.join(dir, 'state'), '--token-file', path.join(dir, 'token'), ...(options.extraControlplaneArgs ?? [])];
  const cp = await startControlplaneProcess(controlplaneArgs);
  const agent = spawnRampart(['agent', '--hubble', replay.address, '--controlplane', `127.0.0.1:${cp.grpcPort}`, '--node', 'node-a', '--window', '300ms', '--metrics-listen', 'off', '--token-file', path.join(dir, 'token')]);
  const children = [replay.proc, agent.proc];
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
