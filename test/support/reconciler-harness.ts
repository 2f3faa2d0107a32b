/**
 * A Reconciler for unit tests: a fresh journal in the given folder, an in-memory evidence
 * store, the local actuator, a silent log and its own metrics registry, passes run by the
 * test (reconcileAll), and a contract source the test fills.
 */
import { Registry } from 'prom-client';
import type { BaselineSource } from '../../controlplane/baseline/baseline-source.js';
import type { ContractEntry, ContractSource } from '../../controlplane/contracts/contract-source.js';
import { LocalActuator } from '../../controlplane/actuation/local-actuator.js';
import { EvidenceStore } from '../../controlplane/ingest/evidence-store.js';
import { ControlplaneMetrics } from '../../controlplane/metrics/metrics.js';
import type { SufficiencyJudge } from '../../controlplane/rollout/ports.js';
import { Reconciler } from '../../controlplane/rollout/reconciler.js';
import { Journal } from '../../controlplane/state/journal.js';
import type { Clock } from '../../core/common/index.js';
import type { ContractSet } from '../../core/summary/index.js';
import { silentLogger } from '../../io/json-logger.js';

/** The contract documents the test sets; it runs the passes itself, so no change is announced. */
export class ListSource implements ContractSource {
  entries: ContractEntry[];
  constructor(entries: ContractEntry[] = []) {
    this.entries = entries;
  }
  start(): Promise<void> {
    return Promise.resolve();
  }
  snapshot(): readonly ContractEntry[] {
    return this.entries;
  }
  onChange(): void {
    // the test calls reconcileAll itself
  }
}

export interface ReconcilerHarnessOptions {
  readonly source: ContractSource;
  readonly clock: Clock;
  readonly baseline?: BaselineSource;
  readonly sufficiency?: SufficiencyJudge;
  readonly initialGeneration?: number;
  /** Writes history into the journal before the reconciler reads it (a replica seeded from status). */
  readonly seed?: (journal: Journal) => void;
}

export interface ReconcilerHarness {
  readonly r: Reconciler;
  readonly journal: Journal;
  readonly store: EvidenceStore;
  readonly actuator: LocalActuator;
  /** Every ContractSet the reconciler published, in order. */
  readonly sets: ContractSet[];
}

/** `dir`: the state folder (the caller makes and removes it). */
export function aReconciler(dir: string, o: ReconcilerHarnessOptions): ReconcilerHarness {
  const journal = new Journal(dir);
  journal.open();
  o.seed?.(journal);
  const store = new EvidenceStore();
  const actuator = new LocalActuator();
  const sets: ContractSet[] = [];
  const r = new Reconciler({
    source: o.source,
    ...(o.baseline === undefined ? {} : { baseline: o.baseline }),
    journal,
    store,
    actuator,
    clock: o.clock,
    log: silentLogger,
    metrics: new ControlplaneMetrics(new Registry(), { defaultMetrics: false }),
    intervalMs: 1000,
    configuredNodes: [],
    expectedNodeTtlMs: 600_000,
    initialGeneration: o.initialGeneration ?? 1,
    ...(o.sufficiency === undefined ? {} : { sufficiency: o.sufficiency }),
  });
  r.subscribe({ transition: () => undefined, contractSet: (s) => sets.push(s) });
  return { r, journal, store, actuator, sets };
}
