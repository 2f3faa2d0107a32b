/**
 * The reconciler and a contract that changes policies in force (product.md "Changes to what is
 * enforced"): its replaces/removes reach the agents with the contract set, a change to them is
 * a new revision, and a target missing from the baseline (or a collision not named in
 * replaces) holds the contract with a problem naming it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BaselineSnapshot, BaselineSource } from '../../../controlplane/baseline/baseline-source.js';
import { parseContract, type Contract } from '../../../core/contract/index.js';
import { FakeClock } from '../../support/fake-clock.js';
import { aReconciler, ListSource } from '../../support/reconciler-harness.js';
import { contractDoc } from '../../support/window-builders.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function contract(changes: Record<string, unknown>): Contract {
  const doc = contractDoc();
  const r = parseContract({ ...doc, spec: { ...(doc['spec'] as object), ...changes } });
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

const policy = (namespace: string, name: string, owner: string | null = null) => ({
  ref: `${namespace}/${name}`,
  manifest: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace }, spec: { podSelector: {} } },
  owner,
});

function setup(initial: Contract, baseline: BaselineSnapshot) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-rec-changes-'));
  dirs.push(dir);
  const source = new ListSource([{ name: initial.name, origin: 'test.yaml', contract: initial, problems: [] }]);
  let snapshot = baseline;
  const baselineSource: BaselineSource = { start: () => Promise.resolve(), snapshot: () => snapshot, onChange: () => undefined };
  const { r, sets, journal } = aReconciler(dir, { source, baseline: baselineSource, clock: new FakeClock() });
  return {
    r,
    sets,
    journal,
    setContract: (c: Contract) => (source.entries = [{ name: c.name, origin: 'test.yaml', contract: c, problems: [] }]),
    setBaseline: (b: BaselineSnapshot) => (snapshot = b),
  };
}

describe('reconciler: contracts that replace and remove policies in force', () => {
  const replacing = contract({ replaces: [{ namespace: 'payments', name: 'db-ingress' }], removes: [{ namespace: 'payments', name: 'legacy' }] });
  const inForce: BaselineSnapshot = { revision: 'r1', policies: [policy('payments', 'db-ingress'), policy('payments', 'legacy'), policy('shop', 'other', 'another-contract')] };

  it('pushes replaces and removes to the agents with the contract', () => {
    const t = setup(replacing, inForce);
    t.r.reconcileAll();
    const c = t.sets.at(-1)!.contracts[0]!;
    expect(c.replaces).toEqual([{ kind: 'NetworkPolicy', namespace: 'payments', name: 'db-ingress' }]);
    expect(c.removes).toEqual([{ kind: 'NetworkPolicy', namespace: 'payments', name: 'legacy' }]);
    expect(t.r.get('shop-lockdown')!.problems).toEqual([]);
    expect(t.r.get('shop-lockdown')!.state!.phase).toBe('Observing');
  });

  it('holds the contract while a target does not exist, and lets it go once it does', () => {
    const t = setup(replacing, { revision: 'r0', policies: [policy('payments', 'db-ingress')] });
    t.r.reconcileAll();
    const view = t.r.get('shop-lockdown')!;
    expect(view.problems).toEqual([{ path: 'spec.removes[0]', message: 'payments/legacy does not exist: there is nothing in force to remove' }]);
    expect(view.decision.kind).toBe('hold');
    expect(view.decision.reasons[0]).toContain('payments/legacy does not exist');
    t.setBaseline(inForce);
    t.r.reconcileAll();
    expect(t.r.get('shop-lockdown')!.problems).toEqual([]);
  });

  it('a policy that collides with an existing one not named in replaces holds the contract', () => {
    const t = setup(contract({}), { revision: 'r1', policies: [policy('payments', 'db-ingress')] });
    t.r.reconcileAll();
    expect(t.r.get('shop-lockdown')!.problems.map((p) => p.path)).toEqual(['spec.policies[0]']);
    // The contract's own applied policy is not a collision: it is not in its baseline.
    const own = setup(contract({}), { revision: 'r1', policies: [policy('payments', 'db-ingress', 'shop-lockdown')] });
    own.r.reconcileAll();
    expect(own.r.get('shop-lockdown')!.problems).toEqual([]);
  });

  it('a change of replaces or removes alone is a new revision', () => {
    const t = setup(replacing, inForce);
    t.r.reconcileAll();
    expect(t.r.get('shop-lockdown')!.state!.revision).toBe(1);
    t.setContract(contract({ replaces: [{ namespace: 'payments', name: 'db-ingress' }] }));
    t.r.reconcileAll();
    expect(t.r.get('shop-lockdown')!.state!.revision).toBe(2);
    expect(t.journal.history('shop-lockdown').at(-1)!.reasons[0]).toBe('spec.policies, replaces or removes changed: revision 2 restarts at monitor');
  });
});
