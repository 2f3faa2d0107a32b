/**
 * Faults of the control plane, on real processes: `rampart replay` (Hubble) → two
 * `rampart agent`s → `rampart controlplane`.
 *
 * - kill -9 mid-stage, then a restart on the same state folder and port: the history is
 *   intact (every entry once, nothing torn), the ramp resumes in its stage, the agents'
 *   outboxes are resent, and the restarted control plane counts each window once (the
 *   windows it accepts are exactly the ones the agents see acknowledged by it).
 * - disk full on the state folder (a 1 MiB tmpfs mounted for the test and filled): the
 *   control plane cannot record the ramp's first step, so it starts nothing, says why
 *   (ENOSPC, the history file) in its log and in the API's decision and problems, pass
 *   after pass, and leaves no torn line; with space back it records and advances.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgentProcess, startReplay, TCP_CAPTURE, type AgentProcess } from '../support/agent-harness.js';
import { startControlplaneProcess } from '../support/controlplane-process.js';
import { BOOKINFO, bookinfoContract } from '../support/bookinfo.js';
import { contractView, controlplaneMetrics, history, synthesizeCapture } from '../support/faults.js';
import { waitFor } from '../support/wait-for.js';

const TOKEN = 'faults-token';
const cleanups: (() => Promise<unknown> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

interface Setup {
  dir: string;
  contracts: string;
  state: string;
  token: string;
  hubble: string;
}

async function setup(o: { durations: readonly [string, string, string, string]; state?: string }): Promise<Setup> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-faults-cp-'));
  cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const contracts = path.join(dir, 'contracts');
  fs.mkdirSync(contracts);
  fs.writeFileSync(path.join(contracts, 'bookinfo.yaml'), bookinfoContract({ durations: o.durations, gates: {} }));
  const token = path.join(dir, 'token');
  fs.writeFileSync(token, TOKEN);
  const capture = path.join(dir, 'capture.jsonl');
  synthesizeCapture(TCP_CAPTURE, capture, 600);
  const replay = await startReplay(capture, ['--loop', '--rate', '300']);
  cleanups.push(() => replay.stop('SIGKILL'));
  return { dir, contracts, state: o.state ?? path.join(dir, 'state'), token, hubble: replay.address };
}

function controlplaneArgs(s: Setup, extra: readonly string[] = []): string[] {
  return ['--contracts', s.contracts, '--state', s.state, '--token-file', s.token, '--reconcile-interval', '200ms', '--expected-nodes', 'node-a,node-b', ...extra];
}

async function agents(s: Setup, grpcPort: number): Promise<AgentProcess[]> {
  const out: AgentProcess[] = [];
  for (const node of ['node-a', 'node-b']) {
    const a = await startAgentProcess({ hubble: s.hubble, controlplane: `127.0.0.1:${grpcPort}`, node, window: '500ms', extra: ['--token-file', s.token, '--controlplane-max-backoff', '1s'] });
    cleanups.push(() => a.stop('SIGKILL'));
    out.push(a);
  }
  return out;
}

const metric = async (a: AgentProcess, name: string): Promise<number> => (await a.metrics()).value(name) ?? 0;

describe('control plane faults', () => {
  it('kill -9 mid-stage and restart: history intact, ramp resumes, outboxes resent, each window counted once', { timeout: 120_000 }, async () => {
    const s = await setup({ durations: ['1s', '1s', '1h', '1h'] });
    const cp1 = await startControlplaneProcess(controlplaneArgs(s));
    cleanups.push(() => cp1.stop('SIGKILL'));
    const [a, b] = await agents(s, cp1.grpcPort);
    await waitFor(async () => (await contractView(cp1, BOOKINFO, TOKEN)).stage.index === 2, { timeoutMs: 40_000, what: 'the half stage' });
    await waitFor(async () => (await contractView(cp1, BOOKINFO, TOKEN)).evidence.windows >= 4, { timeoutMs: 10_000, what: 'evidence in the half stage' });
    const before = await history(cp1, BOOKINFO, TOKEN);
    expect(before.map((h) => `${h.to}/${h.phase}`)).toEqual(['monitor/Observing', 'canary/Observing', 'half/Observing']);

    expect(await cp1.stop('SIGKILL')).toBe(null);
    // cp1 is gone: what each agent saw acknowledged so far is final for cp1.
    const ackedByCp1 = await Promise.all([a!, b!].map(async (x) => {
      await waitFor(async () => (await metric(x, 'rampart_agent_controlplane_connected')) === 0, { what: 'the agent to see the control plane gone' });
      return metric(x, 'rampart_agent_reports_acked_total');
    }));
    // Windows pile up in the outboxes while it is down.
    await waitFor(async () => (await Promise.all([a!, b!].map((x) => metric(x, 'rampart_agent_outbox_windows')))).every((n) => n >= 4), { timeoutMs: 15_000, what: 'windows held in both outboxes' });

    const cp2 = await startControlplaneProcess(controlplaneArgs(s, ['--grpc-listen', `127.0.0.1:${cp1.grpcPort}`]));
    cleanups.push(() => cp2.stop('SIGKILL'));
    // The history file replays whole: nothing torn, nothing repeated, nothing missing.
    expect(cp2.logs.find((l) => l['msg'] === 'history loaded')).toMatchObject({ entries: before.length, truncatedBytes: 0, badLines: [] });
    const after = await contractView(cp2, BOOKINFO, TOKEN);
    expect(after.stage.index).toBe(2);
    expect(after.phase).toBe('Observing');
    expect((await history(cp2, BOOKINFO, TOKEN)).slice(0, before.length)).toEqual(before);

    // The outboxes are resent and drain.
    for (const x of [a!, b!]) {
      await waitFor(async () => (await metric(x, 'rampart_agent_controlplane_connected')) === 1 && (await metric(x, 'rampart_agent_outbox_windows')) === 0, { timeoutMs: 20_000, what: 'the outbox drained to the restarted control plane' });
    }
    await waitFor(async () => (await contractView(cp2, BOOKINFO, TOKEN)).evidence.nodes.reporting === 2, { what: 'both nodes reporting again' });
    for (const x of [a!, b!]) expect(await x.stop('SIGTERM')).toBe(0);
    const stopped = [a!, b!].map((x) => x.logs.find((l) => l['msg'] === 'stopped')!);
    for (const st of stopped) expect(st).toMatchObject({ unacknowledgedWindows: 0, outboxMerges: 0 });

    // Exactly once at cp2: the reports it accepted are the ones the agents saw it acknowledge.
    const ackedByCp2 = stopped.reduce((n, st, i) => n + Number(st['windows']) - ackedByCp1[i]!, 0);
    const m = await controlplaneMetrics(cp2, TOKEN);
    const accepted = m.value('rampart_controlplane_reports_total', { result: 'accepted' }) ?? 0;
    expect(accepted, 'reports accepted by cp2 = reports the agents saw cp2 acknowledge').toBe(ackedByCp2);
    expect(accepted).toBeGreaterThanOrEqual(8);
    // Every accepted window is in the half stage's evidence once.
    expect(m.value('rampart_controlplane_contract_windows_total', { result: 'current' })).toBe(accepted);
    // (The API shows the last reconcile pass's view: let it catch up with the final reports.)
    await waitFor(async () => (await contractView(cp2, BOOKINFO, TOKEN)).evidence.windows === accepted, { timeoutMs: 5000, what: `the half stage's evidence to hold the ${accepted} accepted windows` });
    expect((await history(cp2, BOOKINFO, TOKEN)).length).toBe(before.length);
  });

  it('disk full on the state folder: no advance, the reason logged, no torn history; advances when space is back', { timeout: 120_000 }, async (ctx) => {
    const mountpoint = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-faults-tmpfs-'));
    cleanups.push(() => fs.rmSync(mountpoint, { recursive: true, force: true }));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountpoint], { stdio: 'pipe' });
    } catch (e) {
      // Needs root (CAP_SYS_ADMIN); the machines that run the suite have it. Under CI this is a
      // failure, as the Chromium tests are: a skipped fault test would pass quietly there.
      const why = `cannot mount a tmpfs here: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`;
      if (process.env.CI) throw new Error(`${why} (CI needs CAP_SYS_ADMIN for the disk-full fault test)`, { cause: e });
      ctx.skip(why);
      return;
    }
    cleanups.push(() => {
      execFileSync('umount', ['-l', mountpoint]);
    });
    const s = await setup({ durations: ['1s', '1s', '1h', '1h'], state: path.join(mountpoint, 'state') });
    // Full before the first entry. (Full later would not do: tmpfs hands out whole pages,
    // and the history file's last page keeps taking appends until its own slack is gone.)
    const filler = path.join(mountpoint, 'filler');
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=4k'], { stdio: 'pipe' });
    } catch {
      // dd stops with "No space left on device": that is the point.
    }
    const cp = await startControlplaneProcess(controlplaneArgs(s));
    cleanups.push(() => cp.stop('SIGKILL'));
    await agents(s, cp.grpcPort);

    const failure = await waitFor(() => cp.logs.find((l) => l['msg'] === 'reconcile failed'), { timeoutMs: 20_000, what: 'the failed commit to be logged' });
    const err = failure['err'] as { message: string };
    expect(err.message).toMatch(/^history not written to .*history\.jsonl \(ENOSPC\): .*no space left on device.*; nothing was applied$/);
    // Pass after pass it cannot record the ramp's start, so nothing starts: no stage, no history.
    await waitFor(async () => ((await controlplaneMetrics(cp, TOKEN)).value('rampart_controlplane_reconcile_errors_total') ?? 0) >= 5, { what: 'repeated refusals' });
    const res = await fetch(`${cp.base}/api/v1/contracts/${BOOKINFO}/history`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { items: unknown[] }).items).toEqual([]);
    // The API says why, in the decision and as a problem (status and the dashboard show both).
    const view = await contractView(cp, BOOKINFO, TOKEN);
    expect(view.stage.index).toBe(0);
    expect(view.decision.kind).toBe('hold');
    expect(view.decision.reasons[0]).toMatch(/^reconcile failed: history not written to .*history\.jsonl \(ENOSPC\): .*; holding at the current stage, retrying on the next pass$/);
    expect(view.problems).toContainEqual({ path: 'reconcile', message: expect.stringMatching(/^failed: history not written .*\(ENOSPC\)/) as string });
    expect((await controlplaneMetrics(cp, TOKEN)).value('rampart_controlplane_transitions_total', { contract: BOOKINFO, decision: 'advance' })).toBe(0); // exported, and 0
    // Nothing half-written: a short write is cut back.
    expect(fs.readFileSync(path.join(s.state, 'history.jsonl'), 'utf8')).toBe('');

    fs.rmSync(filler);
    await waitFor(async () => (await contractView(cp, BOOKINFO, TOKEN)).stage.index >= 1, { timeoutMs: 20_000, what: 'the advance once space is back' });
    const items = await history(cp, BOOKINFO, TOKEN);
    expect(items.map((h) => h.to).slice(0, 2)).toEqual(['monitor', 'canary']);
    const lines = fs.readFileSync(path.join(s.state, 'history.jsonl'), 'utf8').trim().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as { id: number }).id)).toEqual(lines.map((_, i) => i + 1));
  });
});
