/**
 * Follows the control plane's API during the demo: reports every stage or phase change with
 * the decision's reasons, and starts the scenario's "new caller" a little after the trigger
 * contract completes. It only reads the API, as any client would.
 */
import { isObject, systemClock, type Clock } from '../../core/common/index.js';
export interface ContractSnapshot {
  readonly name: string;
  readonly stageIndex: number;
  readonly stageName: string;
  readonly phase: string;
  readonly decision: string;
  readonly reasons: readonly string[];
  readonly actualDenies: number;
}

export interface NarratorOptions {
  readonly baseUrl: string;
  readonly token: string;
  readonly intervalMs: number;
  /** The contract whose completion brings in the new caller. */
  readonly triggerContract: string;
  readonly lateAfterMs: number;
  readonly onChange: (now: ContractSnapshot, before: ContractSnapshot | null) => void;
  readonly onLateCaller: () => void;
  readonly signal: AbortSignal;
  /** When the late caller is due is timed on it; default the system clock. */
  readonly clock?: Clock;
}


export function snapshotOf(item: unknown): ContractSnapshot | null {
  if (!isObject(item) || typeof item.name !== 'string') return null;
  const stage = isObject(item.stage) ? item.stage : {};
  const decision = isObject(item.decision) ? item.decision : {};
  const evidence = isObject(item.evidence) ? item.evidence : {};
  return {
    name: item.name,
    stageIndex: typeof stage.index === 'number' ? stage.index : 0,
    stageName: typeof stage.name === 'string' ? stage.name : '',
    phase: typeof item.phase === 'string' ? item.phase : 'Unknown',
    decision: typeof decision.kind === 'string' ? decision.kind : '',
    reasons: Array.isArray(decision.reasons) ? decision.reasons.filter((r): r is string => typeof r === 'string') : [],
    actualDenies: typeof evidence.actualDenies === 'number' ? evidence.actualDenies : 0,
  };
}

/** The CronJob wait that holds a contract, if that is what holds it (said once when it starts). */
function waitingFor(s: ContractSnapshot): string | null {
  const r = s.reasons[0];
  return r !== undefined && r.startsWith('inconclusive: waiting for CronJob') ? r : null;
}

export class Narrator {
  private readonly opts: NarratorOptions;
  private readonly last = new Map<string, ContractSnapshot>();
  private lateAtMs: number | null = null;
  lateStarted = false;

  constructor(opts: NarratorOptions) {
    this.opts = opts;
  }

  async run(): Promise<void> {
    while (!this.opts.signal.aborted) {
      await this.pollOnce();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.opts.intervalMs);
        this.opts.signal.addEventListener('abort', () => {
          clearTimeout(t);
          resolve();
        }, { once: true });
      });
    }
  }

  snapshots(): ContractSnapshot[] {
    return [...this.last.values()];
  }

  /** The decision and reasons of the transition itself (the latest history entry), not the next hold. */
  private async withTransitionReasons(snap: ContractSnapshot): Promise<ContractSnapshot> {
    try {
      const res = await fetch(`${this.opts.baseUrl}/api/v1/contracts/${encodeURIComponent(snap.name)}/history`, {
        headers: { authorization: `Bearer ${this.opts.token}` },
        signal: this.opts.signal,
      });
      if (!res.ok) return snap;
      const body: unknown = await res.json();
      const items = isObject(body) && Array.isArray(body.items) ? (body.items as unknown[]) : [];
      const last = items[items.length - 1];
      if (!isObject(last)) return snap;
      const decision = typeof last.decision === 'string' ? last.decision : isObject(last.decision) && typeof last.decision.kind === 'string' ? last.decision.kind : snap.decision;
      const reasons = Array.isArray(last.reasons) ? last.reasons.filter((r): r is string => typeof r === 'string') : snap.reasons;
      const actor = typeof last.actor === 'string' && last.actor !== 'auto' ? ` (by ${last.actor})` : '';
      return { ...snap, decision: decision + actor, reasons };
    } catch {
      return snap;
    }
  }

  private async pollOnce(): Promise<void> {
    let body: unknown;
    try {
      const res = await fetch(`${this.opts.baseUrl}/api/v1/contracts`, { headers: { authorization: `Bearer ${this.opts.token}` }, signal: this.opts.signal });
      if (!res.ok) return;
      body = await res.json();
    } catch {
      return; // the control plane may still be starting; the supervisor reports a real crash
    }
    const items = isObject(body) && Array.isArray(body.items) ? (body.items as unknown[]) : [];
    const now = (this.opts.clock ?? systemClock).nowMs();
    for (const item of items) {
      const snap = snapshotOf(item);
      if (!snap) continue;
      const before = this.last.get(snap.name) ?? null;
      this.last.set(snap.name, snap);
      if (!before || before.stageIndex !== snap.stageIndex || before.phase !== snap.phase) this.opts.onChange(await this.withTransitionReasons(snap), before);
      else if (waitingFor(snap) !== null && waitingFor(before) === null) this.opts.onChange(snap, before);
      if (snap.name === this.opts.triggerContract && snap.phase === 'Complete' && this.lateAtMs === null) this.lateAtMs = now + this.opts.lateAfterMs;
    }
    if (this.lateAtMs !== null && !this.lateStarted && now >= this.lateAtMs) {
      this.lateStarted = true;
      this.opts.onLateCaller();
    }
  }
}
