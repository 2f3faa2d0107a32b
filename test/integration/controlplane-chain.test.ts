/**
 * The full chain with real processes on loopback: `rampart replay` (a Hubble server over a
 * real capture) → two `rampart agent`s → `rampart controlplane`. The capture's connection
 * starts are repeated with fresh source ports so that the stream carries new connections
 * for as long as the test runs (the agents count each 5-tuple once per TTL).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RAMPART_BIN, REPO_ROOT, startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { synthesizeCapture } from '../support/faults.js';
import { waitFor } from '../support/wait-for.js';

const CAPTURE = path.resolve(REPO_ROOT, '..', 'shared', 'flows', 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl');
const TOKEN = 'chain-token';
const CONTRACT = 'bookinfo-lockdown';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The Bookinfo lockdown; `missingReviews` leaves out the rule that admits traffic into reviews. */
function contractYaml(o: { missingReviews: boolean; minDuration?: string; maxReportAge?: string }): string {
  const selector = o.missingReviews ? '{ matchExpressions: [{ key: app, operator: NotIn, values: [reviews] }] }' : '{}';
  const d = o.minDuration ?? '1s';
  return `apiVersion: rampart.dev/v1alpha1
kind: RampContract
metadata: { name: ${CONTRACT} }
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
      - { name: monitor, minDuration: ${d} }
      - { name: canary, percent: 10, minDuration: ${d} }
      - { name: half, percent: 50, minDuration: ${d} }
      - { name: full, percent: 100, minDuration: ${d} }
  gates:
    minFlows: 50
    maxWouldDeny: 0
    minNodeCoverage: 1
    maxReportAge: ${o.maxReportAge ?? '2s'}
`;
}

function writeContract(dir: string, yaml: string): void {
  fs.writeFileSync(path.join(dir, 'bookinfo.yaml.tmp'), yaml);
  fs.renameSync(path.join(dir, 'bookinfo.yaml.tmp'), path.join(dir, 'bookinfo.yaml'));
}

interface Child {
  proc: ChildProcess;
  logs: Record<string, unknown>[];
}

async function spawnRampart(args: string[], ready: (log: Record<string, unknown>) => boolean): Promise<Child> {
  const proc = spawn(process.execPath, [RAMPART_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const child: Child = { proc, logs: [] };
  cleanups.push(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let buffer = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8');
  proc.stdout!.on('data', (c: string) => {
    buffer += c;
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        child.logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        child.logs.push({ line });
      }
    }
  });
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (c: string) => {
    stderr += c;
  });
  await waitFor(
    () => {
      if (proc.exitCode !== null) throw new Error(`rampart ${args[0]} exited ${proc.exitCode}: ${stderr}`);
      return child.logs.some(ready);
    },
    { timeoutMs: 20_000, what: `rampart ${args[0]} to start` },
  );
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
  synthesizeCapture(CAPTURE, capture, 600);

  const replay = await spawnRampart(['replay', '--flows', capture, '--listen', '127.0.0.1:0', '--loop', '--rate', '400'], (l) => typeof l['address'] === 'string');
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
  const agents = new Map<string, Child>();
  for (const node of ['node-a', 'node-b']) {
    agents.set(
      node,
      await spawnRampart(
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
