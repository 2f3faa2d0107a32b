import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPodPorts } from '../../../io/pod-ports.js';
import { aPodList, aPodManifest } from '../../support/builders.js';

let dir = '';
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-pods-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function write(name: string, value: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof value === 'string' ? value : JSON.stringify(value, null, 2));
  return path;
}

describe('loadPodPorts', () => {
  it('resolves a named port per pod and protocol; null for a known pod without it; undefined for an unknown pod', async () => {
    const path = write(
      'pods.json',
      aPodList([
        aPodManifest({ namespace: 'shop', name: 'api-1', ports: [{ name: 'http', containerPort: 8080 }, { name: 'dns', containerPort: 53, protocol: 'UDP' }] }),
        aPodManifest({ namespace: 'shop', name: 'api-2', ports: [{ name: 'http', containerPort: 9090 }] }),
      ]),
    );
    const r = await loadPodPorts(path);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const { lookup, pods } = r.value;
    expect(pods).toBe(2);
    expect(lookup('shop', 'api-1', 'http', 'TCP')).toBe(8080);
    // one name, different numbers on different pods (netpol.md case 14)
    expect(lookup('shop', 'api-2', 'http', 'TCP')).toBe(9090);
    // the protocol must match too (case 13)
    expect(lookup('shop', 'api-1', 'http', 'UDP')).toBeNull();
    expect(lookup('shop', 'api-1', 'dns', 'UDP')).toBe(53);
    expect(lookup('shop', 'api-1', 'metrics', 'TCP')).toBeNull();
    expect(lookup('other', 'api-1', 'http', 'TCP')).toBeUndefined();
    expect(lookup('shop', 'api-3', 'http', 'TCP')).toBeUndefined();
  });

  it('reads sidecar init containers (restartPolicy Always) but not plain init containers', async () => {
    const pod = aPodManifest({ namespace: 'a', name: 'p' });
    (pod['spec'] as Record<string, unknown>)['initContainers'] = [
      { name: 'proxy', restartPolicy: 'Always', ports: [{ name: 'admin', containerPort: 15000 }] },
      { name: 'setup', ports: [{ name: 'setup', containerPort: 1 }] },
    ];
    const r = await loadPodPorts(write('sidecar.json', aPodList([pod])));
    expect(r.ok && r.value.lookup('a', 'p', 'admin', 'TCP')).toBe(15000);
    expect(r.ok && r.value.lookup('a', 'p', 'setup', 'TCP')).toBeNull();
  });

  it('reads a single Pod in YAML', async () => {
    const r = await loadPodPorts(write('pod.yaml', 'apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: a }\nspec:\n  containers:\n    - name: c\n      ports: [{ name: web, containerPort: 80 }]\n'));
    expect(r.ok && r.value.lookup('a', 'p', 'web', 'TCP')).toBe(80);
  });

  it('bad ports are problems with file, line and field path', async () => {
    const path = write('bad.json', aPodList([aPodManifest({ name: 'p', ports: [{ name: 'x', containerPort: 70000 }] })]));
    const r = await loadPodPorts(path);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error[0]?.path).toMatch(/bad\.json:\d+$/);
    expect(r.error[0]?.message).toMatch(/^items\[0\]\.spec\.containers\[0\]\.ports\[0\]\.containerPort: expected a port number 1-65535, got 70000/);
  });

  it('something that is not a Pod is a problem', async () => {
    const r = await loadPodPorts(write('notpods.json', { kind: 'List', items: [{ kind: 'Service', metadata: { name: 's' } }] }));
    expect(!r.ok && r.error[0]?.message).toMatch(/items\[0\]: expected a Pod/);
  });
});
