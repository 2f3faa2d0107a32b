import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyManifests } from '../../../io/manifest-files.js';
import type { NetworkPolicy } from '../../../core/policy/index.js';
import { splitFieldPath } from '../../../io/yaml-documents.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-manifests-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function file(name: string, text: string): string {
  const path = join(dir, name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, text);
  return path;
}

const policy = (name: string, ns = 'shop', extra = ''): string =>
  `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: ${name}\n  namespace: ${ns}\nspec:\n  podSelector: {}\n${extra}`;

describe('splitFieldPath', () => {
  it.each([
    ['spec.ingress[0].ports[1].port', ['spec', 'ingress', 0, 'ports', 1, 'port']],
    ['items[3]', ['items', 3]],
    ['[2].spec', [2, 'spec']],
    ['', []],
  ])('%s', (path, expected) => {
    expect(splitFieldPath(path)).toEqual(expected);
  });
});

describe('loadPolicyManifests', () => {
  it('reads multi-document YAML, sorted by namespace/name', async () => {
    const path = file('multi.yaml', `${policy('b')}---\n${policy('a')}`);
    const r = await loadPolicyManifests(path);
    expect(r.ok && r.value.policies.map((p) => `${p.namespace}/${p.name}`)).toEqual(['shop/a', 'shop/b']);
    expect(r.ok && r.value.warnings).toEqual([]);
  });

  it('reads a JSON List and a YAML List', async () => {
    const json = file('list.json', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'j', namespace: 'x' }, spec: { podSelector: {} } }] }));
    const r = await loadPolicyManifests(json);
    expect(r.ok && r.value.policies.map((p) => p.name)).toEqual(['j']);
    const yaml = file('list.yaml', `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicyList\nitems:\n  - ${policy('y').split('\n').join('\n    ')}`);
    const r2 = await loadPolicyManifests(yaml);
    expect(r2.ok && r2.value.policies.map((p) => p.name)).toEqual(['y']);
  });

  it('reads the policies of a RampContract', async () => {
    const path = file('contract.yaml', `apiVersion: rampart.dev/v1alpha1\nkind: RampContract\nmetadata: { name: c }\nspec:\n  policies:\n    - ${policy('p1').split('\n').join('\n      ')}\n`);
    const r = await loadPolicyManifests(path);
    expect(r.ok && r.value.policies.map((p) => p.name)).toEqual(['p1']);
  });

  it('reads a folder recursively, ignoring other extensions', async () => {
    const sub = join(dir, 'tree');
    file('tree/a.yaml', policy('a'));
    file('tree/deeper/b.yml', policy('b'));
    file('tree/README.md', '# not a manifest');
    const r = await loadPolicyManifests(sub);
    expect(r.ok && r.value.files.map((f) => f.slice(sub.length))).toEqual(['/a.yaml', '/deeper/b.yml']);
    expect(r.ok && r.value.policies).toHaveLength(2);
  });

  it('problems name file, line, document and field path, and all of them are collected', async () => {
    const path = file('bad.yaml', `${policy('ok')}---\n${policy('bad', 'shop', '  ingress:\n    - ports:\n        - port: 0\n          protocol: ICMP\n')}`);
    const r = await loadPolicyManifests(path);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const text = r.error.map((p) => `${p.path}: ${p.message}`);
    expect(text).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:18: document 2, spec\\.ingress\\[0\\]\\.ports\\[0\\]\\.port: `)),
        expect.stringMatching(/:19: document 2, spec\.ingress\[0\]\.ports\[0\]\.protocol: /),
      ]),
    );
  });

  it('a missing namespace is one summary warning and defaults to "default", or to --namespace', async () => {
    const one = 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: x\nspec:\n  podSelector: {}\n';
    const path = file('nons.yaml', `${one}---\n${one.replace('name: x', 'name: y')}`);
    const r = await loadPolicyManifests(path);
    expect(r.ok && r.value.policies.map((p) => p.namespace)).toEqual(['default', 'default']);
    expect(r.ok && r.value.warnings.map((w) => `${w.path}: ${w.message}`)).toEqual([expect.stringMatching(/nons\.yaml:1: 2 policies have no metadata\.namespace; taken to be in "default" \(set it with --namespace\)/)]);
    const shop = await loadPolicyManifests(path, { namespace: 'shop' });
    expect(shop.ok && shop.value.policies.map((p) => p.namespace)).toEqual(['shop', 'shop']);
    expect(shop.ok && shop.value.warnings).toEqual([]);
  });

  it('other kinds are skipped with a warning; a manifest without kind is a problem', async () => {
    const r = await loadPolicyManifests(file('deploy.yaml', `apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: d }\n---\n${policy('p')}`));
    expect(r.ok && r.value.warnings.map((w) => w.message)).toEqual([expect.stringContaining('skipped a Deployment')]);
    const r2 = await loadPolicyManifests(file('nokind.yaml', 'metadata: { name: d }\n'));
    expect(!r2.ok && r2.error[0]?.message).toMatch(/expected a kind/);
  });

  it('a policy defined twice: the later one is used, with a warning', async () => {
    const r = await loadPolicyManifests(file('twice.yaml', `${policy('p')}---\n${policy('p', 'shop', '  policyTypes: [Egress]\n')}`));
    expect(r.ok && r.value.policies).toHaveLength(1);
    expect(r.ok && (r.value.policies[0] as NetworkPolicy | undefined)?.policyTypes).toEqual(['Egress']);
    expect(r.ok && r.value.warnings[0]?.message).toMatch(/shop\/p is defined again/);
  });

  it('YAML syntax errors and unreadable paths are problems with a location', async () => {
    const r = await loadPolicyManifests(file('syntax.yaml', 'kind: NetworkPolicy\nmetadata: {\n'));
    expect(!r.ok && r.error[0]?.path).toMatch(/syntax\.yaml:\d+$/);
    const r2 = await loadPolicyManifests(join(dir, 'missing.yaml'));
    expect(!r2.ok && r2.error[0]?.message).toMatch(/cannot read/);
    const empty = join(dir, 'empty-dir');
    mkdirSync(empty);
    const r3 = await loadPolicyManifests(empty);
    expect(!r3.ok && r3.error[0]?.message).toMatch(/found none/);
  });

  it('no policies at all: a warning, not an error (every flow is then allowed)', async () => {
    const r = await loadPolicyManifests(file('empty-list.json', '{"apiVersion":"v1","kind":"List","items":[]}'));
    expect(r.ok && r.value.policies).toEqual([]);
    expect(r.ok && r.value.warnings[0]?.message).toMatch(/no NetworkPolicy or Cilium policy found/);
  });
});
