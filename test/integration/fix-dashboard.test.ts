/**
 * The smallest fix end to end, against the real demo (control plane, agents, simulated
 * cluster): payments-lockdown is Blocked on invoice-job → ledger:5432; GET .../fix proposes
 * one new ingress policy for exactly that edge; the dashboard (Debian's Chromium) shows it on
 * the Blocked contract and its copy button copies that YAML; and the contract with the copied
 * policies appended goes through its new revision to Complete without a real deny.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { waitFor } from '../support/wait-for.js';
import { startDemo, type DemoProcess } from './e2e-demo-process.js';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

interface FixBody {
  edges: { from: string; to: string; port: number; protocol: string; side: string; policy: string }[];
  policies: { metadata: { name: string; namespace: string } }[];
  yaml: string;
  unfixable: unknown[];
}
interface ContractJson {
  name: string;
  revision: number;
  phase: string;
  evidence: { actualDenies: number };
}

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('smallest fix for the demo\'s Blocked contract', () => {
  let demo: DemoProcess;
  let browser: Browser;

  beforeAll(async () => {
    // No new caller: payments-lockdown is Blocked only after its CronJob's first run (10-70 s
    // in), by when shop-lockdown would otherwise have a real blocker of its own to fix. The
    // first run 10 s in at the earliest, not the default 40: 30 s less to wait for it.
    demo = await startDemo(['--late-after', '600s', '--first-run-after', '10s']);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  });
  afterAll(async () => {
    await browser?.close();
    await demo?.kill();
  });

  it('proposes, shows, copies and, applied, completes', { timeout: 200_000 }, async () => {
    const contract = (): Promise<ContractJson> => demo.get<ContractJson>('/api/v1/contracts/payments-lockdown');
    await waitFor(async () => (await contract()).phase === 'Blocked', { timeoutMs: 130_000, intervalMs: 500, what: 'payments-lockdown Blocked' });

    const fix = await demo.get<FixBody>('/api/v1/contracts/payments-lockdown/fix');
    expect(fix.edges).toEqual([expect.objectContaining({ from: 'payments/invoice-job', to: 'payments/ledger', port: 5432, protocol: 'TCP', side: 'ingress' })]);
    expect(fix.policies.map((p) => `${p.metadata.namespace}/${p.metadata.name}`)).toEqual(['payments/fix-ledger-ingress']);
    expect(fix.unfixable).toEqual([]);
    // A contract that is not Blocked on anything has nothing to fix.
    const shop = await demo.get<FixBody>('/api/v1/contracts/shop-lockdown/fix');
    expect(shop.policies).toEqual([]);

    const context = await browser.newContext({ viewport: { width: 1600, height: 1250 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: demo.api });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${demo.api}/?token=${demo.token}`);
    const card = 'article.contract[data-contract="payments-lockdown"]';
    await page.waitForSelector(`${card} .fix-box:not([hidden]) .fix-yaml`);
    const shown = await waitFor(async () => {
      const t = (await page.textContent(`${card} .fix-yaml`)) ?? '';
      return t.includes('fix-ledger-ingress') ? t : null;
    }, { timeoutMs: 15_000, intervalMs: 200, what: 'the fix YAML on the page' });
    expect(await page.textContent(`${card} .fix-edges`)).toContain('payments/invoice-job → payments/ledger:5432/TCP');
    expect(await page.locator('article.contract[data-contract="shop-lockdown"] .fix-box:not([hidden])').count()).toBe(0);
    await page.click(`${card} .fix-copy`);
    await waitFor(async () => ((await page.textContent(`${card} .fix-copy`)) === 'Copied' ? true : null), { timeoutMs: 5000, what: 'the copy confirmation' });
    const copied = String(await page.evaluate('navigator.clipboard.readText()'));
    expect(copied).toBe(shown);
    expect(copied).toBe(fix.yaml);
    expect(errors).toEqual([]);
    mkdirSync(RESULTS, { recursive: true });
    await page.locator(card).screenshot({ path: join(RESULTS, 'dashboard-fix.png') });
    await context.close();

    // Apply what was copied: append it to spec.policies of the contract file the control plane watches.
    const file = join(dirname(demo.tokenFile), 'contracts', 'payments-lockdown.yaml');
    const doc = parse(readFileSync(file, 'utf8')) as { spec: { policies: unknown[] } };
    doc.spec.policies.push(...(parse(copied) as unknown[]));
    writeFileSync(file, stringify(doc));
    await waitFor(async () => ((await contract()).revision === 2 ? true : null), { timeoutMs: 30_000, intervalMs: 500, what: 'revision 2 registered' });
    const done = await waitFor(async () => {
      const c = await contract();
      return c.phase === 'Complete' ? c : null;
    }, { timeoutMs: 120_000, intervalMs: 500, what: 'payments-lockdown Complete after the fix' });
    expect(done.revision).toBe(2);
    const history = await demo.get<{ items: { phase: string; reasons: string[] }[] }>('/api/v1/contracts/payments-lockdown/history');
    expect(history.items.at(-1)?.phase).toBe('Complete');
    expect(history.items.some((h) => h.phase === 'RolledBack')).toBe(false);
  });
});
