/**
 * Hot standby (product.md "Kubernetes mode", High availability): every replica ingests every
 * agent report, but the evidence store keeps windows only for a contract's current stage.
 * A standby does not reconcile, so it learns each contract's revision, stage and stage start
 * from the status the leader writes, and opens that stage in its store: the windows agents
 * send it from then on are kept, and a new leader continues the stage on them (the same
 * stage key and start, so nothing is reset, and windows are deduplicated per replica, so
 * nothing is counted twice). What a standby can miss: windows of a new stage that arrive
 * before the leader's status names that stage (one status write).
 */
import type { Logger } from '../../core/common/index.js';
import type { KubeContractSource } from '../contracts/kube-contract-source.js';
import type { EvidenceStore } from '../ingest/evidence-store.js';

export interface StandbyOptions {
  readonly source: KubeContractSource;
  readonly store: EvidenceStore;
  readonly isLeader: () => boolean;
  readonly intervalMs: number;
  readonly log: Logger;
}

/** The stage a status names: revision number, stage index, when it was entered. */
export function stageOfStatus(status: unknown): { revision: number; stageIndex: number; sinceMs: number } | null {
  if (typeof status !== 'object' || status === null) return null;
  const s = status as Record<string, unknown>;
  const stage = typeof s['stage'] === 'object' && s['stage'] !== null ? (s['stage'] as Record<string, unknown>) : null;
  const revision = s['revisionNumber'];
  const since = Date.parse(typeof s['stageEnteredAt'] === 'string' ? s['stageEnteredAt'] : '');
  const index = stage?.['index'];
  if (typeof revision !== 'number' || !Number.isInteger(revision) || typeof index !== 'number' || !Number.isInteger(index) || !Number.isFinite(since)) return null;
  return { revision, stageIndex: index, sinceMs: since };
}

/** Follows the leader's statuses while this replica stands by; stops when it leads (the reconciler takes over). */
export function followStatuses(o: StandbyOptions, signal: AbortSignal): void {
  const follow = (): void => {
    if (o.isLeader()) return;
    for (const entry of o.source.snapshot()) {
      const stage = stageOfStatus(o.source.object(entry.name)?.status);
      if (stage !== null) o.store.beginStage(entry.name, stage.revision, stage.stageIndex, stage.sinceMs);
    }
  };
  follow();
  o.source.onChange(follow);
  const timer = setInterval(follow, o.intervalMs);
  signal.addEventListener('abort', () => clearInterval(timer), { once: true });
  o.log.info('standby: following the leader\'s statuses for the evidence of running stages');
}
