/**
 * The change evaluator (product.md "Changes to what is enforced: add, replace, remove"). A
 * contract changes the enforced set B: it removes R (the policies it `replaces` or `removes`)
 * and adds P (its policies). Per connection side, the verdict under *before* = B and under
 * *after* = (B − R) ∪ P, and what the change does:
 * - `newly-denied` (the contract's would-deny): before allows, after denies;
 * - `already-denied`: before denies and so does after (never the contract's doing);
 * - `newly-allowed`: before denies, after allows (the contract broadens access);
 * - `same`: allowed under both; `indeterminate`: undecided under either; `none`: no side.
 *
 * B ∪ P is compiled once, each policy marked as in *before*, in *after* or in both, and each
 * side is evaluated in one pass that yields both verdicts. Fast path: where every policy that
 * may select the endpoint in a direction is in both sets, the side is decided once.
 *
 * The set algebra is by policy identity (kind/namespace/name, identity.ts), never by the fields
 * of one kind of policy, so every policy kind the model holds flows through it alike.
 */
import type { Flow } from '../flow/index.js';
import type { Membership } from './compiled.js';
import { CompiledEvaluator, type EvaluatorOptions } from './evaluator.js';
import { identityKey, identityOf, type PolicyIdentity } from './identity.js';
import type { Policy } from './policy.js';
import type { EvaluateOptions, EvaluatedSides, Evaluation, SideVerdict } from './verdict.js';

export type Change = 'same' | 'newly-denied' | 'newly-allowed';
export type SideChange = 'same' | 'newly-denied' | 'newly-allowed' | 'already-denied' | 'indeterminate' | 'none';

/** A change of the enforced set: B, R ⊆ B by identity, and P. */
export interface PolicyChange {
  /** B: the policies in force, as their owners wrote them. */
  readonly baseline: readonly Policy[];
  /** P: the policies the change writes (new ones and the new text of replaced ones). */
  readonly proposed: readonly Policy[];
  /** R: the identities the change takes out of B (`replaces` ∪ `removes`); names not in B change nothing. */
  readonly removed?: readonly PolicyIdentity[];
}

export interface ChangeEvaluation {
  /** under B */
  readonly before: Evaluation;
  /** under (B − R) ∪ P */
  readonly after: Evaluation;
  readonly egress: SideChange;
  readonly ingress: SideChange;
  /** newly-denied if any side is; else newly-allowed if any side is; else same */
  readonly change: Change;
}

export interface ChangeEvaluator {
  evaluate(flow: Flow, sides: EvaluatedSides, options?: EvaluateOptions): ChangeEvaluation;
}

/** How one side changes from *before* to *after*. */
export function sideChange(before: SideVerdict | 'none', after: SideVerdict | 'none'): SideChange {
  // Both sets see the same endpoints, so a side is `none` under both or under neither.
  if (before === 'none' || after === 'none') return 'none';
  if (before === 'indeterminate' || after === 'indeterminate') return 'indeterminate';
  if (before === 'allow') return after === 'allow' ? 'same' : 'newly-denied';
  return after === 'allow' ? 'newly-allowed' : 'already-denied';
}

function judge(before: Evaluation, after: Evaluation): ChangeEvaluation {
  const egress = sideChange(before.egress, after.egress);
  const ingress = sideChange(before.ingress, after.ingress);
  const change: Change =
    egress === 'newly-denied' || ingress === 'newly-denied' ? 'newly-denied' : egress === 'newly-allowed' || ingress === 'newly-allowed' ? 'newly-allowed' : 'same';
  return Object.freeze({ before, after, egress, ingress, change });
}

/** Judgements per pair of (shared, frozen) evaluations kept before a table is cleared. */
const JUDGEMENTS_PER_BEFORE_MAX = 256;

/** B ∪ P with each policy's membership: B's policies named in R are in *before* only, P's in *after* only. */
function changeSet(change: PolicyChange): { policies: Policy[]; membership: Membership[] } {
  const removed = new Set((change.removed ?? []).map(identityKey));
  const policies = [...change.baseline, ...change.proposed];
  const membership: Membership[] = [
    ...change.baseline.map((p): Membership => (removed.has(identityKey(identityOf(p))) ? 'before' : 'both')),
    ...change.proposed.map((): Membership => 'after'),
  ];
  return { policies, membership };
}

/** *after* as a plain set: (B − R) ∪ P, for the code that needs the policies rather than verdicts (authoring). */
export function policiesAfter(change: PolicyChange): Policy[] {
  const { policies, membership } = changeSet(change);
  return policies.filter((_, i) => membership[i] !== 'before');
}

class PairedEvaluator implements ChangeEvaluator {
  /** B ∪ P, compiled once; each evaluation yields *after*'s verdict and *before*'s. */
  private readonly set: CompiledEvaluator;
  private readonly changes: boolean;
  /** Judgements by *before*'s evaluation then *after*'s (both memoised by the evaluator). */
  private readonly judged = new WeakMap<Evaluation, Map<Evaluation, ChangeEvaluation>>();

  constructor(change: PolicyChange, options?: EvaluatorOptions) {
    const { policies, membership } = changeSet(change);
    this.changes = membership.some((m) => m !== 'both');
    this.set = new CompiledEvaluator(policies, options, this.changes ? membership : undefined);
  }

  evaluate(flow: Flow, sides: EvaluatedSides, options?: EvaluateOptions): ChangeEvaluation {
    const after = this.set.evaluate(flow, sides, options);
    const before = this.changes ? this.set.beforeEvaluation() : after;
    let byAfter = this.judged.get(before);
    const hit = byAfter?.get(after);
    if (hit !== undefined) return hit;
    const result = judge(before, after);
    if (byAfter === undefined) {
      byAfter = new Map();
      this.judged.set(before, byAfter);
    } else if (byAfter.size >= JUDGEMENTS_PER_BEFORE_MAX) byAfter.clear();
    byAfter.set(after, result);
    return result;
  }
}

/**
 * An evaluator of a change of the enforced set (policies from `parseNetworkPolicy`), compiled
 * once. `before` is always all of B: a proposed policy with the identity of one in B replaces
 * it only when R names it (the caller decides, e.g. `evaluate --baseline` treats same-named
 * policies as replacements).
 */
export function createChangeEvaluator(change: PolicyChange, options?: EvaluatorOptions): ChangeEvaluator {
  return new PairedEvaluator(change, options);
}
