/**
 * The per-contract enrollment label (`enroll.rampart.dev/<contract>`) on exactly the pods a
 * percent stage enrolls: the enrollment hash, among the pods a contract policy selects.
 * Whole passes put the set right for one contract; new and changed pods are labelled as the
 * Pod watch reports them, for every percent stage at once. A label removed by someone else
 * is put back and reported as drift.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { AppliedStage } from '../../core/rollout/index.js';
import { isNotFound } from '../../io/kube/api-error.js';
import type { WatchedCollection } from '../../io/kube/list-watch.js';
import { FIELD_MANAGER, enrollLabelKey } from '../contracts/labels.js';
import type { ActuationEventSink } from './actuation-events.js';
import { labelsOf, refKey } from './clash-detection.js';
import { usesEnrollment, wantsEnrolled, type OriginalSelector } from './desired-state.js';

/** Pod label writes in flight at once (a stage change may relabel many pods). */
const LABEL_CONCURRENCY = 8;
/** Pod enrollment latencies kept for stats (newest last). */
const MAX_LATENCIES = 1000;

export class EnrollmentLabels {
  private readonly core: CoreV1Api;
  /** Throws unless this replica still leads; called right before each label write (fencing). */
  private readonly fence: () => void;
  private readonly pods: WatchedCollection<V1Pod>;
  private readonly events: ActuationEventSink | undefined;
  /** Per contract, the pods this process labelled (a label gone from one of them is drift). */
  private readonly enrolledByUs = new Map<string, Set<string>>();
  private readonly latencies: number[] = [];
  /** The policies in force a stage replaces or removes, with their owners' selectors: the pods they select are enrolled too. */
  private readonly originals: (stage: AppliedStage) => readonly OriginalSelector[];
  readonly counts = { labelWrites: 0, driftCorrections: 0 };

  constructor(o: { kc: KubeConfig; pods: WatchedCollection<V1Pod>; events?: ActuationEventSink; originals?: (stage: AppliedStage) => readonly OriginalSelector[]; fence?: () => void }) {
    this.fence = o.fence ?? (() => undefined);
    this.core = o.kc.makeApiClient(CoreV1Api);
    this.pods = o.pods;
    this.events = o.events;
    this.originals = o.originals ?? (() => []);
  }

  /** Watch event → label written, for pods enrolled as they appeared (ms), newest last. */
  podEnrollLatenciesMs(): number[] {
    return [...this.latencies];
  }

  /** Pods this process holds enrolled for the contract. */
  enrolledByUsCount(contract: string): number {
    return this.enrolledByUs.get(contract)?.size ?? 0;
  }

  /** Pods on the cluster carrying the contract's label. */
  labelledCount(contract: string): number {
    const key = enrollLabelKey(contract);
    return this.pods.list().filter((p) => labelsOf(p)[key] !== undefined).length;
  }

  forget(contract: string): void {
    this.enrolledByUs.delete(contract);
  }

  /** Puts the enrollment label on exactly the pods the stage wants (none when `stage` is null). */
  async sync(contract: string, stage: AppliedStage | null, first: boolean): Promise<void> {
    const key = enrollLabelKey(contract);
    const ours = this.ours(contract);
    const work: (() => Promise<void>)[] = [];
    const originals = stage === null ? [] : this.originals(stage);
    for (const pod of this.pods.list()) {
      const ns = pod.metadata?.namespace ?? '';
      const name = pod.metadata?.name ?? '';
      if (pod.metadata?.deletionTimestamp) continue;
      const labels = labelsOf(pod);
      const has = labels[key] !== undefined;
      const want = stage !== null && wantsEnrolled(stage, { namespace: ns, name, labels }, originals);
      const podKey = refKey(ns, name);
      if (want && !has) {
        const drift = ours.has(podKey) && !first;
        work.push(async () => {
          await this.label(ns, name, key, 'true');
          ours.add(podKey);
          if (drift) this.drift(contract, podKey, key);
        });
      } else if (!want && has) {
        work.push(async () => {
          await this.label(ns, name, key, null);
          ours.delete(podKey);
        });
      } else if (want) {
        ours.add(podKey);
      } else {
        ours.delete(podKey);
      }
    }
    await runLimited(work, LABEL_CONCURRENCY);
  }

  /**
   * New or changed pods (key → when the watch reported it): labelled for every percent stage
   * that wants them, at once. `stages` are the stages held that are not blocked.
   */
  async enrollNew(batch: readonly [string, number][], stages: readonly AppliedStage[], nowMs: () => number): Promise<void> {
    const work: (() => Promise<void>)[] = [];
    for (const [podKey, seenAtMs] of batch) {
      const slash = podKey.indexOf('/');
      const pod = this.pods.get(podKey.slice(slash + 1), podKey.slice(0, slash));
      if (!pod || pod.metadata?.deletionTimestamp) continue;
      const labels = labelsOf(pod);
      const ns = pod.metadata?.namespace ?? '';
      const name = pod.metadata?.name ?? '';
      for (const stage of stages) {
        if (!usesEnrollment(stage)) continue;
        const key = enrollLabelKey(stage.contract);
        const want = wantsEnrolled(stage, { namespace: ns, name, labels }, this.originals(stage));
        const ours = this.ours(stage.contract);
        if (want && labels[key] === undefined) {
          const drift = ours.has(podKey);
          work.push(async () => {
            await this.label(ns, name, key, 'true');
            ours.add(podKey);
            if (drift) this.drift(stage.contract, podKey, key);
            else {
              this.latencies.push(nowMs() - seenAtMs);
              if (this.latencies.length > MAX_LATENCIES) this.latencies.shift();
            }
          });
        } else if (!want && labels[key] !== undefined && ours.has(podKey)) {
          // The pod's labels changed and no contract policy selects it any more.
          work.push(async () => {
            await this.label(ns, name, key, null);
            ours.delete(podKey);
          });
        }
      }
    }
    await runLimited(work, LABEL_CONCURRENCY);
  }

  private ours(contract: string): Set<string> {
    let set = this.enrolledByUs.get(contract);
    if (!set) {
      set = new Set<string>();
      this.enrolledByUs.set(contract, set);
    }
    return set;
  }

  private drift(contract: string, podKey: string, key: string): void {
    this.counts.driftCorrections++;
    this.events?.emit({ contract, type: 'Warning', reason: 'DriftCorrected', action: 'Label', note: `pod ${podKey} lost its enrollment label ${key}; put back` });
  }

  private async label(namespace: string, name: string, key: string, value: string | null): Promise<void> {
    // Outside the try: a replica that no longer leads must not have this taken for a vanished pod.
    this.fence();
    try {
      // A merge patch of one key: independent per contract (each contract owns its own key),
      // and `null` removes exactly that key.
      await this.core.patchNamespacedPod(
        { name, namespace, body: { metadata: { labels: { [key]: value } } }, fieldManager: FIELD_MANAGER },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      this.counts.labelWrites++;
    } catch (e) {
      // A pod deleted meanwhile needs no label.
      if (!isNotFound(e)) throw e;
    }
  }
}

/** Runs the jobs `limit` at a time; throws the first failure after all have run. */
async function runLimited(work: readonly (() => Promise<void>)[], limit: number): Promise<void> {
  let next = 0;
  let failure: unknown = null;
  const lane = async (): Promise<void> => {
    while (next < work.length) {
      const job = work[next++]!;
      try {
        await job();
      } catch (e) {
        failure ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, work.length) }, lane));
  if (failure !== null) throw failure;
}
