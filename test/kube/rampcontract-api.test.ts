/**
 * RampContracts as the control plane will use them, against the real API server: a watch
 * sees create, update and delete; status goes through the status subresource; spec and
 * status updates do not leak into each other.
 */
import { Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/wait-for.js';
import { GROUP, PLURAL, VERSION, customObjects, installCrd, loadKubeConfig, rejection, uniqueName } from '../support/kube/client.js';
import { shopDenyContract } from '../support/kube/contracts.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const api = customObjects(kc);
const ref = { group: GROUP, version: VERSION, plural: PLURAL };

interface Stored {
  metadata: { name: string; generation: number; resourceVersion: string };
  spec: { advance: string; rollout: { stages: { name: string }[] } };
  status?: Record<string, unknown>;
}

const aContract = (name: string): Record<string, unknown> => shopDenyContract(name, [{ name: 'monitor' }, { name: 'canary', percent: 10 }, { name: 'all', percent: 100 }]);

const get = async (name: string) => (await api.getClusterCustomObject({ ...ref, name })) as Stored;

const observing = {
  observedGeneration: 1,
  revision: 'abc123',
  stage: { index: 1, name: 'canary' },
  phase: 'Observing',
  decision: { kind: 'hold', reasons: ['minFlows: 40 of 100 flows'], at: '2026-01-01T00:00:00Z' },
  evidence: { flows: 40, allow: 39, deny: 1, indeterminate: 0, actualDenies: 0, lostEvents: 0, nodes: { expected: 3, reporting: 3 } },
  history: [{ at: '2026-01-01T00:00:00Z', from: 'monitor', to: 'canary', phase: 'Observing', decision: 'advance', reasons: ['gates passed'], actor: 'controlplane' }],
};

describe('RampContract API behaviour', () => {
  beforeAll(async () => {
    await installCrd(kc);
  });

  describe('watch', () => {
    const events: { type: string; name: string; advance: string }[] = [];
    let controller: AbortController | undefined;
    let stopped = false;
    let restarts = 0;

    afterAll(() => {
      stopped = true;
      controller?.abort();
    });

    /**
     * List-then-watch from the list's resourceVersion, re-watching from the last version seen
     * when the stream ends, as an informer does. NOTE: right after a CRD is created the API
     * server answers watches with 429 until its watch cache is ready; resuming from a
     * resourceVersion makes that harmless (no event is lost).
     */
    async function watchFrom(resourceVersion: string, name: string): Promise<void> {
      let last = resourceVersion;
      const start = async (): Promise<void> => {
        controller = await new Watch(kc).watch(
          `/apis/${GROUP}/${VERSION}/${PLURAL}`,
          { resourceVersion: last, allowWatchBookmarks: true },
          (type, obj: Stored) => {
            last = obj.metadata.resourceVersion;
            if (type !== 'BOOKMARK' && obj.metadata.name === name) events.push({ type, name, advance: obj.spec.advance });
          },
          () => {
            if (stopped || restarts >= 50) return;
            restarts += 1;
            setTimeout(() => void start().catch(() => undefined), 200);
          },
        );
      };
      await start();
    }

    it('sees create, update and delete of a contract', async () => {
      const name = uniqueName('watched');
      const list = (await api.listClusterCustomObject(ref)) as { metadata: { resourceVersion: string } };
      await watchFrom(list.metadata.resourceVersion, name);

      await api.createClusterCustomObject({ ...ref, body: aContract(name) });
      await waitFor(() => events.some((e) => e.type === 'ADDED'), { timeoutMs: 15_000, what: 'ADDED event' });

      const current = await get(name);
      await api.replaceClusterCustomObject({ ...ref, name, body: { ...current, spec: { ...current.spec, advance: 'manual' } } });
      await waitFor(() => events.some((e) => e.type === 'MODIFIED' && e.advance === 'manual'), { timeoutMs: 15_000, what: 'MODIFIED event' });

      await api.deleteClusterCustomObject({ ...ref, name });
      await waitFor(() => events.some((e) => e.type === 'DELETED'), { timeoutMs: 15_000, what: 'DELETED event' });

      expect(events.map((e) => e.type)).toEqual(['ADDED', 'MODIFIED', 'DELETED']);
    });
  });

  describe('status subresource', () => {
    const name = uniqueName('status');

    beforeAll(async () => {
      await api.createClusterCustomObject({ ...ref, body: aContract(name) });
    });
    afterAll(async () => {
      await api.deleteClusterCustomObject({ ...ref, name });
    });

    it('ignores status on create', async () => {
      const other = uniqueName('status-on-create');
      const created = (await api.createClusterCustomObject({ ...ref, body: { ...aContract(other), status: observing } })) as Stored;
      expect(created.status).toBeUndefined();
      await api.deleteClusterCustomObject({ ...ref, name: other });
    });

    it('writes status through /status without touching spec or generation', async () => {
      const before = await get(name);
      const body = { ...before, spec: { ...before.spec, advance: 'manual' }, status: observing };
      const after = (await api.replaceClusterCustomObjectStatus({ ...ref, name, body })) as Stored;
      expect(after.status).toEqual(observing);
      // The spec change in the same body is ignored by the status subresource.
      expect(after.spec.advance).toBe('auto');
      expect(after.metadata.generation).toBe(before.metadata.generation);
      expect((await get(name)).status).toEqual(observing);
    });

    it('leaves status alone on a spec-only update, and bumps the generation', async () => {
      const before = await get(name);
      expect(before.status).toEqual(observing);
      const body = { ...before, spec: { ...before.spec, advance: 'manual' }, status: { ...observing, phase: 'Complete' } };
      const after = (await api.replaceClusterCustomObject({ ...ref, name, body })) as Stored;
      expect(after.spec.advance).toBe('manual');
      expect(after.status).toEqual(observing);
      expect(after.metadata.generation).toBe(before.metadata.generation + 1);
    });

    it('validates status against the schema', async () => {
      const before = await get(name);
      const { code, status } = await rejection(() =>
        api.replaceClusterCustomObjectStatus({ ...ref, name, body: { ...before, status: { ...observing, phase: 'Sleeping' } } }),
      );
      expect(code).toBe(422);
      expect(status.message).toContain('status.phase: Unsupported value: "Sleeping"');
    });

    it('rejects a stale write with a conflict (optimistic concurrency)', async () => {
      const before = await get(name);
      await api.replaceClusterCustomObjectStatus({ ...ref, name, body: { ...before, status: { ...observing, phase: 'Blocked' } } });
      const { code } = await rejection(() => api.replaceClusterCustomObjectStatus({ ...ref, name, body: { ...before, status: { ...observing, phase: 'Paused' } } }));
      expect(code).toBe(409);
      expect((await get(name)).status?.['phase']).toBe('Blocked');
    });
  });
});
