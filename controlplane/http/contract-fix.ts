/**
 * `GET /api/v1/contracts/{name}/fix`: the smallest fix for a contract's would-deny edges (and
 * the real drops of an enforced stage), computed by core/authoring smallestFix from the sample
 * flow each edge carries in the evidence of the current stage, against the contract's change of
 * the baseline (a would-deny is denied under (baseline − replaced − removed) ∪ contract and
 * allowed under the baseline). In monitor, the would-deny edges that history holds against the
 * revision (product.md "Enough evidence": they block it like live ones) are fixed too, from the
 * flow the map judged for each. The answer holds the NetworkPolicies to add to
 * the contract, as objects and as YAML ready to paste under spec.policies, the edges they
 * open, and what could not be fixed.
 */
import { stringify } from 'yaml';
import { asCiliumPolicies, BOTH_SIDES, evaluatorFor, smallestFix } from '../../core/authoring/index.js';
import { parseHubbleLine, type Flow } from '../../core/flow/index.js';
import { parsePolicy, policiesAfter, splitByKind, type Policy } from '../../core/policy/index.js';
import type { EvidenceStore } from '../ingest/evidence-store.js';
import { baselineFor, type BaselineSource } from '../baseline/baseline-source.js';
import type { ContractView } from '../../core/rollout/index.js';

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

/** The baseline a contract is judged against, parsed (policies that do not parse are left out, as the agents do). */
export function baselinePolicies(source: BaselineSource | undefined, contract: string): Policy[] {
  if (source === undefined) return [];
  const out: Policy[] = [];
  for (const p of baselineFor(source.snapshot(), contract)) {
    const r = parsePolicy(p.manifest, p.ref);
    if (r.ok) out.push(r.value);
  }
  return out;
}

/** Sample flows of a contract's edges of one kind, parsed; edges without a readable sample are listed apart. */
export function sampleFlows(store: EvidenceStore, contract: string, kinds: readonly ('would-deny' | 'actual-deny' | 'newly-allowed')[]): { flows: { edge: string; side: string; count: number; flow: Flow }[]; unreadable: string[] } {
  const flows: { edge: string; side: string; count: number; flow: Flow }[] = [];
  const unreadable: string[] = [];
  for (const s of kinds.flatMap((k) => store.samplesOf(contract, k))) {
    const text = `${s.edge.from} → ${s.edge.to}:${s.edge.port}/${s.edge.protocol}`;
    const parsed = s.sampleFlowJson === '' ? null : parseHubbleLine(s.sampleFlowJson);
    if (parsed === null || !parsed.ok || parsed.value.kind !== 'flow') unreadable.push(text);
    else flows.push({ edge: text, side: s.edge.side, count: s.edge.count, flow: parsed.value.flow });
  }
  return { flows, unreadable };
}

export function contractFixJson(view: ContractView, store: EvidenceStore, baseline?: BaselineSource): ContractFixJson {
  const base = { contract: view.name, revision: view.state?.revision ?? null, phase: view.state?.phase ?? null };
  const empty = (message: string): ContractFixJson => ({ ...base, edges: [], policies: [], yaml: '', unfixable: [], verification: null, message });
  const contract = view.contract;
  if (contract === null) return empty('the contract is invalid: nothing to fix against');
  // Would-deny edges (monitor evidence) and real policy drops of an enforced stage alike.
  const samples = sampleFlows(store, view.name, ['would-deny', 'actual-deny']);
  for (const e of view.sufficiency?.history?.top ?? []) {
    if (e.flow !== undefined) samples.flows.push({ edge: `${e.from} → ${e.to}:${e.port}/${e.protocol}`, side: 'history', count: e.count, flow: e.flow });
  }
  if (samples.flows.length === 0 && samples.unreadable.length === 0) return empty('no would-deny or denied edges in the current stage or its history: nothing to fix');
  const baselineSet = baselinePolicies(baseline, view.name);
  // *after*: the baseline less what the contract replaces or removes, plus its policies.
  const policies = policiesAfter({ baseline: baselineSet, proposed: contract.spec.policies, removed: [...contract.spec.replaces, ...contract.spec.removes] });
  const ev = evaluatorFor(policies);
  const denied: Flow[] = [];
  const unfixable: { edge: string; reason: string }[] = samples.unreadable.map((edge) => ({ edge, reason: 'the edge carries no readable sample flow' }));
  for (const s of samples.flows) {
    if (ev.evaluate(s.flow, BOTH_SIDES).verdict === 'deny') denied.push(s.flow);
    else unfixable.push({ edge: s.edge, reason: 'its sample flow is not denied by the baseline and the contract as they are now (stale evidence?)' });
  }
  const fix = smallestFix(policies, denied, [], baselineSet.length > 0 ? { baseline: baselineSet } : {});
  if (!fix.ok) return { ...empty(`no fix could be verified: ${fix.error.map((p) => `${p.path}: ${p.message}`).join('; ')}`), unfixable };
  const f = fix.value;
  // The fix in the contract's own kind: CiliumNetworkPolicies for a contract of Cilium policies only.
  const kinds = splitByKind(contract.spec.policies);
  let written: readonly unknown[] = f.policies;
  let kind = 'NetworkPolic';
  if (kinds.network.length === 0 && kinds.cilium.length > 0 && f.policies.length > 0) {
    const names = new Map<string, string[]>();
    for (const d of denied) if (d.ip !== null && d.destinationNames !== undefined) names.set(d.ip.destination, [...d.destinationNames]);
    const cilium = asCiliumPolicies(f.policies, names);
    const parsed = cilium.map((m, i) => parsePolicy(m, `fix[${i}]`));
    const after = evaluatorFor([...policies, ...parsed.flatMap((p) => (p.ok ? [p.value] : []))]);
    if (parsed.every((p) => p.ok) && denied.every((d) => after.evaluate(d, BOTH_SIDES).verdict !== 'deny')) {
      written = cilium;
      kind = 'CiliumNetworkPolic';
    }
  }
  return {
    ...base,
    edges: f.edges,
    policies: written,
    yaml: written.length === 0 ? '' : stringify(written, { lineWidth: 0, aliasDuplicateObjects: false }),
    unfixable: [...unfixable, ...f.unfixable],
    verification: f.verification,
    message:
      written.length === 0
        ? 'nothing that a new rule can fix'
        : `add ${written.length} ${kind}${written.length === 1 ? 'y' : 'ies'} to spec.policies: ${f.edges.length} edge${f.edges.length === 1 ? '' : 's'} opened, nothing else (verified: ${f.verification.allowedAfter} of ${f.verification.denied} denied samples allowed after it)`,
  };
}
