/**
 * Which files a manifests target stands for: a kustomization's resources (nested ones too,
 * the outermost namespace winning, as kustomize applies it last), with every field it does
 * not apply and every remote resource named; a Helm chart refused once; policies loaded
 * through a kustomization take its namespace.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicyManifests } from '../../../io/manifest-files.js';
import { manifestSources } from '../../../io/manifest-sources.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-sources-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function tree(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(join(root, f, '..'), { recursive: true });
    writeFileSync(join(root, f), text);
  }
  return root;
}

const policy = (name: string): string => `apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: ${name} }\nspec: { podSelector: {} }\n`;

describe('manifestSources', () => {
  it('reads a kustomization: listed files and folders only, the outer namespace first, other fields named', async () => {
    const root = tree('k', {
      'kustomization.yaml': 'namespace: outer\nresources: [a.yaml, inner, https://github.com/x/y//base]\npatches: []\n',
      'a.yaml': policy('a'),
      'left-out.yaml': policy('c'),
      'inner/kustomization.yml': 'namespace: inner\nresources: [b.yaml]\nconfigMapGenerator: []\n',
      'inner/b.yaml': policy('b'),
    });
    const r = await manifestSources(root);
    if (!r.ok) throw new Error(JSON.stringify(r.error));
    expect(r.value.sources).toEqual([
      { file: join(root, 'a.yaml'), namespace: 'outer' },
      { file: join(root, 'inner', 'b.yaml'), namespace: 'outer' },
    ]);
    const messages = r.value.warnings.map((w) => w.message);
    expect(messages[0]).toBe('read as a kustomization: 2 resource files; 1 file it does not list is left out');
    expect(messages).toContain('patches is not applied (run `kubectl kustomize` first for the rendered objects)');
    expect(messages).toContain('configMapGenerator is not applied (run `kubectl kustomize` first for the rendered objects)');
    expect(messages).toContain('resource https://github.com/x/y//base is remote and not read (run `kubectl kustomize` first)');
    const loaded = await loadPolicyManifests(root);
    expect(loaded.ok && loaded.value.policies.map((p) => `${p.namespace}/${p.name}`)).toEqual(['outer/a', 'outer/b']);
  });

  it('refuses a resource folder without its own kustomization, and a Helm chart once', async () => {
    const k = await manifestSources(tree('bad', { 'kustomization.yaml': 'resources: [sub]\n', 'sub/x.yaml': policy('x') }));
    expect(!k.ok && k.error[0]!.message).toBe('resource sub: a folder needs its own kustomization.yaml (as kustomize requires)');
    const chart = await manifestSources(tree('chart', { 'Chart.yaml': 'name: c\n', 'templates/a.yaml': 'x: {{ .Values.x }}\n' }));
    expect(!chart.ok && chart.error).toHaveLength(1);
    expect(!chart.ok && chart.error[0]!.message).toContain('is a Helm chart (Chart.yaml)');
  });
});
