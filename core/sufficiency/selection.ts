/**
 * Which workloads a contract is about (product.md "Enough evidence"): the workloads whose pods
 * its policies select, and the CronJobs that matter to it, selected themselves or seen in the
 * traffic map talking to selected pods. A selector that cannot be settled from the labels
 * (a key Cilium's identity filter drops) counts as selecting: waiting for evidence on a
 * workload that may not matter is the safe side.
 */
import { compileSelector, isCiliumPolicy, matchSelector, NO, type CompiledSelector, type NetworkPolicy, type Policy } from '../policy/index.js';
import type { ObservedPeer } from '../summary/index.js';
import type { CronJobInfo, InventoryWorkload } from './inventory.js';

/** A contract's pod selectors, compiled once. */
export class PodSelection {
  private readonly selectors: readonly { readonly namespace: string; readonly selector: CompiledSelector }[];

  constructor(policies: readonly Policy[]) {
    // NOTE: Cilium policies' endpoint selectors are not read here yet: a contract of only
    // CiliumNetworkPolicies selects no workload for coverage or CronJob waits (reported gap).
    const nps = policies.filter((p): p is NetworkPolicy => !isCiliumPolicy(p));
    // Filtered identity keys answer MAYBE, which counts as selecting (the safe side).
    this.selectors = nps.map((p) => ({ namespace: p.namespace, selector: compileSelector(p.podSelector, true) }));
  }

  /** True when some policy of the contract selects pods with these labels in this namespace. */
  selects(namespace: string, labels: Readonly<Record<string, string>>): boolean {
    return this.selectors.some((s) => s.namespace === namespace && matchSelector(s.selector, labels) !== NO);
  }

  selectsPeer(p: ObservedPeer): boolean {
    return p.kind === 'pod' && !p.labelsPartial && this.selects(p.namespace, p.labels);
  }
}

export const workloadId = (w: { readonly namespace: string; readonly name: string }): string => `${w.namespace}/${w.name}`;

/** The inventory's workloads the contract's policies select, by `namespace/name`, sorted. */
export function selectedWorkloads(selection: PodSelection, workloads: readonly InventoryWorkload[]): InventoryWorkload[] {
  return workloads.filter((w) => selection.selects(w.namespace, w.podLabels)).sort((a, b) => (workloadId(a) < workloadId(b) ? -1 : 1));
}

export interface MattersBecause {
  readonly job: CronJobInfo;
  /** `selected by the contract`, or `talks to payments/ledger`. */
  readonly why: string;
}

/** An edge of the map, as far as selection needs it. */
export interface PeerEdge {
  readonly from: ObservedPeer;
  readonly to: ObservedPeer;
}

const isJob = (p: ObservedPeer, job: CronJobInfo): boolean => p.kind === 'pod' && p.namespace === job.namespace && p.workload === job.name;

/**
 * The CronJobs whose evidence a contract needs: those its policies select, and those seen in
 * the map (either direction) with a selected pod at the other end.
 */
export function cronJobsThatMatter(selection: PodSelection, jobs: readonly CronJobInfo[], edges: readonly PeerEdge[]): MattersBecause[] {
  const out: MattersBecause[] = [];
  for (const job of jobs) {
    if (selection.selects(job.namespace, job.podLabels)) {
      out.push({ job, why: 'selected by the contract' });
      continue;
    }
    for (const e of edges) {
      const other = isJob(e.from, job) ? e.to : isJob(e.to, job) ? e.from : null;
      if (other !== null && selection.selectsPeer(other)) {
        out.push({ job, why: `talks to ${other.namespace}/${other.workload}` });
        break;
      }
    }
  }
  return out;
}
