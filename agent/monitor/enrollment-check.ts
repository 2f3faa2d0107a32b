/**
 * Kubernetes mode's check that enrollment reaches the datapath (product.md "percent stage"):
 * the control plane labels the pods a percent stage enrolls, and Cilium selects on that label
 * only if it is an identity label. Per local pod side, this says whether the pod's Hubble
 * identity carries the label (`seen`), or the stage enrolls the pod (the enrollment hash, and
 * a contract policy selects it) and its identity still lacks the label after a settle time
 * (`missing`: Cilium's grace period for identity changes is 5 s, so 10 s by default). A stage
 * with `missing` and no `seen` is enforcing nothing; the control plane blocks it.
 */
import { isEnrolled } from '../../core/contract/index.js';
import type { Endpoint } from '../../core/flow/index.js';
import { exactSelector } from '../../core/policy/index.js';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Pods remembered at once (first time each was expected enrolled); cleared when full. */
const MAX_TRACKED = 100_000;

export const DEFAULT_ENROLL_SETTLE_MS = 10_000;

interface Selection {
  readonly namespace: string;
  /** The policy's podSelector, compiled for exact matching (a filtered key simply does not match). */
  readonly selects: (labels: Readonly<Record<string, string>>) => boolean;
}

export class EnrollmentCheck {
  private readonly contract: string;
  private readonly label: string;
  /** The current stage's percent (updated as the ramp moves; the settle times carry over). */
  percent = 0;
  private readonly settleMs: number;
  private readonly selections: readonly Selection[];
  private readonly firstExpected = new Map<string, number>();

  constructor(opts: { contract: string; label: string; policies: readonly unknown[]; settleMs?: number }) {
    this.contract = opts.contract;
    this.label = opts.label;
    this.settleMs = opts.settleMs ?? DEFAULT_ENROLL_SETTLE_MS;
    this.selections = opts.policies.map((raw) => {
      const meta = isObj(raw) && isObj(raw.metadata) ? raw.metadata : {};
      const spec = isObj(raw) && isObj(raw.spec) ? raw.spec : {};
      return { namespace: typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : 'default', selects: exactSelector(spec.podSelector ?? {}) };
    });
  }

  /** 'seen', 'missing', or null (not an enrolled pod, or still settling). */
  check(endpoint: Endpoint, nowMs: number): 'seen' | 'missing' | null {
    if (endpoint.kind !== 'pod' || endpoint.podName === '') return null;
    if (endpoint.podLabels[this.label] === 'true') return 'seen';
    if (!isEnrolled(this.contract, endpoint.namespace, endpoint.podName, this.percent)) return null;
    if (!this.selections.some((s) => s.namespace === endpoint.namespace && s.selects(endpoint.podLabels))) return null;
    const key = `${endpoint.namespace}/${endpoint.podName}`;
    let first = this.firstExpected.get(key);
    if (first === undefined) {
      if (this.firstExpected.size >= MAX_TRACKED) this.firstExpected.clear();
      first = nowMs;
      this.firstExpected.set(key, first);
    }
    return nowMs - first >= this.settleMs ? 'missing' : null;
  }
}
