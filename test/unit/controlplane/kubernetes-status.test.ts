/**
 * Kubernetes mode's status mapping (controlplane/contracts/status-json.ts): the status a
 * leader writes carries everything a successor needs — seeding a fresh journal from it and
 * reconciling gives the same state and the same history, so the successor writes nothing new
 * and repeats no transition; conditions keep their lastTransitionTime while unchanged.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { entriesFromStatus, statusKey, statusOf, type ContractStatus } from '../../../controlplane/contracts/status-json.js';
import { Reconciler } from '../../../controlplane/rollout/reconciler.js';
import { Journal } from '../../../controlplane/state/journal.js';
import { stageOfStatus } from '../../../controlplane/kubernetes/standby-evidence.js';
import { FakeClock } from '../../support/fake-clock.js';
import { aReconciler, ListSource } from '../../support/reconciler-harness.js';
import { aContract } from '../../support/window-builders.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const contract = aContract({ advance: 'manual' });
const source = new ListSource([{ name: contract.name, origin: 'rampcontract/x', contract, problems: [] }]);

function replica(clock: FakeClock, seed: ContractStatus | null = null): { r: Reconciler; journal: Journal } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-kstatus-'));
  dirs.push(dir);
  const { r, journal } = aReconciler(dir, {
    source,
    clock,
    seed: (journal) => {
      if (seed) for (const e of entriesFromStatus(contract.name, seed, contract)) journal.append(e);
    },
  });
  r.reloadStates();
  return { r, journal };
}

function status(t: { r: Reconciler; journal: Journal }, clock: FakeClock, previous: ContractStatus | null = null): ContractStatus {
  const view = t.r.get(contract.name)!;
  return statusOf({ view, history: t.journal.history(contract.name), generation: 3, decisionAtMs: view.decision.atMs, apply: null, previous, nowMs: clock.nowMs() });
}

describe('Kubernetes status', () => {
  it('round-trips: a successor seeded from the status continues with the same state and history', () => {
    const clock = new FakeClock();
    const a = replica(clock);
    a.r.reconcileAll();
    clock.advance(1000);
    expect(a.r.act(contract.name, 'pause', 'alice', 'maintenance').ok).toBe(true);
    clock.advance(1000);
    a.r.reconcileAll();
    const written = status(a, clock);
    expect(written).toMatchObject({ revisionNumber: 1, phase: 'Paused', pausedFrom: 'Observing', stage: { index: 0, name: 'monitor' }, observedGeneration: 3 });
    expect(written.history!.map((h) => [h.kind, h.actor, h.phase])).toEqual([
      ['revision', 'auto', 'Observing'],
      ['pause', 'alice', 'Paused'],
    ]);

    // A new leader: fresh journal seeded from what was written (as JSON, as the API stores it).
    const b = replica(clock, JSON.parse(JSON.stringify(written)) as ContractStatus);
    b.r.reconcileAll();
    const again = status(b, clock, written);
    expect(b.journal.history(contract.name)).toHaveLength(2); // nothing re-registered
    expect(again.history).toEqual(written.history);
    expect(statusKey(again, false)).toBe(statusKey(written, false));
    // And it carries on from there: resume is allowed only because the state is Paused.
    expect(b.r.act(contract.name, 'resume', 'bob', null)).toMatchObject({ ok: true, entry: { kind: 'resume', from: { phase: 'Paused' }, to: { phase: 'Observing' } } });
  });

  it('reads nothing from an empty or malformed status', () => {
    expect(entriesFromStatus('x', undefined, contract)).toEqual([]);
    expect(entriesFromStatus('x', {}, contract)).toEqual([]);
    expect(entriesFromStatus('x', { phase: 'Nope', stage: { index: 0 }, revision: 'h', revisionNumber: 1 }, contract)).toEqual([]);
    expect(entriesFromStatus('x', { phase: 'Observing', stage: { index: 0, name: 'monitor' }, revision: 'h', revisionNumber: 0 }, contract)).toEqual([]);
  });

  it('keeps a condition’s lastTransitionTime while its status holds, and moves it when it changes', () => {
    const clock = new FakeClock();
    const t = replica(clock);
    t.r.reconcileAll();
    const first = status(t, clock);
    const progressing = (s: ContractStatus) => s.conditions!.find((c) => c.type === 'Progressing')!;
    expect(progressing(first)).toMatchObject({ status: 'True', reason: 'Observing' });
    clock.advance(60_000);
    t.r.reconcileAll();
    const same = status(t, clock, first);
    expect(progressing(same).lastTransitionTime).toBe(progressing(first).lastTransitionTime);
    t.r.act(contract.name, 'pause', 'alice', null);
    clock.advance(1000);
    const paused = status(t, clock, same);
    expect(progressing(paused)).toMatchObject({ status: 'False', reason: 'Paused' });
    expect(progressing(paused).lastTransitionTime).toBe(new Date(clock.nowMs()).toISOString());
    expect(paused.conditions!.find((c) => c.type === 'Applied')).toMatchObject({ status: 'Unknown', reason: 'Applying' });
  });

  it('sets exactly one of the kstatus conditions Ready, Reconciling, Stalled, with observedGeneration', () => {
    const clock = new FakeClock();
    const t = replica(clock);
    t.r.reconcileAll();
    const kstatus = (s: ContractStatus) => Object.fromEntries(s.conditions!.filter((c) => ['Ready', 'Reconciling', 'Stalled'].includes(c.type)).map((c) => [c.type, `${c.status}/${c.reason}`]));
    const observing = status(t, clock);
    expect(kstatus(observing)).toEqual({ Ready: 'False/Observing', Reconciling: 'True/Observing', Stalled: 'False/Observing' });
    expect(observing.conditions!.every((c) => c.observedGeneration === 3)).toBe(true);
    t.r.act(contract.name, 'pause', 'alice', null);
    // A paused ramp is not finished: kstatus must not call it Current.
    expect(kstatus(status(t, clock, observing))).toEqual({ Ready: 'False/Paused', Reconciling: 'True/Paused', Stalled: 'False/Paused' });
  });
});

describe('Kubernetes status: enough evidence', () => {
  it('carries the history evidence and the CronJob waits beside the live counts, and a standby reads the stage to open from it', () => {
    const clock = new FakeClock();
    const a = replica(clock);
    a.r.reconcileAll();
    const view = a.r.get(contract.name)!;
    const withSufficiency = {
      ...view,
      sufficiency: {
        history: { fromMs: clock.nowMs() - 7 * 86_400_000, toMs: clock.nowMs(), edges: 40, connections: 9000, wouldDeny: 3, wouldDenyEdges: 1, indeterminateEdges: 0, top: [{ from: 'payments/invoice-job', to: 'payments/ledger', port: 5432, protocol: 'TCP', count: 3, lastSeenMs: clock.nowMs() - 86_400_000, reason: 'r' }] },
        silentWorkloads: [],
        waitingFor: ['waiting for CronJob payments/invoice-job (next run 2026-01-01T02:00:00Z)'],
      },
    };
    const s = statusOf({ view: withSufficiency, history: a.journal.history(contract.name), generation: 1, decisionAtMs: view.decision.atMs, apply: null, previous: null, nowMs: clock.nowMs() });
    expect(s.evidence?.history).toMatchObject({ wouldDeny: 3, edges: 40, topEdge: 'payments/invoice-job → payments/ledger:5432/TCP (3, last seen 2025-12-31T00:00:00Z)' });
    expect(s.evidence?.waitingFor).toEqual(['waiting for CronJob payments/invoice-job (next run 2026-01-01T02:00:00Z)']);
    expect(s.evidence?.silentWorkloads).toBeUndefined();
    expect(stageOfStatus(s)).toEqual({ revision: 1, stageIndex: 0, sinceMs: view.state!.stageEnteredAtMs });
    expect(stageOfStatus({ stage: { index: 0 } })).toBeNull();
  });
});
