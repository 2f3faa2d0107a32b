/**
 * The level-triggered reconcile loop (style.md 2.5): on a timer, and soon after new evidence
 * ("nudge"), it reads every contract's current state and evidence, runs the pure
 * assessment and state machine, and applies the effects in a crash-safe order: the history
 * entry is appended and fsync'ed first, then the in-memory state, the actuator and the
 * ContractSet pushed to agents follow. Decisions never react to a single message.
 */
import type { Problem } from '../../core/common/index.js';
import { changeProblems, type Contract } from '../../core/contract/index.js';
import type { ContractSet } from '../../core/summary/index.js';
import type { EvidenceStore } from '../ingest/evidence-store.js';
import { baselineFor, baselineIdentity } from '../baseline/baseline-source.js';
import {
  actuationProblems,
  appliedStageOf,
  applyAction,
  assessStage,
  blockedByActuator,
  enrollmentProblems,
  snapshotOf,
  type EvidenceSnapshot,
  type AppliedStage,
  type ContractDecision,
  type ContractView,
  type ContractViews,
  EMPTY_EVIDENCE,
  initialRamp,
  reconcileStep,
  type OperatorAction,
  type RampState,
  type Step,
} from '../../core/rollout/index.js';
import { appliedKeyOf } from './applied-key.js';
import { contractSetContent } from './contract-set.js';
import { describeDecision } from './decision.js';
import { historyEntryOf } from './history-entry.js';
import { observeContract } from './observe.js';
import type { ActionResult, ReconcilerEvents, ReconcilerOptions } from './ports.js';

/** How soon after new evidence the loop runs (it coalesces a burst of reports into one pass). */
export const NUDGE_DELAY_MS = 100;

export class Reconciler implements ContractViews {
  private readonly o: ReconcilerOptions;
  private readonly states = new Map<string, RampState>();
  private readonly lastValid = new Map<string, Contract>();
  private readonly appliedKeys = new Map<string, string>();
  private views = new Map<string, ContractView>();
  /** Contracts forgotten since the last pass (see forget). */
  private readonly forgotten = new Set<string>();
  private generation: number;
  private contractSet: ContractSet;
  private contractSetKey = '';
  private nudgeTimer: NodeJS.Timeout | null = null;
  private readonly listeners: ReconcilerEvents[] = [];
  private passes = 0;
  private started = false;

  constructor(options: ReconcilerOptions) {
    this.o = options;
    this.generation = options.initialGeneration;
    this.contractSet = { generation: this.generation, contracts: [] };
    for (const name of options.journal.contracts()) {
      const s = options.journal.rampState(name);
      if (s) this.states.set(name, s);
    }
  }

  /** Re-reads every contract's ramp state from the journal (Kubernetes mode seeds it from status on winning the Lease). */
  reloadStates(): void {
    // A new leader's sets must outrank its predecessor's (agents ignore an older generation):
    // they started at that replica's start time, so restart from now.
    this.generation = Math.max(this.generation, this.o.clock.nowMs());
    this.contractSetKey = '';
    this.states.clear();
    for (const name of this.o.journal.contracts()) {
      const s = this.o.journal.rampState(name);
      if (s) this.states.set(name, s);
    }
  }

  /**
   * Forgets a contract's ramp: its state, evidence and what was applied, so a document of the
   * same name starts as a new contract (Kubernetes mode: the object was deleted, or replaced
   * by one with another uid). Its history stays in the journal.
   */
  forget(name: string): void {
    // Its view is hidden until the next pass computes one: a status write meanwhile must find
    // nothing to say about the new object, not the predecessor's stage and phase. (The view
    // itself stays: the pass tells a document that is gone by it, and removes what it applied.)
    this.forgotten.add(name);
    this.states.delete(name);
    this.lastValid.delete(name);
    this.appliedKeys.delete(name);
    this.o.store.forgetContract(name);
    this.o.sufficiency?.forget(name);
  }

  subscribe(listener: ReconcilerEvents): void {
    this.listeners.push(listener);
  }

  /** Runs a first pass at once, then on the interval and on nudges, until the signal aborts. */
  start(signal: AbortSignal): void {
    this.started = true;
    this.reconcileSafely();
    const timer = setInterval(() => {
      this.reconcileSafely();
    }, this.o.intervalMs);
    this.o.source.onChange(() => {
      this.nudge();
    });
    this.o.actuator.onChange?.(() => {
      this.nudge();
    });
    this.o.baseline?.onChange(() => {
      this.nudge();
    });
    signal.addEventListener(
      'abort',
      () => {
        this.started = false;
        clearInterval(timer);
        if (this.nudgeTimer) clearTimeout(this.nudgeTimer);
        this.nudgeTimer = null;
      },
      { once: true },
    );
  }

  /**
   * Asks for a pass soon (new evidence, a changed contract). Coalesces. Only once started: a
   * standby replica (Kubernetes mode) ingests every report too, and must not reconcile on its
   * own state; it starts when it wins the Lease.
   */
  nudge(): void {
    if (!this.started || this.nudgeTimer) return;
    this.nudgeTimer = setTimeout(() => {
      this.nudgeTimer = null;
      this.reconcileSafely();
    }, NUDGE_DELAY_MS);
  }

  /**
   * A pass that cannot take the process down. If the history cannot be written (a full
   * disk), the transition is not applied either: the ramp holds where it is, and the next
   * pass tries again.
   */
  private reconcileSafely(): void {
    try {
      this.reconcileAll();
    } catch (e) {
      this.o.metrics.reconcileErrors.inc();
      this.o.log.error('reconcile failed', { err: e instanceof Error ? e : { message: String(e) } });
    }
  }

  currentContractSet(): ContractSet {
    return this.contractSet;
  }

  list(): ContractView[] {
    return [...this.views.values()];
  }

  get(name: string): ContractView | null {
    return this.forgotten.has(name) ? null : (this.views.get(name) ?? null);
  }

  reconcilePasses(): number {
    return this.passes;
  }

  /** One pass over every contract. */
  reconcileAll(): void {
    const started = performance.now();
    const nowMs = this.o.clock.nowMs();
    const entries = this.o.source.snapshot();
    const next = new Map<string, ContractView>();
    let invalid = 0;
    for (const entry of entries) {
      if (entry.problems.length > 0) invalid++;
      if (entry.contract) this.lastValid.set(entry.name, entry.contract);
      const contract = entry.contract ?? this.lastValid.get(entry.name) ?? null;
      if (!contract) {
        next.set(entry.name, {
          name: entry.name,
          origin: entry.origin,
          contract: null,
          problems: entry.problems,
          state: this.states.get(entry.name) ?? null,
          assessment: null,
          evidence: EMPTY_EVIDENCE,
          decision: { kind: 'hold', reasons: [`contract invalid: ${entry.problems.length} problem(s); nothing is enforced`], atMs: nowMs },
          applied: null,
        });
        continue;
      }
      next.set(entry.name, this.reconcileIsolated(entry.name, entry.origin, contract, entry.problems, nowMs));
    }
    for (const name of this.views.keys()) {
      if (!next.has(name)) {
        // The document is gone: stop enforcing and gathering. Its history stays in the log.
        this.o.store.forgetContract(name);
        this.o.sufficiency?.forget(name);
        this.o.metrics.forgetContract(name);
        this.lastValid.delete(name);
        this.appliedKeys.delete(name);
        this.isolated(name, 'remove', () => {
          this.o.actuator.remove(name).catch((e: unknown) => {
            this.o.metrics.actuatorErrors.inc();
            this.o.log.error('actuator failed', { contract: name, err: e });
          });
        });
      }
    }
    this.views = next;
    this.forgotten.clear();
    this.o.metrics.contractsInvalid.set(invalid);
    this.publishContractSet();
    this.passes++;
    this.o.metrics.reconcileDuration.observe((performance.now() - started) / 1000);
  }

  private coverageOptions(contract: Contract, nowMs: number): Parameters<EvidenceStore['evidence']>[3] {
    return {
      nowMs,
      maxReportAgeMs: contract.spec.gates.maxReportAgeMs,
      configuredNodes: this.o.configuredNodes,
      expectedNodeTtlMs: this.o.expectedNodeTtlMs,
    };
  }

  /**
   * One contract's pass, isolated: whatever goes wrong with it (its history entry cannot be
   * written, the actuator throws, a bug) fails only that contract. Nothing of the failed step
   * is applied (commit() writes the history before it changes any state), so the contract
   * holds where it was, keeps enforcing what it enforced and stays in the ContractSet at its
   * stage; its view says why. The others go on; the next pass retries.
   */
  private reconcileIsolated(name: string, origin: string, contract: Contract, problems: readonly Problem[], nowMs: number): ContractView {
    this.o.metrics.knowContract(name);
    try {
      return this.reconcileOne(name, origin, contract, problems, nowMs);
    } catch (e) {
      this.o.metrics.reconcileErrors.inc();
      this.o.log.error('reconcile failed', { contract: name, err: e });
      const message = e instanceof Error ? e.message : String(e);
      const before = this.views.get(name);
      return {
        name,
        origin,
        contract,
        // Shown as `reconcile: failed: …` beside the document's own problems (API, status, dashboard).
        problems: [...problems, { path: 'reconcile', message: `failed: ${message}` }],
        state: this.states.get(name) ?? null,
        assessment: before?.assessment ?? null,
        evidence: before?.evidence ?? EMPTY_EVIDENCE,
        decision: { kind: 'hold', reasons: [`reconcile failed: ${message}; holding at the current stage, retrying on the next pass`], atMs: nowMs },
        applied: before?.applied ?? null,
      };
    }
  }

  /** Runs an effect for one contract; a throw is logged and counted, never propagated. */
  private isolated(contract: string, what: string, effect: () => void): void {
    try {
      effect();
    } catch (e) {
      this.o.metrics.reconcileErrors.inc();
      this.o.log.error('reconcile failed', { contract, step: what, err: e });
    }
  }

  private reconcileOne(name: string, origin: string, contract: Contract, problems: readonly Problem[], nowMs: number): ContractView {
    let state = this.states.get(name) ?? null;
    if (state === null || state.policiesHash !== contract.policiesHash) {
      // A new contract, or what it changes (policies, replaces, removes): a new revision, back to monitor.
      const revision = (state?.revision ?? 0) + 1;
      const fresh = initialRamp(name, revision, contract.policiesHash, nowMs);
      const what = contract.spec.replaces.length + contract.spec.removes.length > 0 ? 'spec.policies, replaces or removes' : 'spec.policies';
      const reasons = state === null ? [`contract ${name} registered`] : [`${what} changed: revision ${revision} restarts at ${contract.spec.stages[0]?.name ?? 'monitor'}`];
      state = this.commit(contract, state, { next: fresh, transition: { kind: 'revision', decision: 'hold', reasons, actor: 'auto' } }, null, nowMs);
    }
    if (state.stageIndex >= contract.spec.stages.length) {
      // The stage list got shorter under a running ramp: the last stage is the closest.
      state = { ...state, stageIndex: contract.spec.stages.length - 1 };
      this.states.set(name, state);
    }
    this.o.store.beginStage(name, state.revision, state.stageIndex, state.stageEnteredAtMs);
    const stageBefore = state.stageIndex;
    const revisionBefore = state.revision;
    // While the current document is invalid the last valid one keeps its stage, but never advances.
    const frozen = problems.length > 0;
    const evidence = this.o.store.evidence(name, state.revision, state.stageIndex, this.coverageOptions(contract, nowMs));
    const actuation = actuationProblems(this.changeProblems(contract, state), this.o.actuator.problems?.(name) ?? [], enrollmentProblems(contract, state, evidence, this.o.actuator.enrollLabel?.(name)));
    const sufficiency = this.o.sufficiency?.assess({
      contract,
      revision: state.revision,
      stageIndex: state.stageIndex,
      stageEnteredAtMs: state.stageEnteredAtMs,
      revisionStartedAtMs: this.revisionStart(name, state),
      nowMs,
    });
    const assessment = blockedByActuator(
      assessStage({ contract, stageIndex: state.stageIndex, stageEnteredAtMs: state.stageEnteredAtMs, nowMs, evidence, sufficiency: sufficiency?.gates ?? [] }),
      actuation,
    );
    let decision: ContractDecision;
    if (frozen) {
      decision = { kind: 'hold', reasons: [`contract document invalid (${problems.length} problem(s)): holding revision ${state.revision} at its current stage`], atMs: nowMs };
    } else {
      const step = reconcileStep(state, contract, assessment, nowMs);
      if (step.transition) state = this.commit(contract, state, step, snapshotOf(evidence, assessment), nowMs);
      decision = describeDecision(state, assessment, step.transition, nowMs);
    }
    const applied = appliedStageOf(contract, state.revision, state.stageIndex, state.phase === 'Complete');
    this.ensureApplied(applied);
    observeContract(this.o.metrics, name, state, evidence, decision, this.o.store.takeArrivals(name), nowMs);
    // The state may have moved: show the evidence of the stage it is in now.
    const moved = state.stageIndex !== stageBefore || state.revision !== revisionBefore;
    const shown = moved ? this.o.store.evidence(name, state.revision, state.stageIndex, this.coverageOptions(contract, nowMs)) : evidence;
    const view = sufficiency === undefined ? {} : { sufficiency: { history: sufficiency.history, silentWorkloads: sufficiency.silentWorkloads, waitingFor: sufficiency.waitingFor } };
    return { name, origin, contract, problems: actuation.length > 0 ? [...problems, ...actuation] : problems, state, assessment, evidence: shown, decision, applied, ...view };
  }

  /**
   * When the state's revision started (the history window ends there): its `revision` entry
   * in the journal, else (a journal seeded from a bounded status history) the stage's entry.
   */
  private revisionStart(name: string, state: RampState): number {
    const history = this.o.journal.history(name);
    for (let i = history.length - 1; i >= 0; i--) {
      const e = history[i]!;
      if (e.revision !== state.revision) break;
      if (e.kind === 'revision') return e.atMs;
    }
    return state.stageEnteredAtMs;
  }

  /**
   * What the contract changes, checked against the policies in force when they are known
   * (product.md "Changes to what is enforced"): a `replaces`/`removes` target that does not
   * exist, or a policy that collides with an existing one not named in `replaces`, holds the
   * contract. Not at Complete: the change is then made (a removed policy is gone, a replaced
   * one is the contract's text).
   */
  private changeProblems(contract: Contract, state: RampState): Problem[] {
    const snapshot = this.o.baseline?.snapshot();
    if (snapshot === undefined || snapshot.revision === '' || state.phase === 'Complete') return [];
    return changeProblems(contract.spec, baselineFor(snapshot, contract.name).map(baselineIdentity));
  }

  /**
   * Level-triggered actuation: whatever the stage is (after a transition, after a restart,
   * after an edit of the stage list), make the actuator hold exactly that.
   */
  private ensureApplied(stage: AppliedStage): void {
    const key = appliedKeyOf(stage);
    if (this.appliedKeys.get(stage.contract) === key) return;
    this.appliedKeys.set(stage.contract, key);
    const failed = (e: unknown): void => {
      this.appliedKeys.delete(stage.contract);
      this.o.metrics.actuatorErrors.inc();
      this.o.log.error('actuator failed', { contract: stage.contract, err: e });
    };
    try {
      this.o.actuator.apply(stage).catch(failed);
    } catch (e) {
      // An actuator that throws instead of rejecting: the same failure, retried next pass.
      failed(e);
    }
  }

  /** Durably records a transition, then applies it. Returns the new state. */
  private commit(contract: Contract, prev: RampState | null, step: Step, evidence: EvidenceSnapshot | null, nowMs: number): RampState {
    const t = step.transition!;
    const next = step.next;
    const entry = this.o.journal.append(historyEntryOf(contract, prev, step, evidence, nowMs));
    this.states.set(contract.name, next);
    this.o.metrics.transitions.inc({ contract: contract.name, decision: t.decision });
    this.o.log.info('ramp transition', {
      contract: contract.name,
      revision: next.revision,
      from: entry.from ? `${entry.from.stageName}/${entry.from.phase}` : null,
      to: `${entry.to.stageName}/${entry.to.phase}`,
      decision: t.decision,
      actor: t.actor,
      reasons: t.reasons,
    });
    if (!prev || prev.stageIndex !== next.stageIndex || prev.revision !== next.revision) {
      this.o.store.beginStage(contract.name, next.revision, next.stageIndex, next.stageEnteredAtMs);
    }
    for (const l of this.listeners) this.isolated(contract.name, 'transition listener', () => l.transition(entry));
    return next;
  }

  /** An operator's action (approve, pause, resume, rollback) through the API. */
  act(name: string, action: OperatorAction, actor: string, reason: string | null): ActionResult {
    const view = this.views.get(name);
    const state = this.states.get(name);
    const contract = view?.contract;
    if (!view || !contract || !state) return { ok: false, status: 404, message: `no active contract ${JSON.stringify(name)}` };
    const nowMs = this.o.clock.nowMs();
    const outcome = applyAction(state, contract, action, actor, nowMs, reason);
    if (!outcome.ok) return { ok: false, status: 409, message: outcome.conflict };
    const evidence = this.o.store.evidence(name, state.revision, state.stageIndex, this.coverageOptions(contract, nowMs));
    this.commit(contract, state, outcome.step, snapshotOf(evidence, view.assessment), nowMs);
    // Show the effect at once, and push the new stage to agents.
    this.reconcileAll();
    const entry = this.o.journal.history(name).at(-1)!;
    return { ok: true, entry };
  }

  private publishContractSet(): void {
    const { contracts, baseline, key } = contractSetContent(this.views.values(), (name) => this.o.actuator.enrollLabel?.(name), this.o.baseline?.snapshot());
    if (key === this.contractSetKey) return;
    this.contractSetKey = key;
    this.generation++;
    this.contractSet = { generation: this.generation, contracts, ...(baseline === undefined ? {} : { baseline }) };
    this.o.metrics.contractSetPushes.inc();
    for (const l of this.listeners) this.isolated('*', 'contract set listener', () => l.contractSet(this.contractSet));
  }
}
