/**
 * `GET /api/v1/contracts/{name}/broadening`: what the contract's current revision newly allows
 * against the baseline (product.md "the baseline": denied by the baseline alone, allowed by
 * baseline ∪ contract), listed by edge from the live evidence, each with the contract rules
 * that admit its sample flow and how broad those rules are (any peer, 0.0.0.0/0, any
 * namespace, all ports), broadest first: the access a contract opens, before it is enforced.
 */
import { indexFlows, ruleBreadth, ruleUsage } from '../../core/authoring/index.js';
import { splitByKind } from '../../core/policy/index.js';
import type { EvidenceStore } from '../ingest/evidence-store.js';
import type { BaselineSource } from '../baseline/baseline-source.js';
import type { ContractView } from '../../core/rollout/index.js';
import { sampleFlows } from './contract-fix.js';

export interface BroadeningItemJson {
  readonly edge: string;
  readonly side: string;
  readonly count: number;
  /** The contract's rules that admit the edge's sample flow on that side: `ns/name ingress[0]`. */
  readonly rules: readonly string[];
  /** What makes those rules broad, in words (empty: they name this edge narrowly). */
  readonly breadth: readonly string[];
}

export interface BroadeningJson {
  readonly contract: string;
  readonly revision: number | null;
  readonly baselineRevision: string | null;
  readonly newlyAllowed: number;
  readonly items: readonly BroadeningItemJson[];
  readonly unreadable: readonly string[];
}

export function broadeningJson(view: ContractView, store: EvidenceStore, baseline?: BaselineSource): BroadeningJson {
  const samples = sampleFlows(store, view.name, ['newly-allowed']);
  // Breadth is read from NetworkPolicy rules; a CNP's admissions are listed without it.
  const policies = splitByKind(view.contract?.spec.policies ?? []).network;
  const usage = ruleUsage(policies, indexFlows(samples.flows.map((s) => s.flow)), samples.flows.length);
  const items: BroadeningItemJson[] = samples.flows.map((s) => {
    const rules = usage.filter((u) => u.direction === s.side && u.samples.includes(s.flow));
    const breadth = new Set<string>();
    for (const u of rules) {
      const p = policies.find((x) => `${x.namespace}/${x.name}` === u.policy);
      const rule = p === undefined ? undefined : (u.direction === 'ingress' ? p.ingress : p.egress)[u.index];
      if (rule !== undefined) for (const w of ruleBreadth(rule).what) breadth.add(w);
    }
    return { edge: s.edge, side: s.side, count: s.count, rules: rules.map((u) => `${u.policy} ${u.direction}[${u.index}]`), breadth: [...breadth] };
  });
  items.sort((a, b) => b.breadth.length - a.breadth.length || b.count - a.count || (a.edge < b.edge ? -1 : 1));
  return {
    contract: view.name,
    revision: view.state?.revision ?? null,
    baselineRevision: baseline?.snapshot().revision ?? null,
    newlyAllowed: view.evidence.newlyAllowed,
    items,
    unreadable: samples.unreadable,
  };
}

