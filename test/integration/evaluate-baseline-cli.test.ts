/**
 * `rampart evaluate --baseline` as users and outside tests run it (product.md "What is already
 * enforced"): the compiled CLI as a child process. Each jsonl line gains `change` and
 * `baseline`, exit 1 means some side is newly denied (already-denied sides never fail), the
 * table shows newly-denied and newly-allowed edges apart, and without a baseline that matters
 * the verdicts are today's.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateLines, rampart, ROOT, scratchDir, SHOP, SHOP_FLOWS, SHOP_POLICIES } from '../support/evaluate-cli.js';

const BASELINE = join(SHOP, 'baseline.yaml');
const TCP_CAPTURE = resolve(ROOT, '..', 'shared', 'flows', 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl');
const scratch = scratchDir('rampart-evaluate-baseline-');

describe('rampart evaluate --baseline --format jsonl', () => {
  it('judges each side against the baseline: change and baseline verdicts on every line, in the documented key order', async () => {
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS, '--baseline', BASELINE]);
    expect(r.code, r.stderr).toBe(1);
    const out = evaluateLines(r.stdout);
    expect(out).toHaveLength(14);
    for (const line of r.stdout.split('\n').filter((l) => l !== '')) {
      expect(Object.keys(JSON.parse(line) as object)).toEqual(['index', 'uuid', 'verdict', 'egress', 'ingress', 'policies', 'reason', 'change', 'baseline']);
    }
    const view = out.map((o) => `${o.index} ${o.verdict} ${o.egress}/${o.ingress} ${o.change} base=${o.baseline!.egress}/${o.baseline!.ingress}`);
    expect(view).toEqual([
      '0 allow allow/allow same base=allow/allow',
      '1 skip none/none same base=none/none',
      '2 skip none/none same base=none/none',
      // frontend → db: the egress is newly isolated by the proposal; the ingress was denied already.
      '3 deny deny/deny newly-denied base=allow/deny',
      '4 skip none/none same base=none/none',
      '5 indeterminate none/indeterminate same base=none/deny',
      '6 indeterminate none/indeterminate same base=none/indeterminate',
      '7 deny deny/deny newly-denied base=allow/deny',
      '8 skip none/none same base=none/none',
      '9 allow allow/none same base=allow/none',
      '10 skip none/none same base=none/none',
      '11 skip none/none same base=none/none',
      // world → frontend:443: denied by the baseline's ingress lockdown, admitted by the proposal.
      '12 allow none/allow newly-allowed base=none/deny',
      // 10.x → frontend:443: the proposal alone denies it, but the baseline admits it already.
      '13 allow none/allow same base=none/allow',
    ]);
    expect(out[13]!.policies).toEqual(['shop/frontend-from-internal']);
  });

  it('exits 0 when everything the proposal denies was denied already', async () => {
    // The baseline already holds the proposal under other names: nothing is newly denied.
    const dir = join(scratch(), 'same-as-proposal');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'copy.yaml'), readFileSync(SHOP_POLICIES, 'utf8').replace(/name: ([a-z-]+), namespace: shop/g, 'name: old-$1, namespace: shop'));
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS, '--baseline', dir]);
    expect(r.code, r.stderr).toBe(0);
    const out = evaluateLines(r.stdout);
    expect(out.filter((o) => o.verdict === 'deny')).toHaveLength(3);
    expect(out.filter((o) => o.change === 'newly-denied')).toHaveLength(0);
    for (const o of out.filter((x) => x.verdict === 'deny')) expect(o.baseline).toEqual({ egress: o.egress, ingress: o.ingress });
  });

  it('a baseline that selects nothing changes no verdict: newly-denied exactly where today says deny', async () => {
    const other = join(scratch(), 'elsewhere.yaml');
    writeFileSync(other, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: lock, namespace: elsewhere }\nspec: { podSelector: {}, policyTypes: [Ingress, Egress] }\n');
    for (const flows of [SHOP_FLOWS, TCP_CAPTURE]) {
      const today = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', flows]);
      const brownfield = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', flows, '--baseline', other]);
      expect(brownfield.code).toBe(today.code);
      const a = evaluateLines(today.stdout);
      const b = evaluateLines(brownfield.stdout);
      expect(b.map(({ change: _c, baseline: _b, ...rest }) => rest)).toEqual(a);
      expect(b.map((o) => o.change === 'newly-denied')).toEqual(a.map((o) => o.verdict === 'deny'));
      expect(b.every((o) => o.baseline!.egress !== 'deny' && o.baseline!.ingress !== 'deny')).toBe(true);
    }
  });

  it('a baseline policy with a proposed policy\'s name is replaced by it, with a warning', async () => {
    const dir = join(scratch(), 'replaced');
    mkdirSync(dir, { recursive: true });
    // An old default-deny of the same name that isolated egress only.
    writeFileSync(join(dir, 'old.yaml'), 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: default-deny, namespace: shop }\nspec: { podSelector: {}, policyTypes: [Egress] }\n');
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS, '--baseline', dir]);
    expect(r.stderr).toContain('--baseline policy shop/default-deny is replaced by the proposed policy of that name');
    // Judged against the old text (egress isolated only): frontend → db is newly denied on its ingress.
    expect(r.code).toBe(1);
    expect(evaluateLines(r.stdout)[3]!.change).toBe('newly-denied');
  });

  it('a bad baseline file exits 2 and names the file', async () => {
    const bad = join(scratch(), 'bad-baseline.yaml');
    writeFileSync(bad, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: x, namespace: shop }\nspec: { podSelector: {}, policyTypes: [Sideways] }\n');
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS, '--baseline', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(bad);
    expect(r.stdout).toBe('');
    const missing = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS, '--baseline', join(scratch(), 'no-such-dir')]);
    expect(missing.code).toBe(2);
  });
});

describe('rampart evaluate --baseline --format table', () => {
  it('shows side changes and the newly-denied and newly-allowed edges apart', async () => {
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS, '--baseline', BASELINE, '--format', 'table']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^newly-denied\s+2$/m);
    expect(r.stdout).toMatch(/^newly-allowed\s+1$/m);
    expect(r.stdout).toMatch(/^already-denied\s+2$/m);
    expect(r.stdout).toMatch(/^top newly denied edges \(1 of 1\)\s+count\nshop\/frontend → shop\/db:5432\/TCP\s+2$/m);
    expect(r.stdout).toMatch(/^top newly allowed edges \(1 of 1\)\s+count\nworld\/203\.0\.113\.7 → shop\/frontend:443\/TCP\s+1$/m);
    expect(r.stdout).not.toContain('top denied edges');
    expect(r.stdout).not.toContain('"index"');
  });
});
