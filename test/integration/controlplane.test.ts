/**
 * The control plane as a real process on loopback, driven by real gRPC peers of the
 * collector protocol (test/support/collector-client.ts) and by HTTP clients: the ramp,
 * fail-closed holds, crash safety, the operator API with and without a token, and
 * malformed reports. Durations are compressed (1 s stages, 200 ms windows).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CollectorClient } from '../support/collector-client.js';
import { startControlplaneProcess, type ControlplaneProcess } from '../support/controlplane-process.js';
import { waitFor } from '../support/wait-for.js';
import { contractDoc, type ContractDocOptions } from '../support/window-builders.js';

const TOKEN = 'test-token-123';
const WINDOW_MS = 200;

interface Env {
  dir: string;
  contracts: string;
  state: string;
  tokenFile: string;
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function makeEnv(): Env {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-cp-'));
  const env = { dir, contracts: path.join(dir, 'contracts'), state: path.join(dir, 'state'), tokenFile: path.join(dir, 'token') };
  fs.mkdirSync(env.contracts);
  fs.writeFileSync(env.tokenFile, `${TOKEN}\n`);
  cleanups.push(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return env;
}

function writeContract(env: Env, o: ContractDocOptions, file = 'shop.json'): void {
  // JSON is YAML: the registry reads both. Write-then-rename so the watcher never sees half a file.
  const tmp = path.join(env.dir, `${file}.tmp`);
  fs.writeFileSync(tmp, JSON.stringify(contractDoc(o), null, 2));
  fs.renameSync(tmp, path.join(env.contracts, file));
}

async function start(env: Env, extra: string[] = []): Promise<ControlplaneProcess> {
  const cp = await startControlplaneProcess([
    '--contracts', env.contracts,
    '--state', env.state,
    '--token-file', env.tokenFile,
    '--reconcile-interval', '200ms',
    '--contract-rescan', '200ms',
    ...extra,
  ]);
  cleanups.push(async () => {
    await cp.stop('SIGKILL');
  });
  return cp;
}

const auth = { authorization: `Bearer ${TOKEN}` };

async function getJson(cp: ControlplaneProcess, p: string, headers: Record<string, string> = auth): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${cp.base}${p}`, { headers });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function post(cp: ControlplaneProcess, p: string, headers: Record<string, string> = auth, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${cp.base}${p}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

interface ContractJson {
  name: string;
  revision: number;
  stage: { index: number; name: string };
  phase: string;
  decision: { kind: string; reasons: string[] };
  evidence: { flows: number; deny: number; nodes: { expected: number; reporting: number } };
  problems: { path: string; message: string }[];
  gates: { gate: string; phase: string; message: string }[];
  applied: { stageIndex: number; mode: string; percent: number; policies: unknown[] } | null;
  thresholds: Record<string, number | null> | null;
}

async function contract(cp: ControlplaneProcess, name = 'shop-lockdown'): Promise<ContractJson> {
  const r = await getJson(cp, `/api/v1/contracts/${name}`);
  if (r.status !== 200) throw new Error(`GET contract: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body as unknown as ContractJson;
}

/** Agents: one client per node, each sending a window every WINDOW_MS for the stages it was told. */
function agents(cp: ControlplaneProcess, nodes: string[], window: Parameters<CollectorClient['sendWindow']>[0] = {}) {
  const clients = new Map(nodes.map((node) => [node, new CollectorClient({ port: cp.grpcPort, node, token: TOKEN })]));
  let shape = window;
  const timer = setInterval(() => {
    for (const c of clients.values()) if (c.latest()) c.sendWindow(shape);
  }, WINDOW_MS);
  const stop = (): void => {
    clearInterval(timer);
    for (const c of clients.values()) c.close();
    clients.clear();
  };
  cleanups.push(stop);
  return {
    clients,
    setWindow(w: typeof window) {
      shape = w;
    },
    kill(node: string) {
      clients.get(node)?.close();
      clients.delete(node);
    },
    stop,
  };
}

describe('rampart controlplane', () => {
  it('ramps monitor → canary → half → full → Complete on good evidence, pushing each stage to agents', async () => {
    const env = makeEnv();
    writeContract(env, { minDuration: '1s', maxReportAge: '1500ms' });
    const cp = await start(env, ['--expected-nodes', 'node-a,node-b']);
    const a = agents(cp, ['node-a', 'node-b']);
    const done = await waitFor(async () => ((await contract(cp)).phase === 'Complete' ? contract(cp) : null), { timeoutMs: 30_000, what: 'Complete' });
    expect(done.stage).toEqual({ index: 3, name: 'full', count: 4 });
    expect(done.applied).toMatchObject({ stageIndex: 3, mode: 'percent', percent: 100 });
    expect(done.applied?.policies).toHaveLength(1);
    expect(done.thresholds).toEqual({
      minFlows: 10,
      maxWouldDeny: 0,
      maxWouldDenyRatio: 0.001,
      maxNewlyAllowed: null,
      minNodeCoverage: 1,
      maxLostEventsRatio: 0.001,
      maxReportAgeMs: 1500,
      maxActualDeniesPerMinute: 10,
      historyWindowMs: 7 * 86_400_000,
      minWorkloadCoverage: 0,
      maxInconclusiveMs: null,
    });
    const history = (await getJson(cp, '/api/v1/contracts/shop-lockdown/history')).body['items'] as { from: string | null; to: string; phase: string; decision: string; actor: string }[];
    expect(history.map((h) => `${h.to}/${h.phase}`)).toEqual(['monitor/Observing', 'canary/Observing', 'half/Observing', 'full/Observing', 'full/Complete']);
    expect(history.slice(1).every((h) => h.decision === 'advance' && h.actor === 'auto')).toBe(true);
    // every agent was told each stage, in order, with its enforcement
    const stages = a.clients.get('node-a')!.sets.map((s) => `${s.contracts[0]?.stageName}:${JSON.stringify(s.contracts[0]?.enforcement)}`);
    expect(stages).toEqual([
      'monitor:{"mode":"monitor"}',
      'canary:{"mode":"percent","percent":10}',
      'half:{"mode":"percent","percent":50}',
      'full:{"mode":"percent","percent":100}',
    ]);
    const metrics = await (await fetch(`${cp.base}/metrics`)).text();
    expect(metrics).toMatch(/^rampart_controlplane_stage\{contract="shop-lockdown"\} 3$/m);
    expect(metrics).toMatch(/^rampart_controlplane_phase\{contract="shop-lockdown",phase="Complete"\} 1$/m);
    expect(metrics).toMatch(/^rampart_controlplane_agents_connected 2$/m);
    const nodes = (await getJson(cp, '/api/v1/agents')).body['items'] as { node: string; connected: boolean; hubbleConnected: boolean }[];
    expect(nodes.map((n) => [n.node, n.connected, n.hubbleConnected])).toEqual([
      ['node-a', true, true],
      ['node-b', true, true],
    ]);
  });

  it('a contract missing an allow rule goes Blocked with the edge named; the corrected contract is a new revision at monitor', async () => {
    const env = makeEnv();
    writeContract(env, { minDuration: '1s' });
    const cp = await start(env, ['--expected-nodes', 'node-a']);
    agents(cp, ['node-a'], { allow: 100, deny: 3, edge: { from: 'shop/cart', to: 'payments/redis', port: 6379 } });
    const blocked = await waitFor(async () => ((await contract(cp)).phase === 'Blocked' ? contract(cp) : null), { timeoutMs: 15_000, what: 'Blocked' });
    expect(blocked.stage.index).toBe(0);
    expect(blocked.decision.kind).toBe('hold');
    expect(blocked.decision.reasons[0]).toMatch(/^failed: would-deny \d+ > 0; top edge shop\/cart → payments\/redis:6379\/TCP \(\d+\)/);
    const edges = (await getJson(cp, '/api/v1/contracts/shop-lockdown/edges')).body['items'] as { from: string; to: string; port: number; count: number }[];
    expect(edges[0]).toMatchObject({ from: 'shop/cart', to: 'payments/redis', port: 6379, protocol: 'TCP' });

    writeContract(env, { minDuration: '1s', allowPorts: [5432, 6379] });
    const fixed = await waitFor(async () => ((await contract(cp)).revision === 2 ? contract(cp) : null), { timeoutMs: 10_000, what: 'revision 2' });
    expect(fixed.stage.index).toBe(0);
    expect(fixed.evidence.deny).toBe(0); // evidence never carries across revisions
  });

  it('holds when an agent is killed, and says which node is silent; lost events make the stage inconclusive', async () => {
    const env = makeEnv();
    writeContract(env, { minDuration: '1s', maxReportAge: '1s' });
    const cp = await start(env, ['--expected-nodes', 'node-a,node-b']);
    const a = agents(cp, ['node-a', 'node-b']);
    await waitFor(async () => (await contract(cp)).stage.index >= 1, { timeoutMs: 15_000, what: 'canary' });
    a.kill('node-b');
    const held = await waitFor(
      async () => {
        const c = await contract(cp);
        return c.decision.reasons.some((r) => /not reporting: node-b/.test(r)) ? c : null;
      },
      { timeoutMs: 10_000, what: 'a hold naming node-b' },
    );
    expect(held.decision.kind).toBe('hold');
    expect(held.decision.reasons.join('\n')).toMatch(/inconclusive: node coverage 1\/2 \(50%\) < 100%/);
    const stageWhenHeld = held.stage.index;
    // well past minDuration, still no advance
    await waitFor(
      async () => {
        const c = await contract(cp);
        return c.gates.some((g) => g.gate === 'minDuration' && g.phase === 'passed' && /time in stage [2-9]s/.test(g.message)) || null;
      },
      { timeoutMs: 10_000, what: 'minDuration to pass twice over' },
    );
    expect((await contract(cp)).stage.index).toBe(stageWhenHeld);

    a.stop();
    const b = agents(cp, ['node-a', 'node-b'], { lost: 500, flowsSeen: 1000 });
    const lossy = await waitFor(
      async () => {
        const c = await contract(cp);
        return c.decision.reasons.some((r) => /^inconclusive: lost events ratio/.test(r)) ? c : null;
      },
      { timeoutMs: 10_000, what: 'lost events to hold the stage' },
    );
    expect(lossy.stage.index).toBe(stageWhenHeld);
    b.stop();
  });

  it('rolls back automatically when actual denies in an enforced stage exceed spec.rollback', async () => {
    const env = makeEnv();
    writeContract(env, { minDuration: '1s', maxActualDeniesPerMinute: 10 });
    const cp = await start(env, ['--expected-nodes', 'node-a']);
    const a = agents(cp, ['node-a']);
    await waitFor(async () => (await contract(cp)).stage.index === 1, { timeoutMs: 15_000, what: 'canary' });
    a.setWindow({ actualDenies: 6 });
    const rolled = await waitFor(async () => ((await contract(cp)).phase === 'RolledBack' ? contract(cp) : null), { timeoutMs: 10_000, what: 'RolledBack' });
    expect(rolled.stage).toMatchObject({ index: 0, name: 'monitor' });
    expect(rolled.applied).toMatchObject({ stageIndex: 0, mode: 'monitor' });
    const history = (await getJson(cp, '/api/v1/contracts/shop-lockdown/history')).body['items'] as { decision: string; actor: string; reasons: string[]; from: string; to: string }[];
    expect(history.at(-1)).toMatchObject({ from: 'canary', to: 'monitor', decision: 'rollback', actor: 'auto' });
    expect(history.at(-1)?.reasons[0]).toMatch(/^actual denies \d+\/min > 10\/min in enforced stage canary/);
    // held there until an operator resumes
    a.setWindow({});
    await waitFor(() => a.clients.get('node-a')!.latest()?.contracts[0]?.stageName === 'monitor', { what: 'agents told to stop enforcing' });
  });

  it('survives SIGKILL mid-stage: history intact, the ramp resumes at its stage', async () => {
    const env = makeEnv();
    writeContract(env, { minDuration: '1s' });
    // No --expected-nodes: the expected nodes are those seen, remembered across the crash.
    const first = await start(env);
    const a = agents(first, ['node-a']);
    await waitFor(async () => (await contract(first)).stage.index === 2, { timeoutMs: 20_000, what: 'stage half' });
    a.stop();
    const before = (await getJson(first, '/api/v1/contracts/shop-lockdown/history')).body['items'] as { id: number }[];
    expect(await first.stop('SIGKILL')).toBeNull();

    const second = await start(env);
    const after = await contract(second);
    expect(after.stage.index).toBe(2);
    expect(after.revision).toBe(1);
    const history = (await getJson(second, '/api/v1/contracts/shop-lockdown/history')).body['items'] as { id: number }[];
    // nothing lost, nothing duplicated (a transition may have been added after the read above)
    expect(history.slice(0, before.length)).toEqual(before);
    expect(new Set(history.map((h) => h.id)).size).toBe(history.length);
    expect(after.applied).toMatchObject({ stageIndex: 2, percent: 50 });
    // the evidence for the stage is gathered again, not invented
    expect(after.evidence.flows).toBe(0);
    // nodes seen before the crash are still expected (and silent) until they report again
    expect(after.evidence.nodes).toMatchObject({ expected: 1, reporting: 0 });
    const b = agents(second, ['node-a']);
    await waitFor(async () => (await contract(second)).phase === 'Complete', { timeoutMs: 20_000, what: 'Complete after restart' });
    b.stop();
  });

  it('kill -9 at random moments under a stream of operator actions: every acknowledged transition survives exactly once', async () => {
    const env = makeEnv();
    writeContract(env, { minDuration: '1h' });
    const acknowledged: { id: number; phase: string; actor: string }[] = [];
    for (let round = 0; round < 3; round++) {
      const cp = await start(env);
      const base = '/api/v1/contracts/shop-lockdown';
      const phase = (await contract(cp)).phase;
      let next = phase === 'Paused' ? 'resume' : 'pause';
      const killAt = Date.now() + 150 + Math.floor(Math.random() * 400);
      // Actions back to back (bounded); the kill lands while requests are in flight.
      const actions = (async () => {
        for (let i = 0; i < 500 && Date.now() < killAt + 1000; i++) {
          let r: { status: number; body: Record<string, unknown> };
          try {
            r = await post(cp, `${base}/${next}`, auth, { actor: `round-${round}` });
          } catch {
            return; // the process is gone: that request was never acknowledged
          }
          if (r.status !== 200) return;
          const t = r.body['transition'] as { id: number; phase: string; actor: string };
          acknowledged.push({ id: t.id, phase: t.phase, actor: t.actor });
          next = next === 'pause' ? 'resume' : 'pause';
        }
      })();
      await waitFor(() => Date.now() >= killAt, { intervalMs: 5, what: 'the moment to kill' });
      await cp.stop('SIGKILL');
      await actions;
    }
    const cp = await start(env);
    const history = (await getJson(cp, '/api/v1/contracts/shop-lockdown/history')).body['items'] as { id: number; phase: string; actor: string }[];
    const ids = history.map((h) => h.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    expect(acknowledged.length).toBeGreaterThan(3);
    const byId = new Map(history.map((h) => [h.id, h]));
    for (const a of acknowledged) expect(byId.get(a.id)).toMatchObject(a);
    // and the state is the last entry's: the ramp resumes where the log ends
    expect((await contract(cp)).phase).toBe(history.at(-1)?.phase);
  });

  it('approve, pause, resume and rollback through the API need a valid token', async () => {
    const env = makeEnv();
    writeContract(env, { minDuration: '1s', advance: 'manual' });
    const cp = await start(env, ['--expected-nodes', 'node-a']);
    agents(cp, ['node-a']);
    await waitFor(async () => (await contract(cp)).phase === 'AwaitingApproval', { timeoutMs: 15_000, what: 'AwaitingApproval' });

    const base = '/api/v1/contracts/shop-lockdown';
    expect((await getJson(cp, base, {})).status).toBe(401);
    expect((await getJson(cp, base, { authorization: 'Bearer wrong' })).status).toBe(401);
    for (const action of ['approve', 'pause', 'resume', 'rollback']) {
      expect((await post(cp, `${base}/${action}`, {})).status).toBe(401);
      expect((await post(cp, `${base}/${action}`, { authorization: 'Bearer nope' })).status).toBe(401);
    }
    expect((await contract(cp)).stage.index).toBe(0);

    const approved = await post(cp, `${base}/approve`, { ...auth, 'x-rampart-actor': 'alice' });
    expect(approved.status).toBe(200);
    expect(approved.body['transition']).toMatchObject({ from: 'monitor', to: 'canary', decision: 'advance', actor: 'alice' });
    expect((await post(cp, `${base}/approve`)).status).toBe(409);

    const paused = await post(cp, `${base}/pause`, auth, { actor: 'bob', reason: 'change freeze' });
    expect(paused.body['transition']).toMatchObject({ phase: 'Paused', actor: 'bob', reasons: ['change freeze'] });
    expect((await contract(cp)).phase).toBe('Paused');
    expect((await post(cp, `${base}/resume`)).body['transition']).toMatchObject({ phase: 'Observing' });
    const rolled = await post(cp, `${base}/rollback`, auth, { actor: 'carol' });
    expect(rolled.body['transition']).toMatchObject({ from: 'canary', to: 'monitor', phase: 'RolledBack', decision: 'rollback', actor: 'carol' });
    expect((await contract(cp)).applied).toMatchObject({ stageIndex: 0, mode: 'monitor' });
    expect((await post(cp, `${base}/rollback`)).status).toBe(409);
    expect((await post(cp, '/api/v1/contracts/nope/pause')).status).toBe(404);
    const history = (await getJson(cp, `${base}/history`)).body['items'] as { actor: string }[];
    expect(history.map((h) => h.actor).slice(-4)).toEqual(['alice', 'bob', 'api', 'carol']);
  });

  it('rejects malformed reports with a status code and counts them; duplicates are acked once; no token, no stream', async () => {
    const env = makeEnv();
    writeContract(env, {});
    const cp = await start(env);
    const c = new CollectorClient({ port: cp.grpcPort, node: 'node-a', token: TOKEN });
    cleanups.push(() => {
      c.close();
    });
    await waitFor(() => c.latest(), { what: 'the contract set' });
    c.sendRaw({ node: 'node-a', boot_id: c.bootId, seq: 7, window_start_ms: 2000, window_end_ms: 1000, merged_windows: 1 });
    c.sendRaw({ node: 'node-zzz', boot_id: c.bootId, seq: 8, window_start_ms: 1000, window_end_ms: 2000, merged_windows: 1 });
    const seq = c.sendWindow();
    c.send({
      node: 'node-a', bootId: c.bootId, seq, windowStartMs: 1, windowEndMs: 2, mergedWindows: 1,
      hubble: { flowsSeen: 0, connections: 0, lost: {}, reconnects: 0, connected: true }, contracts: [], contractsGeneration: 0,
    });
    const stale = c.nextSeq();
    c.send({
      node: 'node-a', bootId: c.bootId, seq: stale, windowStartMs: 1, windowEndMs: Date.now(), mergedWindows: 1,
      hubble: { flowsSeen: 10, connections: 1, lost: {}, reconnects: 0, connected: true },
      contracts: [{
        contract: 'shop-lockdown', revision: 99, stageIndex: 0, stageName: 'monitor', egress: { allow: 5, deny: 5, indeterminate: 0 },
        ingress: { allow: 0, deny: 0, indeterminate: 0 }, actualDenies: 0, wouldDenyEdges: [], wouldDenyEdgesOverflow: 0, actualDenyEdges: [], actualDenyEdgesOverflow: 0,
      }],
      contractsGeneration: 0,
    });
    await waitFor(() => c.rejects.length === 2 && c.acks.length === 3, { what: 'two rejects and three acks' });
    expect(c.acks.at(-1)).toBe(stale);
    expect(c.rejects[0]).toMatchObject({ seq: 7, reason: expect.stringMatching(/^INVALID_ARGUMENT: window_end_ms: must not be before window_start_ms/) });
    expect(c.rejects[1]).toMatchObject({ seq: 8, reason: expect.stringMatching(/^INVALID_ARGUMENT: node: this stream is node node-a/) });
    expect(c.acks.slice(0, 2)).toEqual([seq, seq]);
    const metrics = await (await fetch(`${cp.base}/metrics`)).text();
    expect(metrics).toMatch(/^rampart_controlplane_ingest_errors_total\{reason="malformed-report"\} 1$/m);
    expect(metrics).toMatch(/^rampart_controlplane_ingest_errors_total\{reason="wrong-node"\} 1$/m);
    expect(metrics).toMatch(/^rampart_controlplane_reports_total\{result="duplicate"\} 1$/m);
    expect(metrics).toMatch(/^rampart_controlplane_reports_total\{result="accepted"\} 2$/m);
    // a stale revision is acknowledged, counted, and never used as evidence
    expect(metrics).toMatch(/^rampart_controlplane_contract_windows_total\{result="stale-revision"\} 1$/m);
    expect((await contract(cp)).evidence.deny).toBe(0);

    const stranger = new CollectorClient({ port: cp.grpcPort, node: 'node-x', token: 'wrong' });
    cleanups.push(() => {
      stranger.close();
    });
    await waitFor(() => stranger.status, { what: 'the stream to be refused' });
    expect(stranger.status?.code).toBe(16); // UNAUTHENTICATED
    expect(stranger.sets).toHaveLength(0);
  });

  it('shows every problem of an invalid contract and keeps running', async () => {
    const env = makeEnv();
    fs.writeFileSync(path.join(env.contracts, 'broken.yaml'), 'apiVersion: rampart.dev/v1alpha1\nkind: RampContract\nmetadata:\n  name: broken\nspec:\n  gates:\n    minFlows: -1\n');
    fs.writeFileSync(path.join(env.contracts, 'garbage.yaml'), 'spec: [unclosed\n');
    writeContract(env, {});
    const cp = await start(env, ['--open-reads']);
    const list = (await getJson(cp, '/api/v1/contracts', {})).body['items'] as ContractJson[];
    expect(list.map((c) => c.name)).toEqual(['broken', 'garbage', 'shop-lockdown']);
    const broken = list[0]!;
    expect(broken.problems.map((p) => p.path)).toEqual(expect.arrayContaining(['spec.policies', 'spec.rollout', 'spec.gates.minFlows']));
    expect(broken.problems.find((p) => p.path === 'spec.gates.minFlows')?.message).toMatch(/broken\.yaml:7/);
    expect(list[1]!.problems[0]?.path).toMatch(/^garbage\.yaml:\d+$/);
    expect(list[2]!.problems).toEqual([]);
    expect((await fetch(`${cp.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${cp.base}/readyz`)).status).toBe(200);
    const index = await fetch(`${cp.base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect((await fetch(`${cp.base}/no-such-file.js`)).status).toBe(404);
    // open reads, but mutations still need the token
    expect((await post(cp, '/api/v1/contracts/shop-lockdown/pause', {})).status).toBe(401);
  });
});
