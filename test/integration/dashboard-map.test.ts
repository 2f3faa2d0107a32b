/**
 * The dashboard's traffic map in a real headless Chromium (Debian's, driven by
 * playwright-core) against a real chain (replay → agent → control plane, Bookinfo): the
 * service graph renders from GET /api/v1/map with the graph library served from
 * node_modules, the edge a registered contract would break is marked red, and a pasted
 * contract (POST /api/v1/preview) updates the marks. Saves test-results/dashboard-map.png.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bookinfoContract } from '../support/bookinfo.js';
import { startMapChain, type MapChain } from '../support/map-chain.js';
import { waitFor } from '../support/wait-for.js';

const CHROMIUM = '/usr/bin/chromium';
const RESULTS = fileURLToPath(new URL('../../test-results/', import.meta.url));

/** Every bookinfo ingress denied: breaks every bookinfo edge. */
const DENY_ALL = `apiVersion: rampart.dev/v1alpha1
kind: RampContract
metadata: { name: bookinfo-deny-all }
spec:
  policies:
    - apiVersion: networking.k8s.io/v1
      kind: NetworkPolicy
      metadata: { name: deny-all, namespace: bookinfo }
      spec: { podSelector: {}, policyTypes: [Ingress] }
  rollout:
    strategy: percent
    stages: [{ name: monitor, minDuration: 1h }, { name: full, percent: 100, minDuration: 1h }]
`;

interface EdgeView {
  id: string;
  verdict: string;
  colour: string;
}

describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)('the traffic map in headless Chromium', () => {
  let chain: MapChain;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];
  const requests: string[] = [];

  /** The edges as the graph library holds them, with the colour it draws each one in. */
  const edges = (): Promise<EdgeView[]> =>
    page.evaluate(`(window.rampartMap.cy ? window.rampartMap.cy.edges().map((e) => ({ id: e.id(), verdict: e.data('verdict'), colour: e.style('line-color') })) : [])`);

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    mkdirSync(RESULTS, { recursive: true });
    chain = await startMapChain({ token: 'dash-map-token' });
    // Let the agent report a few windows before the page loads.
    await waitFor(async () => {
      const res = await fetch(`${chain.cp.base}/api/v1/map`, { headers: { authorization: `Bearer ${chain.token}` } });
      const body = (await res.json()) as { edges: { to: string }[] };
      return body.edges.some((e) => e.to === 'bookinfo/reviews') && body.edges.some((e) => e.to === 'bookinfo/details') ? true : null;
    }, { timeoutMs: 30_000, what: 'edges in the map' });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage({ viewport: { width: 1500, height: 1100 } });
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('request', (r) => requests.push(r.url()));
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await chain?.stop();
  });

  it('renders the service graph: namespaces as groups, workloads as nodes, edges with counts', async () => {
    await page.goto(`${chain.cp.base}/?token=${chain.token}`);
    await page.waitForFunction('Number(document.querySelector("#map-graph")?.dataset.edges || 0) > 0', undefined, { timeout: 20_000 });
    const graph = await page.evaluate(`(() => { const cy = window.rampartMap.cy; return { parents: cy.nodes(':parent').map((n) => n.id()), children: cy.nodes(':child').map((n) => n.id() + '<' + n.parent().id()), labels: cy.edges().map((e) => e.data('label')), canvases: document.querySelectorAll('#map-graph canvas').length }; })()`) as { parents: string[]; children: string[]; labels: string[]; canvases: number };
    expect(graph.parents).toContain('ns:bookinfo');
    expect(graph.children).toContain('bookinfo/reviews<ns:bookinfo');
    expect(graph.labels.some((l) => /^9080\/TCP ×\d+$/.test(l))).toBe(true);
    expect(graph.canvases).toBeGreaterThan(0);
    // The graph library came from this control plane, not a CDN.
    const scripts = requests.filter((u) => u.endsWith('.js'));
    expect(scripts.some((u) => u.endsWith('/vendor/cytoscape.min.js'))).toBe(true);
    expect(scripts.every((u) => u.startsWith(chain.cp.base))).toBe(true);
    expect(await page.textContent('#map-status')).toMatch(/judged under the baseline/);
  });

  it('marks red the edge a registered contract would break', async () => {
    await page.waitForFunction('[...document.querySelectorAll("#map-contract option")].some((o) => o.value === "bookinfo-lockdown")', undefined, { timeout: 15_000 });
    await page.selectOption('#map-contract', 'bookinfo-lockdown');
    const marked = await waitFor(async () => {
      const e = await edges();
      return e.some((x) => x.verdict === 'would-deny') ? e : null;
    }, { timeoutMs: 15_000, what: 'a would-deny edge' });
    const broken = marked.filter((e) => e.verdict === 'would-deny');
    expect(broken.map((e) => e.id)).toEqual(['bookinfo/productpage>bookinfo/reviews:9080/TCP']);
    expect(broken[0]!.colour).toBe('rgb(248,81,73)');
    expect(marked.filter((e) => e.verdict === 'allow').every((e) => e.colour !== 'rgb(248,81,73)')).toBe(true);
    expect(await page.textContent('#map-changes tbody')).toContain('bookinfo/reviews');
    expect(await page.textContent('#map-status')).toMatch(/against bookinfo-lockdown .*: 1 would-deny/);
  });

  it('a pasted contract updates the marks: the fixed one breaks nothing, a deny-all breaks every bookinfo edge', async () => {
    await page.fill('#map-paste', bookinfoContract({ name: 'bookinfo-fixed', durations: ['1h', '1h'] }));
    await page.click('#map-preview');
    await waitFor(async () => ((await page.textContent('#map-status')) ?? '').includes('bookinfo-fixed (pasted)') || null, { timeoutMs: 15_000, what: 'the pasted preview' });
    expect((await edges()).filter((e) => e.verdict === 'would-deny')).toEqual([]);

    await page.fill('#map-paste', DENY_ALL);
    await page.click('#map-preview');
    await waitFor(async () => ((await page.textContent('#map-status')) ?? '').includes('bookinfo-deny-all (pasted)') || null, { timeoutMs: 15_000, what: 'the deny-all preview' });
    const now = await edges();
    const intoBookinfo = now.filter((e) => /^[^>]*>bookinfo\//.test(e.id) && e.id.startsWith('bookinfo/'));
    expect(intoBookinfo.length).toBeGreaterThanOrEqual(2);
    expect(intoBookinfo.every((e) => e.verdict === 'would-deny' && e.colour === 'rgb(248,81,73)')).toBe(true);
    await page.waitForTimeout(300);
    await page.locator('#map-panel').screenshot({ path: `${RESULTS}dashboard-map.png` });

    // A broken paste is explained, and the marks stay as they were.
    await page.fill('#map-paste', 'kind: RampContract\nspec: [1');
    await page.click('#map-preview');
    await waitFor(async () => ((await page.textContent('#map-status')) ?? '').startsWith('preview:') || null, { timeoutMs: 10_000, what: 'the error' });
    expect(await page.textContent('#map-status')).toMatch(/line/);
    expect(pageErrors).toEqual([]);
  });
});
