/**
 * `rampart evaluate --baseline` judging a change of what is enforced (product.md "Changes to
 * what is enforced"): *before* is every policy of the baseline, *after* is the baseline less
 * what is replaced or removed, plus the proposal. Same-named policies are replacements; a
 * RampContract's `replaces`/`removes` are honoured. The compiled CLI runs over the real TCP
 * capture, and its answer is checked side by side against core evaluators of each set.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionTracker, parseHubbleLine } from '../../core/flow/index.js';
import { createEvaluator, parseNetworkPolicy, type NetworkPolicy, type SideVerdict } from '../../core/policy/index.js';
import { runCli } from '../support/run-cli.js';

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const OLD = join(ROOT, 'test', 'fixtures', 'policies', 'bookinfo-lockdown.yaml');
const CAPTURE = resolve(ROOT, '..', 'shared', 'flows', 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl');

/** The new text of `bookinfo/productpage`: ingress only from reviews, egress only to details. */
const NARROWED = {
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata: { name: 'productpage', namespace: 'bookinfo' },
  spec: {
    podSelector: { matchLabels: { app: 'productpage' } },
    ingress: [{ from: [{ podSelector: { matchLabels: { app: 'reviews' } } }], ports: [{ port: 9080 }] }],
    egress: [{ to: [{ podSelector: { matchLabels: { app: 'details' } } }], ports: [{ port: 9080 }] }],
  },
};

interface Line {
  index: number;
  verdict: string;
  egress: SideVerdict | 'none';
  ingress: SideVerdict | 'none';
  change?: string;
  baseline?: { egress: SideVerdict | 'none'; ingress: SideVerdict | 'none' };
  replaced?: string[];
  removed?: string[];
}

const jsonl = (stdout: string): Line[] => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);

function policiesOf(file: string): NetworkPolicy[] {
  return parseAllDocuments(readFileSync(file, 'utf8')).map((d) => {
    const r = parseNetworkPolicy(d.toJS(), file);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    return r.value;
  });
}

/** Each connection side of the capture under two sets, by input line index, as the agent classifies them. */
function sidesUnder(before: readonly NetworkPolicy[], after: readonly NetworkPolicy[]): Map<number, { side: 'egress' | 'ingress'; before: string; after: string }[]> {
  const b = createEvaluator(before);
  const a = createEvaluator(after);
  const tracker = new ConnectionTracker();
  const out = new Map<number, { side: 'egress' | 'ingress'; before: string; after: string }[]>();
  readFileSync(CAPTURE, 'utf8').split('\n').forEach((line, index) => {
    const r = parseHubbleLine(line);
    if (!r.ok || r.value.kind !== 'flow') return;
    const c = tracker.classify(r.value.flow);
    if (c.kind === 'skip') return;
    const eb = b.evaluate(r.value.flow, c);
    const ea = a.evaluate(r.value.flow, c);
    out.set(index, (['egress', 'ingress'] as const).filter((s) => eb[s] !== 'none').map((side) => ({ side, before: eb[side], after: ea[side] })));
  });
  return out;
}

let tmp = '';
beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'rampart-evaluate-change-'));
});
afterAll(() => {
  if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
});

const write = (name: string, docs: readonly unknown[]): string => {
  const path = join(tmp, name);
  writeFileSync(path, docs.map((d) => JSON.stringify(d)).join('\n---\n'));
  return path;
};

describe('rampart evaluate --baseline with same-named policies', () => {
  it('every side the old policies allowed and the new ones deny is newly-denied, judged against all of the baseline', async () => {
    const proposal = write('narrowed.yaml', [NARROWED]);
    const r = await runCli(['evaluate', '--policies', proposal, '--baseline', OLD, '--flows', CAPTURE]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain('--baseline policy bookinfo/productpage is replaced by the proposed policy of that name');
    const old = policiesOf(OLD);
    const expected = sidesUnder(old, [...old.filter((p) => p.name !== 'productpage'), policiesOf(proposal)[0]!]);
    const lines = jsonl(r.stdout);
    let newlyDenied = 0;
    for (const line of lines) {
      const sides = expected.get(line.index);
      if (sides === undefined) {
        expect(line.verdict).toBe('skip');
        continue;
      }
      for (const s of sides) {
        // The CLI's verdicts are those of each set evaluated on its own.
        expect(line.baseline![s.side], `line ${line.index} ${s.side} before`).toBe(s.before);
        expect(line[s.side], `line ${line.index} ${s.side} after`).toBe(s.after);
        if (s.before === 'allow' && s.after === 'deny') {
          newlyDenied++;
          expect(line.change, `line ${line.index}`).toBe('newly-denied');
        }
      }
      if (line.change === 'newly-denied') expect(sides.some((s) => s.before === 'allow' && s.after === 'deny')).toBe(true);
      // Only the replaced policy changed, so it decided every newly denied line under the baseline, and the line names it.
      if (line.change === 'newly-denied') expect(line.replaced, `line ${line.index}`).toEqual(['bookinfo/productpage']);
    }
    // The old text admitted productpage → reviews and the callers of productpage; the new one does not.
    expect(newlyDenied).toBeGreaterThanOrEqual(10);
    expect(lines.filter((l) => l.change === 'newly-denied').length).toBeGreaterThanOrEqual(10);
    expect(lines.filter((l) => l.replaced?.includes('bookinfo/productpage')).length).toBeGreaterThan(0);
    expect(lines.every((l) => l.removed !== undefined && l.removed.length === 0)).toBe(true);
  });

  it('the table lists the replaced policy and the newly denied edges', async () => {
    const proposal = write('narrowed-table.yaml', [NARROWED]);
    const r = await runCli(['evaluate', '--policies', proposal, '--baseline', OLD, '--flows', CAPTURE, '--format', 'table']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^baseline policies taken out\s+how\nbookinfo\/productpage\s+replaced$/m);
    expect(r.stdout).toMatch(/^bookinfo\/productpage → bookinfo\/reviews:9080\/TCP\s+\d+$/m);
  });
});

describe('rampart evaluate --baseline with a RampContract that replaces and removes', () => {
  const contract = (spec: Record<string, unknown>): Record<string, unknown> => ({
    apiVersion: 'rampart.dev/v1alpha1',
    kind: 'RampContract',
    metadata: { name: 'narrow-bookinfo' },
    spec: { rollout: { strategy: 'percent', stages: [{ name: 'monitor', minDuration: '1m' }, { name: 'all', percent: 100, minDuration: '1m' }] }, ...spec },
  });

  it('honours replaces and removes: a removed allow denies what it admitted', async () => {
    const file = write('contract.yaml', [
      contract({
        policies: [NARROWED],
        replaces: [{ namespace: 'bookinfo', name: 'productpage' }],
        removes: [{ kind: 'NetworkPolicy', namespace: 'bookinfo', name: 'ratings-from-reviews' }],
      }),
    ]);
    const r = await runCli(['evaluate', '--policies', file, '--baseline', OLD, '--flows', CAPTURE]);
    expect(r.code, r.stderr).toBe(1);
    // Named in replaces: no warning about an implicit replacement.
    expect(r.stderr).not.toContain('is replaced by the proposed policy');
    const old = policiesOf(OLD);
    const after = [...old.filter((p) => p.name !== 'productpage' && p.name !== 'ratings-from-reviews'), policiesOf(write('n.yaml', [NARROWED]))[0]!];
    const expected = sidesUnder(old, after);
    const lines = jsonl(r.stdout);
    for (const line of lines) {
      for (const s of expected.get(line.index) ?? []) {
        expect(line.baseline![s.side]).toBe(s.before);
        expect(line[s.side]).toBe(s.after);
      }
    }
    // reviews → ratings was admitted by the removed policy only: its ingress is newly denied and the line says why.
    const removedLines = lines.filter((l) => l.removed?.includes('bookinfo/ratings-from-reviews'));
    expect(removedLines.length).toBeGreaterThan(0);
    for (const l of removedLines) expect({ change: l.change, ingress: l.ingress, before: l.baseline!.ingress }).toEqual({ change: 'newly-denied', ingress: 'deny', before: 'allow' });
    const table = await runCli(['evaluate', '--policies', file, '--baseline', OLD, '--flows', CAPTURE, '--format', 'table']);
    expect(table.stdout).toMatch(/^bookinfo\/productpage\s+replaced\nbookinfo\/ratings-from-reviews\s+removed$/m);
  });

  it('a target missing from the baseline is bad input (exit 2) naming it', async () => {
    const file = write('missing.yaml', [contract({ policies: [NARROWED], replaces: [{ namespace: 'bookinfo', name: 'productpage' }], removes: [{ namespace: 'bookinfo', name: 'no-such-policy' }] })]);
    const r = await runCli(['evaluate', '--policies', file, '--baseline', OLD, '--flows', CAPTURE]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bookinfo/no-such-policy does not exist');
    expect(r.stdout).toBe('');
  });

  it('a replaces entry without its new text is bad input naming the file, line and field', async () => {
    const file = join(tmp, 'no-text.yaml');
    writeFileSync(
      file,
      `apiVersion: rampart.dev/v1alpha1
kind: RampContract
metadata: { name: x }
spec:
  policies:
    - ${JSON.stringify(NARROWED)}
  replaces:
    - { namespace: bookinfo, name: productpage }
    - { namespace: bookinfo, name: details }
`,
    );
    expect(parseYaml(readFileSync(file, 'utf8'))).toBeTruthy();
    const r = await runCli(['evaluate', '--policies', file, '--flows', CAPTURE]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:9: .*spec\\.replaces\\[1\\]: bookinfo/details has no new text`));
  });
});
