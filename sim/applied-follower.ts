/**
 * Follows what the control plane's actuator applies: polls `GET /api/v1/contracts` and
 * hands each contract's `applied` field to the simulated datapath. Polling (not the stream)
 * because the contract list is the record; a missed poll only delays enforcement by one
 * interval. Errors are counted and reported through `onError`, never thrown.
 */
import type { AppliedStage } from '../core/rollout/index.js';
import { isObject } from '../core/common/index.js';
import type { PolicyIdentity } from '../core/policy/index.js';

export interface AppliedFollowerOptions {
  /** Base URL of the control plane's HTTP API, e.g. `http://127.0.0.1:8080`. */
  readonly baseUrl: string;
  readonly token: string | null;
  readonly intervalMs: number;
  readonly onApplied: (contracts: readonly AppliedStage[]) => void;
  readonly onError?: (message: string) => void;
  readonly signal: AbortSignal;
}


/** `replaces` / `removes` of an `applied` field: policy references, malformed entries skipped. */
function refsOf(a: Readonly<Record<string, unknown>>, field: 'replaces' | 'removes'): Partial<Record<'replaces' | 'removes', PolicyIdentity[]>> {
  const list = Array.isArray(a[field]) ? (a[field] as unknown[]) : [];
  const refs = list.flatMap((r) => (isObject(r) && typeof r.kind === 'string' && typeof r.namespace === 'string' && typeof r.name === 'string' ? [{ kind: r.kind, namespace: r.namespace, name: r.name }] : []));
  return refs.length === 0 ? {} : { [field]: refs };
}

/** Reads the `applied` field of each contract in a `GET /api/v1/contracts` body; skips what does not fit. */
export function appliedFromContracts(body: unknown): AppliedStage[] {
  if (!isObject(body) || !Array.isArray(body.items)) return [];
  const out: AppliedStage[] = [];
  for (const item of body.items as unknown[]) {
    if (!isObject(item) || typeof item.name !== 'string' || !isObject(item.applied)) continue;
    const a = item.applied;
    const mode = a.mode;
    if (mode !== 'monitor' && mode !== 'percent' && mode !== 'namespaces') continue;
    out.push({
      contract: item.name,
      revision: typeof item.revision === 'number' ? item.revision : 0,
      stageIndex: typeof a.stageIndex === 'number' ? a.stageIndex : 0,
      stageName: typeof a.stageName === 'string' ? a.stageName : '',
      mode,
      percent: typeof a.percent === 'number' ? a.percent : 0,
      namespaces: Array.isArray(a.namespaces) ? a.namespaces.filter((n): n is string => typeof n === 'string') : [],
      policies: Array.isArray(a.policies) ? (a.policies as unknown[]) : [],
      ...refsOf(a, 'replaces'),
      ...refsOf(a, 'removes'),
    });
  }
  return out;
}

export class AppliedFollower {
  private readonly opts: AppliedFollowerOptions;
  private timer: NodeJS.Timeout | null = null;
  private lastKey = '';
  polls = 0;
  errors = 0;

  constructor(opts: AppliedFollowerOptions) {
    this.opts = opts;
  }

  start(): void {
    const tick = async (): Promise<void> => {
      await this.pollOnce();
      if (!this.opts.signal.aborted) this.timer = setTimeout(() => void tick(), this.opts.intervalMs);
    };
    this.opts.signal.addEventListener('abort', () => {
      if (this.timer) clearTimeout(this.timer);
    });
    void tick();
  }

  async pollOnce(): Promise<void> {
    this.polls++;
    try {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
      const res = await fetch(`${this.opts.baseUrl}/api/v1/contracts`, { headers, signal: this.opts.signal });
      if (!res.ok) throw new Error(`GET /api/v1/contracts: HTTP ${res.status}`);
      const applied = appliedFromContracts(await res.json());
      // Hand over only changes, so the datapath recompiles policies only when they change.
      const key = JSON.stringify(applied.map((a) => [a.contract, a.revision, a.stageIndex, a.mode, a.percent, a.namespaces, a.replaces ?? [], a.removes ?? []]));
      if (key !== this.lastKey) {
        this.lastKey = key;
        this.opts.onApplied(applied);
      }
    } catch (e) {
      if (this.opts.signal.aborted) return;
      this.errors++;
      this.opts.onError?.(e instanceof Error ? e.message : String(e));
    }
  }
}
