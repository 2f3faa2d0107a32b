/**
 * The brownfield chain: a real `rampart controlplane --baseline <dir>` with the Bookinfo
 * baseline, a real `rampart replay` of the TCP capture (served once) and one real
 * `rampart agent` holding its whole history, all on loopback.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgentProcess, startReplay, TCP_CAPTURE, type AgentProcess, type ReplayProcess } from './agent-harness.js';
import { BROWNFIELD_BASELINE_YAML } from './bookinfo.js';
import { startControlplaneProcess, type ControlplaneProcess } from './controlplane-process.js';

export interface BrownfieldChain {
  /** Holds contracts/, baseline/ (legacy.yaml) and state/. */
  readonly dir: string;
  readonly controlplane: ControlplaneProcess;
  readonly replay: ReplayProcess;
  readonly agent: AgentProcess;
  stop(): Promise<void>;
}

/** `contracts`: file name → RampContract YAML, written to contracts/ before the control plane starts. */
export async function startBrownfieldChain(prefix: string, contracts: Readonly<Record<string, string>>): Promise<BrownfieldChain> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const d of ['contracts', 'baseline', 'state']) mkdirSync(join(dir, d));
  for (const [file, yaml] of Object.entries(contracts)) writeFileSync(join(dir, 'contracts', file), yaml);
  writeFileSync(join(dir, 'baseline', 'legacy.yaml'), BROWNFIELD_BASELINE_YAML);
  const controlplane = await startControlplaneProcess(['--contracts', join(dir, 'contracts'), '--state', join(dir, 'state'), '--baseline', join(dir, 'baseline'), '--contract-rescan', '200ms', '--reconcile-interval', '200ms']);
  let replay: ReplayProcess | undefined;
  let agent: AgentProcess;
  try {
    replay = await startReplay(TCP_CAPTURE);
    agent = await startAgentProcess({ hubble: replay.address, controlplane: `127.0.0.1:${controlplane.grpcPort}`, node: 'kind-control-plane', extra: ['--hubble-history', '100000'] });
  } catch (e) {
    // Nothing is left running when the chain does not come up.
    await replay?.stop('SIGKILL');
    await controlplane.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  return {
    dir,
    controlplane,
    replay,
    agent,
    stop: async () => {
      await agent.stop('SIGKILL');
      await replay.stop();
      await controlplane.stop('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
