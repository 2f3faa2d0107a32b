import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ContractEntry } from '../../../controlplane/contracts/contract-source.js';
import { FakeClock } from '../../support/fake-clock.js';
import { aReconciler, ListSource } from '../../support/reconciler-harness.js';
import { aContract, aContractWindow, aSummary, anEdge, type ContractDocOptions } from '../../support/window-builders.js';

class FakeSource extends ListSource {
  set(o: ContractDocOptions, problems: ContractEntry['problems'] = []): void {
    const c = aContract(o);
    this.entries = [{ name: c.name, origin: 'test.yaml', contract: problems.length > 0 ? null : c, problems }];
  }
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function setup(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-rec-')), clock = new FakeClock(), source = new FakeSource()) {
  dirs.push(dir);
  const { journal, store, actuator, r, sets } = aReconciler(dir, { source, clock, initialGeneration: 100 });
  return { dir, clock, source, journal, store, actuator, r, sets };
}

/** The default contract, advanced to canary on one good report per node: the assertion shows that it got there. */
function atCanary(): ReturnType<typeof setup> {
  const t = setup();
  t.source.set({});
  t.r.reconcileAll();
  report(t);
  t.clock.advance(2000);
  t.r.reconcileAll();
  expect(t.r.get('shop-lockdown')?.state?.stageIndex).toBe(1);
  return t;
}

let seq = 0;
/** Every node reports one good window for the contract's current stage. */
function report(t: ReturnType<typeof setup>, o: { nodes?: string[]; deny?: number; actualDenies?: number; lost?: number } = {}): void {
  const view = t.r.get('shop-lockdown')!;
  // A window ends after the stage began (a window ending at the stage's start is not counted).
  t.clock.advance(1000);
  for (const node of o.nodes ?? ['node-a', 'node-b']) {
    t.store.ingest(
      aSummary({
        node,
        seq: ++seq,
        windowEndMs: t.clock.nowMs(),
        lost: o.lost ? { HUBBLE_RING_BUFFER: o.lost } : {},
        contracts: [
          aContractWindow({
            revision: view.state!.revision,
            stageIndex: view.state!.stageIndex,
            allow: 100,
            deny: o.deny ?? 0,
            actualDenies: o.actualDenies ?? 0,
            wouldDenyEdges: o.deny ? [anEdge({ count: o.deny })] : [],
          }),
        ],
      }),
      t.clock.nowMs(),
    );
  }
}

describe('Reconciler', () => {
  it('ramps monitor → canary → half → full → Complete on passing evidence, one history entry per transition', () => {
    const t = setup();
    t.source.set({ minDuration: '5s' });
    t.r.reconcileAll();
    expect(t.r.get('shop-lockdown')?.state).toMatchObject({ revision: 1, stageIndex: 0, phase: 'Observing' });
    for (const stage of ['canary', 'half', 'full']) {
      report(t);
      t.clock.advance(1000);
      t.r.reconcileAll();
      // minDuration not elapsed: holds, and says so
      expect(t.r.get('shop-lockdown')?.decision.reasons.join()).toMatch(/minDuration 5s/);
      t.clock.advance(2000);
      report(t);
      t.r.reconcileAll();
      expect(t.r.get('shop-lockdown')?.state?.stageIndex).toBe(['canary', 'half', 'full'].indexOf(stage) + 1);
      expect(t.actuator.applied('shop-lockdown')?.stageName).toBe(stage);
    }
    expect(t.actuator.applied('shop-lockdown')).toMatchObject({ mode: 'percent', percent: 100 });
    report(t);
    t.clock.advance(3000);
    report(t);
    t.r.reconcileAll();
    expect(t.r.get('shop-lockdown')?.state?.phase).toBe('Complete');
    const h = t.journal.history('shop-lockdown');
    expect(h.map((e) => `${e.to.stageName}/${e.to.phase}`)).toEqual(['monitor/Observing', 'canary/Observing', 'half/Observing', 'full/Observing', 'full/Complete']);
    expect(h[1]?.evidence).toMatchObject({ flows: 400, deny: 0, nodes: { expected: 2, reporting: 2 } });
    // each stage change pushed a new ContractSet generation with the new enforcement
    expect(t.sets.map((s) => s.contracts[0]?.stageName)).toEqual(['monitor', 'canary', 'half', 'full']);
    expect(t.sets.map((s) => s.generation)).toEqual([101, 102, 103, 104]);
  });

  it('a would-deny edge blocks, naming the edge', () => {
    const t = setup();
    t.source.set({});
    t.r.reconcileAll();
    report(t, { deny: 4 });
    t.clock.advance(2000);
    t.r.reconcileAll();
    const v = t.r.get('shop-lockdown')!;
    expect(v.state?.phase).toBe('Blocked');
    expect(v.decision.reasons[0]).toMatch(/would-deny 8 > 0; top edge shop\/frontend → payments\/db:5432\/TCP \(8\)/);
  });

  it('a silent node holds the ramp with the reason, lost events make it inconclusive', () => {
    const t = setup();
    t.source.set({ maxReportAge: '3s' });
    t.r.reconcileAll();
    report(t);
    t.clock.advance(3000);
    report(t, { nodes: ['node-a'] });
    t.r.reconcileAll();
    let v = t.r.get('shop-lockdown')!;
    expect(v.state?.stageIndex).toBe(0);
    expect(v.decision.reasons.join('\n')).toMatch(/node coverage 1\/2 \(50%\) < 100%; not reporting: node-b \(silent 4s\)/);
    report(t, { nodes: ['node-b'], lost: 500 });
    t.r.reconcileAll();
    v = t.r.get('shop-lockdown')!;
    expect(v.state?.stageIndex).toBe(0);
    expect(v.assessment?.gates.find((g) => g.gate === 'maxLostEventsRatio')?.phase).toBe('inconclusive');
  });

  it('rolls back on actual denies and waits for resume', () => {
    const t = atCanary();
    report(t, { actualDenies: 6 });
    t.r.reconcileAll();
    const v = t.r.get('shop-lockdown')!;
    expect(v.state).toMatchObject({ stageIndex: 0, phase: 'RolledBack' });
    expect(t.journal.history('shop-lockdown').at(-1)).toMatchObject({ decision: 'rollback', actor: 'auto', reasons: [expect.stringMatching(/actual denies 12\/min > 10\/min/)] });
    expect(t.r.act('shop-lockdown', 'resume', 'alice', null)).toMatchObject({ ok: true, entry: { actor: 'alice', to: { phase: 'Observing' } } });
  });

  it('resumes at its stage after a restart, and a policy change is a new revision at monitor', () => {
    const t = atCanary();
    t.journal.close();

    const again = setup(t.dir, t.clock, t.source);
    again.r.reconcileAll();
    expect(again.r.get('shop-lockdown')?.state).toMatchObject({ revision: 1, stageIndex: 1, phase: 'Observing' });
    expect(again.journal.history('shop-lockdown')).toHaveLength(2);
    expect(again.actuator.applied('shop-lockdown')?.stageName).toBe('canary');

    again.source.set({ allowPorts: [5432, 6379] });
    again.r.reconcileAll();
    expect(again.r.get('shop-lockdown')?.state).toMatchObject({ revision: 2, stageIndex: 0, phase: 'Observing' });
    expect(again.journal.history('shop-lockdown').at(-1)?.reasons[0]).toMatch(/spec.policies changed: revision 2 restarts at monitor/);
    again.journal.close();
  });

  it('an invalid document holds the last valid revision; operator actions are checked', () => {
    const t = setup();
    t.source.set({});
    t.r.reconcileAll();
    t.source.entries = [{ name: 'shop-lockdown', origin: 'test.yaml', contract: null, problems: [{ path: 'spec.gates.minFlows', message: 'must be at least 0' }] }];
    report(t);
    t.clock.advance(5000);
    t.r.reconcileAll();
    const v = t.r.get('shop-lockdown')!;
    expect(v.state?.stageIndex).toBe(0);
    expect(v.problems).toHaveLength(1);
    expect(v.decision.reasons[0]).toMatch(/contract document invalid/);
    expect(t.r.act('shop-lockdown', 'approve', 'bob', null)).toMatchObject({ ok: false, status: 409 });
    expect(t.r.act('nope', 'pause', 'bob', null)).toMatchObject({ ok: false, status: 404 });
    expect(t.r.act('shop-lockdown', 'pause', 'bob', 'freeze')).toMatchObject({ ok: true, entry: { reasons: ['freeze'], to: { phase: 'Paused' } } });
  });

  it('a history that cannot be written applies nothing, never throws out of the loop, and says why', () => {
    const t = setup();
    t.source.set({});
    t.journal.close(); // every append now fails, like a full disk
    const controller = new AbortController();
    expect(() => {
      t.r.start(controller.signal);
    }).not.toThrow();
    controller.abort();
    // Not registered, not enforced, not pushed; but listed, with the reason, instead of vanishing.
    const v = t.r.get('shop-lockdown');
    expect(v).not.toBeNull();
    expect(v!.state).toBeNull();
    expect(v!.decision.kind).toBe('hold');
    expect(v!.problems.map((p) => `${p.path}: ${p.message}`).join(' ')).toMatch(/reconcile: failed: /);
    expect(t.actuator.applied('shop-lockdown')).toBeNull();
    expect(t.sets.flatMap((set) => set.contracts)).toEqual([]);
  });

  it('one failing contract does not stop the others: it reports its problem and holds, they go on', () => {
    const clock = new FakeClock();
    const source = new FakeSource();
    const t = setup(undefined, clock, source);
    const good = aContract({ name: 'shop-lockdown' });
    const bad = aContract({ name: 'payments-lockdown' });
    const other = aContract({ name: 'web-lockdown' });
    source.entries = [bad, good, other].map((c) => ({ name: c.name, origin: `${c.name}.yaml`, contract: c, problems: [] }));
    t.r.reconcileAll();
    for (const c of [bad, good, other]) expect(t.r.get(c.name)?.state?.stageIndex).toBe(0);
    const appliedBad = t.actuator.applied('payments-lockdown');
    expect(appliedBad).not.toBeNull();

    // From now on every history append for payments-lockdown fails (its entry cannot be written).
    const append = t.journal.append.bind(t.journal);
    t.journal.append = (entry) => {
      if (entry.contract === 'payments-lockdown') throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
      return append(entry);
    };
    for (let i = 0; i < 3; i++) {
      t.clock.advance(1000);
      for (const node of ['node-a', 'node-b']) {
        t.store.ingest(
          aSummary({
            node,
            seq: ++seq,
            windowEndMs: t.clock.nowMs(),
            contracts: [bad, good, other].map((c) => aContractWindow({ contract: c.name, revision: 1, stageIndex: 0, allow: 100 })),
          }),
          t.clock.nowMs(),
        );
      }
    }
    t.clock.advance(1000);
    t.r.reconcileAll();

    // The good ones advanced past monitor and were pushed and applied.
    for (const name of ['shop-lockdown', 'web-lockdown']) {
      expect(t.r.get(name)?.state?.stageIndex).toBe(1);
      expect(t.actuator.applied(name)).toMatchObject({ contract: name, stageIndex: 1 });
      expect(t.sets.at(-1)?.contracts.find((c) => c.name === name)?.stageIndex).toBe(1);
    }
    // The bad one is still listed, holds at its stage, still enforces what it enforced, and says why.
    const v = t.r.get('payments-lockdown')!;
    expect(v.state?.stageIndex).toBe(0);
    expect(v.decision.kind).toBe('hold');
    expect(v.decision.reasons[0]).toMatch(/reconcile failed.*ENOSPC/);
    expect(v.problems.map((p) => `${p.path}: ${p.message}`).join(' ')).toMatch(/reconcile: failed: ENOSPC/);
    expect(t.actuator.applied('payments-lockdown')).toEqual(appliedBad);
    expect(t.sets.at(-1)?.contracts.find((c) => c.name === 'payments-lockdown')?.stageIndex).toBe(0);
    expect(t.journal.history('payments-lockdown')).toHaveLength(1);

    // Once the history can be written again it catches up on the next pass.
    t.journal.append = append;
    t.r.reconcileAll();
    expect(t.r.get('payments-lockdown')?.state?.stageIndex).toBe(1);
    expect(t.r.get('payments-lockdown')?.problems).toEqual([]);
  });

  it('a removed contract stops being enforced and pushed; its history stays', () => {
    const t = setup();
    t.source.set({});
    t.r.reconcileAll();
    expect(t.actuator.applied('shop-lockdown')).not.toBeNull();
    t.source.entries = [];
    t.r.reconcileAll();
    expect(t.r.list()).toEqual([]);
    expect(t.actuator.applied('shop-lockdown')).toBeNull();
    expect(t.sets.at(-1)?.contracts).toEqual([]);
    expect(t.journal.history('shop-lockdown')).toHaveLength(1);
  });
});
