/**
 * The one kubeconfig loader's choices (files written here, no cluster needed): a named file,
 * the context a kubectl plugin asks for, and kubectl's search through KUBECONFIG.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadKubeConfig } from '../../../../io/kube/kubeconfig.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-kubeconfig-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

/** A kubeconfig with one cluster and context per name; the first is current. */
function kubeconfig(file: string, names: readonly string[]): string {
  const path = join(dir, file);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': names[0],
    clusters: names.map((n, i) => ({ name: n, cluster: { server: `https://127.0.0.1:${6440 + i}` } })),
    users: names.map((n) => ({ name: n, user: { token: `token-${n}` } })),
    contexts: names.map((n) => ({ name: n, context: { cluster: n, user: n } })),
  };
  writeFileSync(path, JSON.stringify(doc));
  return path;
}

describe('loadKubeConfig', () => {
  it('loads the named file at its current context, and says where it came from', () => {
    const path = kubeconfig('one.json', ['a', 'b']);
    const loaded = loadKubeConfig(path, undefined, {});
    expect(loaded?.source).toBe(path);
    expect(loaded?.kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6440');
  });

  it('switches to the context asked for, and names an unknown one with the file', () => {
    const path = kubeconfig('two.json', ['a', 'b']);
    expect(loadKubeConfig(path, undefined, {}, { context: 'b' })?.kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6441');
    expect(() => loadKubeConfig(path, undefined, {}, { context: 'nope' })).toThrow(`no context named "nope" in the kubeconfig ${path}`);
  });

  it('names the file it cannot read', () => {
    const path = join(dir, 'missing.json');
    expect(() => loadKubeConfig(path, undefined, {})).toThrow(`cannot load kubeconfig ${path}`);
  });

  it('without a file and outside a pod finds nothing, unless asked to search as kubectl does (KUBECONFIG, files merged)', () => {
    const first = kubeconfig('first.json', ['x']);
    const second = kubeconfig('second.json', ['y']);
    expect(loadKubeConfig(null, undefined, {})).toBeNull();
    vi.stubEnv('KUBECONFIG', `${first}:${second}`);
    const loaded = loadKubeConfig(null, undefined, {}, { kubectlSearch: true, context: 'y' });
    expect(loaded?.source).toBe(`${first}:${second}`);
    // y is only in the second file: found because the files were merged.
    expect(loaded?.kc.getCurrentCluster()?.name).toBe('y');
  });
});
