/**
 * The full chain with real processes on loopback: `rampart replay` (a Hubble server over a
 * real capture) → two `rampart agent`s → `rampart controlplane`. The capture's connection
 * starts are repeated with fresh source ports so that the stream carries new connections
 * for as long as the test runs (the agents count each 5-tuple once per TTL).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnRampart, TCP_CAPTURE, type RampartProcess } from '../support/agent-harness.js';
import { BOOKINFO as CONTRACT, bookinfoContract } from '../support/bookinfo.js';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { synthesizeCapture } from '../support/faults.js';
import { waitFor } from '../support/wait-for.js';

const TOKEN = 'chain-token';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The Bookinfo lockdown, every stage `minDuration` long (default 1s), gated on 50 flows. */
function contractYaml(o: { missingReviews: boolean; minDuration?: string; maxReportAge?: string }): string {
  const d = o.minDuration ?? '1s';
  return bookinfoContract({ missingReviews: o.missingReviews, durations: [d, d, d, d], gates: { minFlows: 50, ...(o.maxReportAge === undefined ? {} : { maxReportAge: o.maxReportAge }) } });
}

function writeContract(dir: string, yaml: string): void {
  fs.writeFileSync(path.join(dir, 'bookinfo.yaml.tmp'), yaml);
  fs.renameSync(path.join(dir, 'bookinfo.yaml.tmp'), path.join(dir, 'bookinfo.yaml'));
}

/** A rampart child, killed after the test, once it logs a line that `ready` accepts. */
async function startRampart(args: string[], ready: (log: Record<string, unknown>) => boolean): Promise<RampartProcess> {
  const child = spawnRampart(args);
  cleanups.push(() => {
    if (child.proc.exitCode === null && child.proc.signalCode === null) child.proc.kill('SIGKILL');
  });
  await child.waitForLog(ready, `rampart ${args[0]} to start`);
  return child;
}

interface ContractJson {
  revision: number;
  stage: { index: number; name: string };
  phase: string;
  decision: { kind: string; reasons: string[] };
  gates: { gate: string; phase: string; message: string }[];
}

async function contract(cp: ControlplaneProcess): Promise<ContractJson> {
  const res = await fetch(`${cp.base}/api/v1/contracts/${CONTRACT}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return (await res.json()) as ContractJson;
}

async function chain(o: { missingReviews: boolean; minDuration?: string; maxReportAge?: string }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-chain-'));
  cleanups.push(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const contracts = path.join(dir, 'contracts');
  fs.mkdirSync(contracts);
  writeContract(contracts, contractYaml(o));
  fs.writeFileSync(path.join(dir, 'token'), TOKEN);
  const capture = path.join(dir, 'capture.jsonl');
  synthesizeCapture(TCP_CAPTURE, capture, 600);

  const replay = await startRampart(['replay', '--flows', capture, '--listen', '127.0.0.1:0', '--loop', '--rate', '400'], (l) => typeof l['address'] === 'string');
  const hubble = replay.logs.find((l) => typeof l['address'] === 'string')!['address'] as string;
  const cp = await startControlplaneProcess([
    '--contracts', contracts,
    '--state', path.join(dir, 'state'),
    '--token-file', path.join(dir, 'token'),
    '--reconcile-interval', '200ms',
    '--contract-rescan', '200ms',
    '--expected-nodes', 'node-a,node-b',
  ]);
  cleanups.push(async () => {
    await cp.stop('SIGKILL');
  });
  const agents = new Map<string, RampartProcess>();
  for (const node of ['node-a', 'node-b']) {
    agents.set(
      node,
      await startRampart(
        ['agent', '--hubble', hubble, '--controlplane', `127.0.0.1:${cp.grpcPort}`, '--node', node, '--window', '500ms', '--metrics-listen', 'off', '--token-file', path.join(dir, 'token')],
        () => true,
      ),
    );
  }
  return { dir, contracts, cp, agents };
}

describe('replay → agents → control plane', () => {
  it('a contract missing one allow rule goes Blocked naming the edge; the corrected one ramps to Complete', async () => {
    const { contracts, cp } = await chain({ missingReviews: true });
    const blocked = await waitFor(async () => ((await contract(cp)).phase === 'Blocked' ? contract(cp) : null), { timeoutMs: 30_000, what: 'Blocked' });
    expect(blocked.stage.index).toBe(0);
    expect(blocked.decision.reasons[0]).toMatch(/^failed: would-deny \d+ > 0; top edge bookinfo\/productpage → bookinfo\/reviews:9080\/TCP \(\d+\)$/);

    writeContract(contracts, contractYaml({ missingReviews: false }));
    await waitFor(async () => ((await contract(cp)).phase === 'Complete' ? true : null), { timeoutMs: 40_000, what: 'Complete' });
    const res = await fetch(`${cp.base}/api/v1/contracts/${CONTRACT}/history`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const items = ((await res.json()) as { items: { revision: number; to: string; phase: string; decision: string }[] }).items;
    expect(items.filter((h) => h.revision === 2).map((h) => `${h.to}/${h.phase}`)).toEqual([
      'monitor/Observing',
      'canary/Observing',
      'half/Observing',
      'full/Observing',
      'full/Complete',
    ]);
  });

  it('one agent killed: no advance, and the decision says which node is silent', async () => {
    const { cp, agents } = await chain({ missingReviews: false, minDuration: '2s', maxReportAge: '1s' });
    await waitFor(async () => (await contract(cp)).stage.index >= 1, { timeoutMs: 30_000, what: 'canary' });
    agents.get('node-b')!.proc.kill('SIGKILL');
    const held = await waitFor(
      async () => {
        const c = await contract(cp);
        return c.decision.reasons.some((r) => /^inconclusive: node coverage 1\/2 \(50%\) < 100%; not reporting: node-b/.test(r)) ? c : null;
      },
      { timeoutMs: 15_000, what: 'a hold naming node-b' },
    );
    // Well past minDuration of the stage it holds in, still there.
    await waitFor(
      async () => {
        const c = await contract(cp);
        return c.gates.some((g) => g.gate === 'minDuration' && g.phase === 'passed' && /time in stage [4-9]s/.test(g.message)) || null;
      },
      { timeoutMs: 15_000, what: 'twice minDuration in the held stage' },
    );
    const after = await contract(cp);
    expect(after.stage.index).toBe(held.stage.index);
    expect(after.phase).toBe('Observing');
    expect(after.decision.kind).toBe('hold');
  });
});
