/**
 * `GET /api/v1/contracts/{name}/fix`: the smallest fix for a contract's would-deny edges
 * (core/authoring smallestFix), computed from the sample flow each edge carries in the
 * evidence of the current stage. The answer holds the NetworkPolicies to add, as objects and
 * as YAML ready to paste into spec.policies, the edges they open, and what could not be fixed.
 */
import { stringify } from 'yaml';
import { BOTH_SIDES, evaluatorFor, smallestFix } from '../../core/authoring/index.js';
import { parseHubbleLine, type Flow } from '../../core/flow/index.js';
import type { EvidenceStore } from '../ingest/evidence-store.js';
import type { ContractView } from '../rollout/reconciler.js';

export interface ContractFixJson {
  readonly contract: string;
  readonly revision: number | null;
  readonly phase: string | null;
  readonly edges: readonly unknown[];
  readonly policies: readonly unknown[];
  /** The policies as YAML list items, to append under spec.policies. */
  readonly yaml: string;
  readonly unfixable: readonly unknown[];
  readonly verification: unknown;
  readonly message: string;
}

export function contractFixJson(view: ContractView, store: EvidenceStore): ContractFixJson {
  const base = { contract: view.name, revision: view.state?.revision ?? null, phase: view.state?.phase ?? null };
  const empty = (message: string): ContractFixJson => ({ ...base, edges: [], policies: [], yaml: '', unfixable: [], verification: null, message });
  const contract = view.contract;
  if (contract === null) return empty('the contract is invalid: nothing to fix against');
  const samples = store.wouldDenySamples(view.name);
  if (samples.length === 0) return empty('no would-deny edges in the current stage: nothing to fix');
  const ev = evaluatorFor(contract.spec.policies);
  const denied: Flow[] = [];
  const unfixable: { edge: string; reason: string }[] = [];
  for (const s of samples) {
    const text = `${s.edge.from} → ${s.edge.to}:${s.edge.port}/${s.edge.protocol}`;
    const parsed = s.sampleFlowJson === '' ? null : parseHubbleLine(s.sampleFlowJson);
    if (parsed === null || !parsed.ok || parsed.value.kind !== 'flow') {
      unfixable.push({ edge: text, reason: 'the edge carries no readable sample flow' });
      continue;
    }
    if (ev.evaluate(parsed.value.flow, BOTH_SIDES).verdict === 'deny') denied.push(parsed.value.flow);
    else unfixable.push({ edge: text, reason: 'its sample flow is not denied by the current policies (judged against a baseline, or stale)' });
  }
  const fix = smallestFix(contract.spec.policies, denied);
  if (!fix.ok) return { ...empty(`no fix could be verified: ${fix.error.map((p) => `${p.path}: ${p.message}`).join('; ')}`), unfixable };
  const f = fix.value;
  return {
    ...base,
    edges: f.edges,
    policies: f.policies,
    yaml: f.policies.length === 0 ? '' : stringify(f.policies, { lineWidth: 0, aliasDuplicateObjects: false }),
    unfixable: [...unfixable, ...f.unfixable],
    verification: f.verification,
    message:
      f.policies.length === 0
        ? 'nothing that a new rule can fix'
        : `add ${f.policies.length} NetworkPolic${f.policies.length === 1 ? 'y' : 'ies'} to spec.policies: ${f.edges.length} edge${f.edges.length === 1 ? '' : 's'} opened, nothing else (verified: ${f.verification.allowedAfter} of ${f.verification.denied} denied samples allowed after it)`,
  };
}
