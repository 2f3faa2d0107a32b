import { describe, expect, it } from 'vitest';
import { ContractStore } from '../../../../agent/monitor/contract-store.js';
import type { ActiveContract, ContractSet } from '../../../../core/summary/index.js';
import { fakeEngine } from '../support/fake-engine.js';

const contract = (name: string, policies: unknown[], revision = 1): ActiveContract => ({
  name,
  revision,
  stageIndex: 0,
  stageName: 'monitor',
  policies,
  enforcement: { mode: 'monitor' },
});
const set = (generation: number, ...contracts: ActiveContract[]): ContractSet => ({ generation, contracts });

describe('ContractStore', () => {
  it('starts with no set and installs a compiled one', async () => {
    const store = new ContractStore(fakeEngine);
    expect(store.active).toBe(null);
    const r = await store.offer(set(1, contract('a', [{ denyPorts: [5432] }])));
    expect(r.ok && r.value.kind).toBe('installed');
    expect(store.active?.generation).toBe(1);
    expect(store.active?.contracts[0]?.key).toEqual({ contract: 'a', revision: 1, stageIndex: 0, stageName: 'monitor' });
  });

  it('rejects a set that does not compile with every problem, keeping the previous set', async () => {
    const store = new ContractStore(fakeEngine);
    await store.offer(set(1, contract('a', [{ denyPorts: [1] }])));
    const before = store.active;
    const r = await store.offer(set(2, contract('a', [{ denyPorts: [1] }], 2), contract('b', [{}, { nope: true }])));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.map((p) => p.path)).toEqual(['contracts[1].policies[0].denyPorts (contract b)', 'contracts[1].policies[1].denyPorts (contract b)']);
    }
    expect(store.active).toBe(before);
  });

  it('ignores an older generation on the same stream, but takes any first set of a new stream', async () => {
    const store = new ContractStore(fakeEngine);
    await store.offer(set(5, contract('a', [{ denyPorts: [] }])));
    const stale = await store.offer(set(4, contract('b', [{ denyPorts: [] }])));
    expect(stale.ok && stale.value.kind).toBe('stale');
    expect(store.active?.generation).toBe(5);
    const fresh = await store.offer(set(1, contract('c', [{ denyPorts: [] }])), { fresh: true });
    expect(fresh.ok && fresh.value.kind).toBe('installed');
    expect(store.active?.contracts[0]?.name).toBe('c');
  });

  it('lets the newest offer win when two overlap', async () => {
    const store = new ContractStore(fakeEngine);
    const first = store.offer(set(1, contract('a', [{ denyPorts: [] }]), contract('a2', [{ denyPorts: [] }])));
    const second = store.offer(set(2, contract('b', [{ denyPorts: [] }])));
    const [r1, r2] = await Promise.all([first, second]);
    expect(r1.ok && r1.value.kind).toBe('superseded');
    expect(r2.ok && r2.value.kind).toBe('installed');
    expect(store.active?.generation).toBe(2);
  });
});
