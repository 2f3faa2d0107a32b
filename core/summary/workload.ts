/**
 * The workload an endpoint belongs to, for edge keys. Bounded vocabulary by design: a
 * namespace plus a workload name from Hubble's `workloads` or the usual app labels, never a
 * pod name or an IP (those would make edge keys, and so memory, grow with pod churn).
 */
import type { Endpoint } from '../flow/index.js';

export interface WorkloadRef {
  readonly namespace: string;
  readonly workload: string;
}

/** Pod labels that name a workload, in the order core/flow's edge names read them. */
const WORKLOAD_LABELS = ['app', 'app.kubernetes.io/name', 'k8s-app', 'name', 'component'] as const;

export const UNLABELLED_WORKLOAD = '(unlabelled)';

export function workloadOf(e: Endpoint): WorkloadRef {
  switch (e.kind) {
    case 'pod': {
      const fromHubble = e.workloads[0]?.name;
      if (fromHubble) return { namespace: e.namespace, workload: fromHubble };
      for (const label of WORKLOAD_LABELS) {
        const v = e.podLabels[label];
        if (v) return { namespace: e.namespace, workload: v };
      }
      return { namespace: e.namespace, workload: UNLABELLED_WORKLOAD };
    }
    case 'external':
      // NOTE: `cidr:` identities name CIDRs from policies, but "never IPs" wins: all
      // outside-the-cluster peers share one bucket.
      return { namespace: '', workload: 'world' };
    case 'reserved':
      return { namespace: '', workload: `reserved:${e.name}` };
    case 'unknown':
      return { namespace: e.namespace ?? '', workload: 'unknown' };
  }
}
