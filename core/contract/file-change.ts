/**
 * The change that policy files describe, as `rampart evaluate --baseline` and `rampart fix
 * --baseline` judge it (product.md "Changes to what is enforced"): from B (the baseline, every
 * policy of it) to (B − R) ∪ P. R is what contract files name in `replaces` and `removes`,
 * plus every baseline policy that a proposed one has the kind/namespace/name of (one object
 * per name in a cluster: the proposal is its new text). A `replaces`/`removes` target missing
 * from the baseline is a problem, as it holds a contract.
 */
import type { Problem } from '../common/index.js';
import { formatIdentity, identityKey, identityOf, type Policy, type PolicyChange, type PolicyIdentity } from '../policy/index.js';
import { changeProblems } from './changes.js';

export interface FileChange {
  readonly change: PolicyChange;
  /** How jsonl lines and the table name the policies taken out of B, sorted. */
  readonly replaced: readonly string[];
  readonly removed: readonly string[];
  /** Same-named policies taken as replacements (said on stderr). */
  readonly implicit: readonly string[];
  /** Targets that do not exist in the baseline. */
  readonly problems: readonly Problem[];
}

export function changeFromFiles(
  proposed: readonly Policy[],
  replaces: readonly PolicyIdentity[],
  removes: readonly PolicyIdentity[],
  baseline: readonly Policy[],
): FileChange {
  const inBaseline = baseline.map(identityOf);
  const named = new Set([...replaces, ...removes].map(identityKey));
  // Same-named policies not named in `replaces`: a replacement, as the product defines evaluate.
  const present = new Set(inBaseline.map(identityKey));
  const implicit = proposed.map(identityOf).filter((id) => present.has(identityKey(id)) && !named.has(identityKey(id)));
  const allReplaces = [...replaces, ...implicit];
  // Only the missing targets are problems here: the collisions were just made replacements.
  const problems = changeProblems({ policies: [], replaces, removes }, inBaseline).map((p) => ({ path: `--policies ${p.path}`, message: `${p.message} in the --baseline policies` }));
  const names = (ids: readonly PolicyIdentity[]): string[] => [...new Set(ids.map(formatIdentity))].sort();
  return {
    change: { baseline, proposed, removed: [...allReplaces, ...removes] },
    replaced: names(allReplaces),
    removed: names(removes),
    implicit: names(implicit),
    problems,
  };
}
