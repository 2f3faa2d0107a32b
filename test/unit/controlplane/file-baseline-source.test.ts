/**
 * File mode's baseline (`rampart controlplane --baseline <dir>`): the folder's NetworkPolicies
 * with their owners, a content-hash revision that changes exactly when a policy does, bad
 * manifests left out with file and line, and a rescan that notices edits.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { baselineFor } from '../../../controlplane/baseline/baseline-source.js';
import { baselineFromFile, FileBaselineSource } from '../../../controlplane/baseline/file-baseline-source.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const folder = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'rampart-baseline-src-'));
  dirs.push(d);
  return d;
};

const POLICIES = `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: legacy, namespace: shop }
spec: { podSelector: {} }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: applied, namespace: shop, labels: { rampart.dev/contract: shop-lockdown } }
spec: { podSelector: {}, policyTypes: [Egress] }
`;

describe('FileBaselineSource', () => {
  it('reads the folder: refs, owners, a revision; each contract gets the policies it did not write', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.yaml'), POLICIES);
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'no-ns' }, spec: { podSelector: {} } }] }));
    writeFileSync(join(dir, 'notes.txt'), 'ignored');
    const src = new FileBaselineSource({ dir, rescanMs: 60_000 });
    const abort = new AbortController();
    await src.start(abort.signal);
    const snap = src.snapshot();
    abort.abort();
    expect(snap.policies.map((p) => `${p.ref}:${p.owner ?? '-'}`)).toEqual(['default/no-ns:-', 'shop/applied:shop-lockdown', 'shop/legacy:-']);
    expect(snap.revision).toMatch(/^[0-9a-f]{16}$/);
    expect(src.problems()).toEqual([]);
    expect(baselineFor(snap, 'shop-lockdown').map((p) => p.ref)).toEqual(['default/no-ns', 'shop/legacy']);
    expect(baselineFor(snap, 'other').map((p) => p.ref)).toHaveLength(3);
  });

  it('changes the revision exactly when a policy changes, and tells its listeners', () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.yaml'), POLICIES);
    const src = new FileBaselineSource({ dir });
    let changes = 0;
    src.onChange(() => changes++);
    src.rescan();
    const first = src.snapshot().revision;
    src.rescan();
    expect(src.snapshot().revision).toBe(first);
    writeFileSync(join(dir, 'a.yaml'), POLICIES.replace('podSelector: {} }\n---', 'podSelector: { matchLabels: { app: x } } }\n---'));
    src.rescan();
    expect(src.snapshot().revision).not.toBe(first);
    expect(changes).toBe(2);
  });

  it('leaves out a bad manifest with file and line, keeping the rest', () => {
    const problems: string[] = [];
    const dir = folder();
    writeFileSync(join(dir, 'bad.yaml'), `${POLICIES}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: broken, namespace: shop }\nspec:\n  podSelector: {}\n  ingress: [{ ports: [{ port: 70000 }] }]\n`);
    const src = new FileBaselineSource({ dir, onProblems: (p) => problems.push(...p.map((x) => `${x.path} ${x.message}`)) });
    src.rescan();
    expect(src.snapshot().policies.map((p) => p.ref)).toEqual(['shop/applied', 'shop/legacy']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^bad\.yaml:16 document 3, spec\.ingress\[0\]\.ports\[0\]\.port: /);
  });

  it('an unreadable folder keeps the last good baseline and says why', () => {
    const dir = folder();
    writeFileSync(join(dir, 'a.yaml'), POLICIES);
    const problems: string[] = [];
    const src = new FileBaselineSource({ dir, onProblems: (p) => problems.push(...p.map((x) => x.message)) });
    src.rescan();
    const good = src.snapshot();
    rmSync(dir, { recursive: true, force: true });
    src.rescan();
    expect(src.snapshot()).toBe(good);
    expect(problems.join('\n')).toContain('cannot read the baseline folder');
  });

  it('parses one file on its own (pure apart from the name)', () => {
    const f = baselineFromFile('x.yaml', 'kind: Deployment\n');
    expect(f.policies).toEqual([]);
    expect(f.problems[0]!.path).toBe('x.yaml:1');
  });
});
