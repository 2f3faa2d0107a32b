/**
 * The simulated cluster's workloads as Kubernetes manifests (a `List`), for the control
 * plane's `--workloads`: what it would read from the API server in Kubernetes mode. CronJobs
 * carry their schedule and a creation time (the demo's start: no run before it counts), the
 * others their pod template labels, so the control plane knows the selected workloads and the
 * schedules the monitor stage must wait for.
 */
import type { ClusterSpec, WorkloadSpec } from '../cluster-spec.js';

const API_VERSIONS: Readonly<Record<string, string>> = { CronJob: 'batch/v1', Job: 'batch/v1' };

function manifestOf(w: WorkloadSpec, createdAt: string): Record<string, unknown> {
  const metadata = { name: w.name, namespace: w.namespace, creationTimestamp: createdAt };
  const template = { metadata: { labels: { ...w.labels } }, spec: { containers: [{ name: w.name, image: 'sim' }] } };
  if (w.kind === 'CronJob') {
    // A Job's pods must not restart forever (the API server requires OnFailure or Never).
    const jobTemplate = { spec: { template: { ...template, spec: { ...template.spec, restartPolicy: 'OnFailure' } } } };
    return { apiVersion: 'batch/v1', kind: 'CronJob', metadata, spec: { schedule: w.schedule ?? '@yearly', suspend: w.schedule === null, jobTemplate } };
  }
  return { apiVersion: API_VERSIONS[w.kind] ?? 'apps/v1', kind: w.kind, metadata, spec: { selector: { matchLabels: { ...w.labels } }, template } };
}

/**
 * Every workload of the spec. A CronJob the spec gives no schedule (its calls run on a fixed
 * period instead) is written suspended: nothing to wait for, but still a known workload.
 */
export function workloadManifests(spec: ClusterSpec, nowMs: number): Record<string, unknown> {
  const createdAt = new Date(nowMs).toISOString();
  return { apiVersion: 'v1', kind: 'List', items: spec.workloads.map((w) => manifestOf(w, createdAt)) };
}
