/**
 * The dashboard in a real headless Chromium (Debian's, driven by playwright-core) against the
 * demo: the page loads once a token is entered, the charts update from the WebSocket stream,
 * and pause / resume / rollback go through the API (and are refused with a wrong token).
 * Saves screenshots to test-results/ (git-ignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { startDemo, type DemoProcess } from './e2e-demo-process.js';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

interface ContractJson {
  name: string;
  phase: string;
  stage: { index: number; name: string };
}

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('dashboard in headless Chromium', () => {
  let demo: DemoProcess;
  let browser: Browser;
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
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    mkdirSync(RESULTS, { recursive: true });
    demo = await startDemo();
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

  it('asks for a token, then loads every contract', async () => {
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

  it('updates the charts from the WebSocket stream', async () => {
    const canvas = `${card('shop-lockdown')} canvas.chart`;
    const before = await canvasImage(canvas);
    const points = async (): Promise<number> => Number(await page.getAttribute(card('shop-lockdown'), 'data-stream-points'));
    await waitFor(async () => (await points()) >= 5, { timeoutMs: 30_000, what: 'five rate updates from the stream' });
    expect(streamTypes).toContain('rates');
    const after = await canvasImage(canvas);
    expect(after).not.toBe(before);
    expect(await page.textContent(`${card('shop-lockdown')} .rates`)).toMatch(/evals\/s/);
  });

  it('shows the held contract with its missing edge, and the ramp to the end', { timeout: 240_000 }, async () => {
    // The invoicing CronJob's first run comes 40-100 s after the demo's start.
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

  it('refuses an action with a wrong token, and says so', async () => {
    await setToken('not-the-token');
    await page.click(`${card('shop-lockdown')} button[data-action="pause"]`);
    await page.waitForSelector('#banner.error:not([hidden])');
    expect(await page.textContent('#banner')).toMatch(/refused|token/);
    expect((await contract('shop-lockdown')).phase).not.toBe('Paused');
    await setToken(demo.token);
  });

  it('pauses, resumes and rolls back through the buttons', async () => {
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
});
