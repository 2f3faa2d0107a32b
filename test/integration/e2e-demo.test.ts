/**
 * The bundled scenario end to end, headless and compressed (`rampart demo --fast`): real
 * child processes (control plane, three agents) and the simulated cluster's Hubble servers
 * on loopback. Checks the story's outcomes through the public API and /metrics, then that
 * Ctrl-C (SIGINT) stops everything and leaves no process behind.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../support/prom-text.js';
import { waitFor } from '../support/wait-for.js';
import { isAlive, startDemo, type DemoProcess } from './e2e-demo-process.js';

const bin = fileURLToPath(new URL('../../bin/rampart.js', import.meta.url));

describe('rampart demo --fast --headless', () => {
  let demo: DemoProcess;

  beforeAll(async () => {
    demo = await startDemo();
  });

  afterAll(async () => {
    await demo?.kill();
  });

  it('starts a control plane and one agent per simulated node', () => {
    expect(demo.pids).toHaveLength(4);
    for (const pid of demo.pids) expect(isAlive(pid)).toBe(true);
  });

  it('judges the contracts on a week of history from their first second, apart from the live evidence', async () => {
    const c = await demo.get<{ historyEvidence: { edges: number; connections: number; wouldDeny: number; from: string; to: string } | null }>('/api/v1/contracts/payments-lockdown');
    expect(c.historyEvidence).not.toBeNull();
    expect(c.historyEvidence!.edges).toBeGreaterThan(20);
    expect(Date.parse(c.historyEvidence!.to) - Date.parse(c.historyEvidence!.from)).toBeGreaterThan(6 * 86_400_000);
    // The week holds no run of the invoicing job (it is new), so history alone finds nothing wrong.
    expect(c.historyEvidence!.wouldDeny).toBe(0);
  });

  it('holds the contract that misses a rule in monitor until its CronJob runs, then Blocks it naming the missing edge', { timeout: 200_000 }, async () => {
    type Body = { phase: string; stage: { index: number }; decision: { kind: string; reasons: string[] }; waitingFor: string[] };
    const waiting = await waitFor(
      async () => {
        const body = await demo.get<Body>('/api/v1/contracts/payments-lockdown');
        return body.phase === 'Observing' && body.waitingFor.length > 0 ? body : body.phase === 'Blocked' ? body : null;
      },
      { timeoutMs: 60_000, intervalMs: 250, what: 'payments-lockdown waiting for its CronJob' },
    );
    // The wait is seen before the run (the first run comes 40-100 s after the start, the monitor stage lasts 20 s).
    expect(waiting.phase).toBe('Observing');
    expect(waiting.decision.reasons.find((r) => r.includes('waiting for CronJob'))).toMatch(/^inconclusive: waiting for CronJob payments\/invoice-job \(next run \d{4}-\d\d-\d\dT\d\d:\d\d:00Z\)$/);
    const c = await waitFor(
      async () => {
        const body = await demo.get<Body>('/api/v1/contracts/payments-lockdown');
        return body.phase === 'Blocked' ? body : null;
      },
      { timeoutMs: 130_000, intervalMs: 500, what: 'payments-lockdown to be Blocked' },
    );
    expect(c.stage.index).toBe(0);
    expect(c.decision.kind).toBe('hold');
    expect(c.decision.reasons.join('\n')).toContain('payments/invoice-job → payments/ledger:5432');
    const edges = await demo.get<{ items: { from: string; to: string; port: number; protocol: string; count: number }[] }>('/api/v1/contracts/payments-lockdown/edges');
    expect(edges.items[0]).toMatchObject({ from: 'payments/invoice-job', to: 'payments/ledger', port: 5432, protocol: 'TCP' });
    // That is the only thing wrong with it.
    expect(new Set(edges.items.map((e) => `${e.from}>${e.to}:${e.port}`))).toEqual(new Set(['payments/invoice-job>payments/ledger:5432']));
  });

  it('ramps the right contract monitor → 10% → 50% → 100% to Complete', async () => {
    const history = await waitFor(
      async () => {
        const h = await demo.get<{ items: { from: string | null; to: string; phase: string; decision: string }[] }>('/api/v1/contracts/shop-lockdown/history');
        return h.items.some((e) => e.phase === 'Complete') ? h.items : null;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'shop-lockdown to complete' },
    );
    const advances = history.filter((e) => e.decision === 'advance').map((e) => `${e.from}→${e.to}`);
    expect(advances.slice(0, 3)).toEqual(['monitor→canary', 'canary→half', 'half→full']);
  });

  it('ramps the brownfield contract to Complete: it is right only because the baseline is counted', async () => {
    const done = await waitFor(
      async () => {
        const c = await demo.get<{ phase: string; evidence: { flows: number; deny: number; alreadyDenied: number; newlyAllowed: number; baselineRevision: string | null } }>('/api/v1/contracts/data-lockdown');
        return c.phase === 'Complete' ? c : null;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'data-lockdown to complete' },
    );
    // Judged against the pre-existing allows: nothing newly denied, nothing newly allowed.
    expect(done.evidence.baselineRevision).toMatch(/^[0-9a-f]{16}$/);
    expect(done.evidence.deny).toBe(0);
    expect(done.evidence.newlyAllowed).toBe(0);
    const history = await demo.get<{ items: { from: string | null; to: string; decision: string }[] }>('/api/v1/contracts/data-lockdown/history');
    expect(history.items.filter((e) => e.decision === 'advance').map((e) => `${e.from}→${e.to}`).slice(0, 2)).toEqual(['monitor→half', 'half→full']);
  });

  it('narrows an over-broad allow in force: the forgotten producer is newly denied in monitor, the fix is a revision that ramps to Complete', async () => {
    // Revision 1 was Blocked on the producer the narrowed text forgets.
    const history = await waitFor(
      async () => {
        const h = await demo.get<{ items: { to: string; phase: string; decision: string; reasons: string[] }[] }>('/api/v1/contracts/kafka-narrow/history');
        return h.items.some((e) => e.phase === 'Complete') ? h.items : null;
      },
      { timeoutMs: 120_000, intervalMs: 500, what: 'kafka-narrow to complete' },
    );
    const blocked = history.find((e) => e.phase === 'Blocked');
    expect(blocked?.reasons.join('\n')).toContain('payments/notifier → data/kafka:9092/TCP');
    expect(history.some((e) => e.reasons.some((r) => r.includes('revision 2 restarts at monitor')))).toBe(true);
    const c = await demo.get<{ revision: number; phase: string; replaces: string[]; evidence: { deny: number; flows: number } }>('/api/v1/contracts/kafka-narrow');
    expect({ revision: c.revision, phase: c.phase, replaces: c.replaces, deny: c.evidence.deny }).toEqual({ revision: 2, phase: 'Complete', replaces: ['data/kafka-producers'], deny: 0 });
    expect(demo.output.some((l) => l.includes('added the fix') && l.includes('kafka-narrow'))).toBe(true);
  });

    it('shows the new caller’s real denies in the control plane metrics', async () => {
    await waitFor(() => demo.output.some((l) => l.includes('new caller')), { timeoutMs: 60_000, what: 'the new caller to appear' });
    const denies = await waitFor(
      async () => {
        const v = parsePrometheusText(await demo.metricsText()).value('rampart_controlplane_actual_denies_total', { contract: 'shop-lockdown' });
        return v !== undefined && v > 0 ? v : null;
      },
      { timeoutMs: 60_000, intervalMs: 500, what: 'actual denies in /metrics' },
    );
    expect(denies).toBeGreaterThan(0);
    // Nothing of payments-lockdown is enforced, so it has no real denies.
    expect(parsePrometheusText(await demo.metricsText()).value('rampart_controlplane_actual_denies_total', { contract: 'payments-lockdown' })).toBe(0); // exported, and 0
    const edges = await demo.get<{ items: { from: string; to: string; kind?: string }[] }>('/api/v1/contracts/shop-lockdown/edges');
    expect(edges.items.some((e) => e.from === 'shop/price-scraper' && e.to === 'shop/catalog')).toBe(true);
  });

  it('prints the API view as tables: status, history, watch', () => {
    const env = { ...process.env, RAMPART_SERVER: demo.api, RAMPART_TOKEN_FILE: '' };
    const rampart = (...args: string[]): { code: number | null; out: string; err: string } => {
      const r = spawnSync(process.execPath, [bin, ...args], { env, encoding: 'utf8', timeout: 20_000 });
      return { code: r.status, out: r.stdout, err: r.stderr };
    };
    const status = rampart('status', '--token-file', demo.tokenFile);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/^CONTRACT\s+REV\s+STAGE\s+PHASE/m);
    expect(status.out).toMatch(/^payments-lockdown\s+1\s+monitor \(1\/2\)\s+Blocked/m);
    expect(status.out).toMatch(/^kafka-narrow:\n\s+- replaces data\/kafka-producers \(judged before = the policies in force, after = with the change\)$/m);
    const history = rampart('history', 'shop-lockdown', '--token-file', demo.tokenFile);
    expect(history.code).toBe(0);
    expect(history.out).toMatch(/monitor → canary\s+Observing\s+advance/);
    expect(rampart('history', 'no-such-contract', '--token-file', demo.tokenFile).code).toBe(1);
    const unauthorised = rampart('status');
    expect(unauthorised.code).toBe(1);
    expect(unauthorised.err).toContain('token');
    const watch = rampart('watch', '--token-file', demo.tokenFile, '--count', '2', '--contract', 'shop-lockdown');
    expect(watch.code).toBe(0);
    expect(watch.out).toMatch(/rates shop-lockdown \S+ \S+ evals\/s=\d/);
    expect(watch.out).not.toContain('payments-lockdown');
  });

  it('stops everything on SIGINT, leaving no process behind', async () => {
    demo.child.kill('SIGINT');
    const code = await demo.exited;
    expect(code).toBe(0);
    for (const pid of demo.pids) expect(isAlive(pid)).toBe(false);
    expect(demo.output.some((l) => l.includes('stopped.'))).toBe(true);
  });
});
