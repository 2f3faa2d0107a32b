/**
 * Stable workload selectors from pod labels (authoring.md §1, §7.1). Generators that copy
 * every label break on restarts and scale-ups: pod-template-hash changes per rollout,
 * statefulset pod-name and pod-index per replica, job-name per run. A selector here is built
 * from application labels only, checked to match every pod seen of the workload, and
 * extended with the fewest extra stable labels needed to tell it apart from its neighbours.
 */
import { isFilteredIdentityLabel, matchLabelsMatch } from '../policy/index.js';

/** Labels that name an application, most preferred first. */
export const APP_LABEL_KEYS = ['app.kubernetes.io/name', 'app', 'k8s-app', 'name'] as const;

/** Labels that change per pod, per replica, per rollout or per run: never in a selector. */
const PER_POD_EXACT = new Set([
  'pod-template-hash',
  'pod-template-generation',
  'controller-revision-hash',
  'controller-uid',
  'statefulset.kubernetes.io/pod-name',
  'apps.kubernetes.io/pod-index',
  'batch.kubernetes.io/job-completion-index',
  'batch.kubernetes.io/controller-uid',
  'batch.kubernetes.io/job-name',
  'job-name',
  'helm.sh/chart',
  'chart',
  'heritage',
  'app.kubernetes.io/managed-by',
  'app.kubernetes.io/version',
  'security.istio.io/tlsMode',
  'service.istio.io/canonical-revision',
  'sidecar.istio.io/inject',
]);

/** True for a label key that must never appear in a generated selector. */
export function isUnstableLabel(key: string): boolean {
  if (PER_POD_EXACT.has(key)) return true;
  if (key.startsWith('enroll.rampart.dev/')) return true;
  if (key.startsWith('sidecar.') || key.includes('opentelemetry.io/')) return true;
  // Keys Cilium drops from identities cannot be evaluated from flows (hubble.md 4.1).
  return isFilteredIdentityLabel(key);
}

/** Extra keys tried, in order, to tell apart workloads that share an app label (bookinfo's reviews-v1/v2/v3). */
const DISTINGUISHING_KEYS = ['version', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'component', 'tier', 'release'];

export type Labels = Readonly<Record<string, string>>;

/** Labels present with the same value on every label set (and stable). */
export function commonStableLabels(sets: readonly Labels[]): Record<string, string> {
  if (sets.length === 0) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(sets[0]!)) {
    if (isUnstableLabel(k)) continue;
    if (sets.every((s) => s[k] === v)) out[k] = v;
  }
  return out;
}

export interface WorkloadLabels {
  /** `ns/name`. */
  readonly key: string;
  readonly namespace: string;
  /** Distinct label sets seen on the workload's pods. */
  readonly labelSets: readonly Labels[];
  /** The controller's own selector (from --manifests), when known. */
  readonly controllerSelector?: Labels;
}

/**
 * matchLabels for each workload: the controller's selector when known (minus unstable keys);
 * else the first app label common to all its pods, plus distinguishing keys while another
 * workload of the namespace would also match; else every common stable label. An empty
 * result (nothing stable) selects the whole namespace and is reported by the caller.
 */
export function chooseSelectors(workloads: readonly WorkloadLabels[]): Map<string, Record<string, string>> {
  const byNs = new Map<string, WorkloadLabels[]>();
  for (const w of workloads) {
    const list = byNs.get(w.namespace) ?? [];
    list.push(w);
    byNs.set(w.namespace, list);
  }
  const out = new Map<string, Record<string, string>>();
  for (const w of workloads) {
    const common = commonStableLabels(w.labelSets);
    if (w.controllerSelector !== undefined) {
      const sel = Object.fromEntries(Object.entries(w.controllerSelector).filter(([k]) => !isUnstableLabel(k)));
      if (Object.keys(sel).length > 0 && w.labelSets.every((s) => matchLabelsMatch(sel, s))) {
        out.set(w.key, sel);
        continue;
      }
    }
    if (common['k8s-app'] === 'kube-dns') {
      // CoreDNS pods: the kube-dns Service's own selector, what every DNS rule should name.
      out.set(w.key, { 'k8s-app': 'kube-dns' });
      continue;
    }
    const neighbours = (byNs.get(w.namespace) ?? []).filter((o) => o.key !== w.key);
    const clashes = (sel: Labels): boolean => neighbours.some((o) => o.labelSets.some((s) => matchLabelsMatch(sel, s)));
    const appKey = APP_LABEL_KEYS.find((k) => common[k] !== undefined);
    if (appKey === undefined) {
      out.set(w.key, common);
      continue;
    }
    const sel: Record<string, string> = { [appKey]: common[appKey]! };
    const extras = [...DISTINGUISHING_KEYS, ...Object.keys(common).sort()].filter((k, i, a) => common[k] !== undefined && k !== appKey && a.indexOf(k) === i);
    for (const k of extras) {
      if (!clashes(sel)) break;
      sel[k] = common[k]!;
    }
    out.set(w.key, sel);
  }
  return out;
}
