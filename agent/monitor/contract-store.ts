/**
 * The active contracts, as pushed by the control plane. A new set is compiled off the hot
 * path (one contract per event-loop turn, via setImmediate, so flow processing keeps going)
 * and swapped in with one reference assignment; the pipeline reads `active` per flow and so
 * always sees a whole set, old or new. A set with any contract that fails to compile is
 * rejected as a whole with every problem, and the previous set stays. A contract whose
 * policies and baseline are unchanged from the installed set (a stage change, another
 * contract's edit) keeps its compiled form: each (baseline, contract) pair is compiled once.
 */
import { childPath, err, ok, problem, type Problem, type Result } from '../../core/common/index.js';
import { baselineManifestsFor, contractWindowId, type ContractSet, type ContractWindowKey, type Enforcement } from '../../core/summary/index.js';
import type { PolicyEngine } from './ports.js';

export interface CompiledContract<S> {
  readonly name: string;
  readonly key: ContractWindowKey;
  /** contractWindowId(key), precomputed. */
  readonly id: string;
  readonly enforcement: Enforcement;
  /** The NetworkPolicy manifests as pushed (the enrollment check reads their pod selectors). */
  readonly policies: readonly unknown[];
  /** The baseline revision the contract is compiled on top of ('' for none). */
  readonly baselineRevision: string;
  readonly compiled: S;
}

export interface ActiveSet<S> {
  readonly generation: number;
  readonly contracts: readonly CompiledContract<S>[];
}

export type OfferOutcome =
  | { readonly kind: 'installed'; readonly generation: number; readonly contracts: number; readonly compileMs: number }
  | { readonly kind: 'stale'; readonly generation: number; readonly current: number }
  | { readonly kind: 'superseded'; readonly generation: number };

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export class ContractStore<S> {
  private readonly engine: PolicyEngine<S>;
  private current: ActiveSet<S> | null = null;
  /** The installed set's compiled contracts by name, with what they were compiled from. */
  private compiledByName = new Map<string, { readonly key: string; readonly compiled: S }>();
  private latestOffer = 0;
  private readonly listeners: ((set: ActiveSet<S>) => void)[] = [];

  constructor(engine: PolicyEngine<S>) {
    this.engine = engine;
  }

  /** The installed set; null until the control plane has sent one (the agent starts with none). */
  get active(): ActiveSet<S> | null {
    return this.current;
  }

  onInstalled(listener: (set: ActiveSet<S>) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Compiles and installs a set. `fresh` marks the first set of a new control-plane stream:
   * it is accepted whatever its generation (a restarted control plane may count again from
   * 1); after that, a set older than the installed one is ignored.
   */
  async offer(set: ContractSet, { fresh = false }: { fresh?: boolean } = {}): Promise<Result<OfferOutcome, Problem[]>> {
    const current = this.current;
    if (!fresh && current && set.generation < current.generation) {
      return ok({ kind: 'stale', generation: set.generation, current: current.generation });
    }
    const ticket = ++this.latestOffer;
    const started = performance.now();
    const problems: Problem[] = [];
    const compiled: CompiledContract<S>[] = [];
    const byName = new Map<string, { readonly key: string; readonly compiled: S }>();
    for (const [i, c] of set.contracts.entries()) {
      const baselineRevision = set.baseline?.revision ?? '';
      // The baseline is named by its revision; the contract's share of it by the contract's name.
      const removed = [...(c.replaces ?? []), ...(c.removes ?? [])];
      const pairKey = `${baselineRevision}\u0000${c.name}\u0000${JSON.stringify(c.policies)}\u0000${JSON.stringify(removed)}`;
      const key: ContractWindowKey = { contract: c.name, revision: c.revision, stageIndex: c.stageIndex, stageName: c.stageName };
      const known = this.compiledByName.get(c.name);
      if (known !== undefined && known.key === pairKey && baselineRevision !== '') {
        byName.set(c.name, known);
        compiled.push({ name: c.name, key, id: contractWindowId(key), enforcement: c.enforcement, policies: c.policies, baselineRevision, compiled: known.compiled });
        continue;
      }
      await nextTurn();
      if (ticket !== this.latestOffer) return ok({ kind: 'superseded', generation: set.generation });
      // Judged against every policy in force that this contract did not write.
      const result = this.engine.compile(c.policies, baselineManifestsFor(set, c.name), removed);
      if (!result.ok) {
        const where = childPath(childPath('contracts', i), 'policies');
        for (const p of result.error) {
          // Problems of the baseline's manifests come back as `baseline[j]…`, of the contract's as `[j]…`.
          const at = p.path.startsWith('baseline') ? `${p.path} (judging contract ${c.name})` : `${where}${p.path.startsWith('[') || p.path === '' ? '' : '.'}${p.path} (contract ${c.name})`;
          problems.push(problem(at, p.message));
        }
        continue;
      }
      byName.set(c.name, { key: pairKey, compiled: result.value });
      compiled.push({ name: c.name, key, id: contractWindowId(key), enforcement: c.enforcement, policies: c.policies, baselineRevision, compiled: result.value });
    }
    if (ticket !== this.latestOffer) return ok({ kind: 'superseded', generation: set.generation });
    if (problems.length > 0) return err(problems);
    const installed: ActiveSet<S> = { generation: set.generation, contracts: compiled };
    this.current = installed;
    this.compiledByName = byName;
    for (const l of this.listeners) l(installed);
    return ok({ kind: 'installed', generation: set.generation, contracts: compiled.length, compileMs: performance.now() - started });
  }
}
