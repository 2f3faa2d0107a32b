/**
 * Which workloads a contract is about (product.md "Enough evidence"): the workloads whose pods
 * its policies select, and the CronJobs that matter to it, selected themselves or seen in the
 * traffic map talking to selected pods. A NetworkPolicy selects by its podSelector, a
 * CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy by each rule's endpointSelector (core/
 * policy's matcher). A selector that cannot be settled from the labels (a key Cilium's
 * identity filter drops, namespace labels) counts as selecting: waiting for evidence on a
 * workload that may not matter is the safe side.
 */
import { compileSelector, endpointSelectorSelects, isCiliumPolicy, matchSelector, NO, type LabelSelector, type Policy } from '../policy/index.js';
import type { ObservedPeer } from '../summary/index.js';
import type { CronJobInfo, InventoryWorkload } from './inventory.js';

/** Whether one policy's subject selector selects a pod (namespace, labels). */
type Selects = (namespace: string, labels: Readonly<Record<string, string>>) => boolean;

/** A contract's pod selectors (NetworkPolicy podSelector, Cilium endpointSelector). */
export class PodSelection {
  private readonly selectors: readonly Selects[];

  constructor(policies: readonly Policy[]) {
    const out: Selects[] = [];
    for (const p of policies) {
      if (isCiliumPolicy(p)) {
        // A CNP selects in its own namespace, a CCNP (namespace '') in every one; the matcher
        // adds that confinement, as Cilium does. MAYBE (namespace labels, filtered keys) selects.
        const confine = p.namespace === '' ? null : p.namespace;
        for (const spec of p.specs) out.push(ciliumSubject(spec.endpointSelector, confine));
      } else {
        // Filtered identity keys answer MAYBE, which counts as selecting (the safe side).
        const selector = compileSelector(p.podSelector, true);
        out.push((namespace, labels) => namespace === p.namespace && matchSelector(selector, labels) !== NO);
      }
    }
    this.selectors = out;
  }

  /** True when some policy of the contract selects pods with these labels in this namespace. */
  selects(namespace: string, labels: Readonly<Record<string, string>>): boolean {
    return this.selectors.some((s) => s(namespace, labels));
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

function ciliumSubject(selector: LabelSelector, policyNamespace: string | null): Selects {
  return (namespace, labels) => endpointSelectorSelects(selector, policyNamespace, namespace, labels) !== NO;
}
