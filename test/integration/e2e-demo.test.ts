/**
 * The bundled scenario end to end, headless and compressed (`rampart demo --fast`): real
 * child processes (control plane, three agents) and the simulated cluster's Hubble servers
 * on loopback. Checks the story's outcomes through the public API, /metrics, the CLI's tables
 * and the dashboard in a real headless Chromium (Debian's, driven by playwright-core): the
 * page loads once a token is entered, the charts update from the WebSocket stream, and pause /
 * resume / rollback go through the API (and are refused with a wrong token). Last, Ctrl-C
 * (SIGINT) stops everything and leaves no process behind. Saves screenshots to test-results/
 * (git-ignored).
 *
 * One demo for all of it, in the story's order: each demo start waits for the invoicing
 * CronJob's first run, which comes on a whole minute (--first-run-after plus up to a minute),
 * so a second start would wait for it again.
 * The page is opened (and its charts checked) first: its event list shows only live events,
 * so it must be open before the first real deny, and payments-lockdown's wait must still be
 * on when the test that looks for it runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePrometheusText } from '../support/prom-text.js';
import { waitFor } from '../support/wait-for.js';
import { isAlive, startDemo, type DemoProcess } from './e2e-demo-process.js';

const bin = fileURLToPath(new URL('../../bin/rampart.js', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));
/** The dashboard's tests need Chromium; CI installs it (.ci/run), elsewhere they are skipped without it. */
const withBrowser = existsSync(CHROMIUM) || Boolean(process.env.CI);
const browserIt = it.runIf(withBrowser);

interface ContractJson {
  name: string;
  phase: string;
  stage: { index: number; name: string };
}

describe('rampart demo --fast --headless', () => {
  let demo: DemoProcess;
  let browser: Browser | undefined;
  let page: Page;
  const pageErrors: string[] = [];
  const streamTypes: string[] = [];

  const card = (name: string): string => `article.contract[data-contract="${name}"]`;
  const contract = (name: string): Promise<ContractJson> => demo.get<ContractJson>(`/api/v1/contracts/${name}`);
  /** Waits until the element's text satisfies `test` (polled from here: no DOM types needed). */
  const textMatches = (selector: string, test: (text: string) => boolean, what: string, timeoutMs = 15_000): Promise<string> =>
    waitFor(async () => {
      const t = (await page.textContent(selector)) ?? '';
      return test(t) ? t : null;
    }, { timeoutMs, intervalMs: 200, what });
  const canvasImage = (selector: string): Promise<string> => page.evaluate(`document.querySelector(${JSON.stringify(selector)}).toDataURL()`);
  const setToken = async (token: string): Promise<void> => {
    await page.fill('#token', token);
    await page.click('#token-form button[type="submit"]');
  };

  beforeAll(async () => {
    // The scheduled job's first run 20-80 s in (not the default 40-100 s): 20 s less to wait,
    // and still long enough for the test that looks for payments-lockdown's wait to see it
    // after the page's first two tests.
    demo = await startDemo(['--first-run-after', '20s']);
    if (!withBrowser) return;
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    mkdirSync(RESULTS, { recursive: true });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1600, height: 1250 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('websocket', (ws) => {
      ws.on('framereceived', (f) => {
        try {
          streamTypes.push(String((JSON.parse(String(f.payload)) as { type?: unknown }).type));
        } catch {
          streamTypes.push('unparsable');
        }
      });
    });
  });

  afterAll(async () => {
    await browser?.close();
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

  browserIt('asks for a token, then loads every contract', async () => {
    await page.goto(`${demo.api}/`);
    await page.waitForSelector('#banner:not([hidden])');
    expect(await page.textContent('#banner')).toContain('token');
    await setToken(demo.token);
    await page.waitForSelector(card('payments-lockdown'));
    await page.waitForSelector(card('shop-lockdown'));
    expect(await page.title()).toBe('Rampart');
    await textMatches(`${card('shop-lockdown')} .name`, (t) => t === 'shop-lockdown', 'the contract name rendered');
    expect(await page.locator(`${card('shop-lockdown')} .stages li`).count()).toBe(4);
    expect(pageErrors).toEqual([]);
  });

  browserIt('updates the charts from the WebSocket stream', async () => {
    const canvas = `${card('shop-lockdown')} canvas.chart`;
    const before = await canvasImage(canvas);
    const points = async (): Promise<number> => Number(await page.getAttribute(card('shop-lockdown'), 'data-stream-points'));
    await waitFor(async () => (await points()) >= 5, { timeoutMs: 30_000, what: 'five rate updates from the stream' });
    expect(streamTypes).toContain('rates');
    const after = await canvasImage(canvas);
    expect(after).not.toBe(before);
    expect(await page.textContent(`${card('shop-lockdown')} .rates`)).toMatch(/evals\/s/);
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
    // The wait is seen before the run (the first run comes 20-80 s after the start: --first-run-after 20s).
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

  browserIt('shows the held contract with its missing edge, and the ramp to the end', { timeout: 240_000 }, async () => {
    // The invoicing CronJob's first run comes 20-80 s after the demo's start (--first-run-after 20s).
    await waitFor(async () => (await contract('payments-lockdown')).phase === 'Blocked', { timeoutMs: 130_000, intervalMs: 500, what: 'payments-lockdown Blocked' });
    await textMatches(`${card('payments-lockdown')} .edges tbody`, (t) => t.includes('payments/invoice-job'), 'the missing edge on the page');
    expect(await page.getAttribute(card('payments-lockdown'), 'data-phase')).toBe('Blocked');
    // Wait for the whole story: shop-lockdown completes, the new caller appears, real denies roll it back.
    await waitFor(() => demo.output.some((l) => l.includes('new caller')), { timeoutMs: 120_000, intervalMs: 500, what: 'the new caller' });
    await waitFor(async () => (await contract('shop-lockdown')).phase === 'RolledBack', { timeoutMs: 60_000, intervalMs: 500, what: 'shop-lockdown rolled back' });
    await textMatches(`${card('shop-lockdown')} .phase`, (t) => t === 'RolledBack', 'RolledBack on the page');
    await textMatches('#events', (t) => t.includes('DENIED'), 'a real deny in the live events', 30_000);
    const timeline = await page.textContent(`${card('shop-lockdown')} .history`);
    expect(timeline).toContain('monitor → canary');
    expect(timeline).toContain('Complete');
    expect(timeline).toContain('rollback');
    await page.screenshot({ path: `${RESULTS}dashboard.png` });
    await page.screenshot({ path: `${RESULTS}dashboard-full.png`, fullPage: true });
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

  browserIt('refuses an action with a wrong token, and says so', async () => {
    await setToken('not-the-token');
    await page.click(`${card('shop-lockdown')} button[data-action="pause"]`);
    await page.waitForSelector('#banner.error:not([hidden])');
    expect(await page.textContent('#banner')).toMatch(/refused|token/);
    expect((await contract('shop-lockdown')).phase).not.toBe('Paused');
    await setToken(demo.token);
  });

  browserIt('pauses, resumes and rolls back through the buttons', async () => {
    const shop = card('shop-lockdown');
    await page.click(`${shop} button[data-action="pause"]`);
    await waitFor(async () => (await contract('shop-lockdown')).phase === 'Paused', { timeoutMs: 10_000, what: 'Paused' });
    await textMatches(`${shop} .phase`, (t) => t === 'Paused', 'Paused on the page');
    expect(await page.isEnabled(`${shop} button[data-action="resume"]`)).toBe(true);
    await page.click(`${shop} button[data-action="resume"]`);
    await waitFor(async () => (await contract('shop-lockdown')).phase !== 'Paused', { timeoutMs: 10_000, what: 'resumed' });

    // The real denies rolled shop-lockdown back to monitor (spec.rollback.to defaults to monitor).
    expect((await contract('shop-lockdown')).stage.index).toBe(0);
    expect(await page.isEnabled(`${shop} button[data-action="rollback"]`)).toBe(false);

    // data-lockdown is Complete at its last stage: the button rolls it back to monitor.
    const data = card('data-lockdown');
    const stageBefore = (await contract('data-lockdown')).stage.index;
    expect(stageBefore).toBeGreaterThan(0);
    const rollback = `${data} button[data-action="rollback"]`;
    await page.click(rollback); // arms the button
    expect(await page.textContent(rollback)).toBe('Confirm rollback');
    await page.click(rollback);
    await waitFor(async () => (await contract('data-lockdown')).stage.index === 0, { timeoutMs: 10_000, what: 'rolled back to monitor' });
    expect((await contract('data-lockdown')).phase).toBe('RolledBack');
    const history = await demo.get<{ items: { decision: string; actor: string }[] }>('/api/v1/contracts/shop-lockdown/history');
    const actors = history.items.filter((h) => h.actor !== 'auto').map((h) => h.decision);
    expect(actors.length).toBeGreaterThanOrEqual(2); // pause, resume
    const dataHistory = await demo.get<{ items: { decision: string; actor: string }[] }>('/api/v1/contracts/data-lockdown/history');
    expect(dataHistory.items.some((h) => h.actor !== 'auto' && h.decision === 'rollback')).toBe(true);
    expect(pageErrors).toEqual([]);
  });

  it('stops everything on SIGINT, leaving no process behind', async () => {
    demo.child.kill('SIGINT');
    const code = await demo.exited;
    expect(code).toBe(0);
    for (const pid of demo.pids) expect(isAlive(pid)).toBe(false);
    expect(demo.output.some((l) => l.includes('stopped.'))).toBe(true);
  });
});
