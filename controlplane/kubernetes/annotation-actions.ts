/**
 * Operator actions by annotation (product.md "Actions without the HTTP API"): the leader
 * reads `rampart.dev/action` and `rampart.dev/action-id` on each RampContract and acts once
 * per id, through the same Reconciler.act as the HTTP API, so the transition is in history
 * with its actor. The outcome goes into `status.lastAction` (Accepted, or Refused with the
 * reason, which the status also shows as a problem). RBAC on the object decides who may
 * annotate; the actor is the field manager that wrote the action-id (managedFields), since the
 * API does not tell a watcher which user made an update.
 *
 * Once per id: an id equal to the lastAction's (this leader's, else the status's) is never
 * acted on again, so a new leader or a restart does not repeat an action.
 */
import type { Clock, Logger } from '../../core/common/index.js';
import { ACTION_ID_ANNOTATION, actionRequestOf, type LastActionJson } from '../../core/contract/index.js';
import type { Reconciler } from '../rollout/reconciler.js';
import type { RampContractObject } from '../contracts/rampcontract-gvr.js';

interface ManagedFieldsEntry {
  readonly manager?: string;
  readonly operation?: string;
  readonly time?: string;
  readonly fieldsV1?: Record<string, unknown>;
}

type AnnotatedObject = RampContractObject & {
  readonly metadata?: { readonly annotations?: Record<string, string>; readonly managedFields?: readonly ManagedFieldsEntry[] };
};

export interface AnnotationActionsOptions {
  readonly object: (name: string) => RampContractObject | null;
  readonly names: () => readonly string[];
  readonly reconciler: Pick<Reconciler, 'act'>;
  readonly clock: Clock;
  readonly log: Logger;
  readonly isLeader: () => boolean;
  /** Writes the contract's status now (lastAction included). */
  readonly persist: (name: string) => Promise<void>;
}

/** Who wrote the action-id: the field manager that owns it (kubectl-annotate, kubectl-rampart, argocd-controller, …). */
export function actorOf(obj: AnnotatedObject): string {
  const owner = (obj.metadata?.managedFields ?? []).find((m) => {
    const annotations = (m.fieldsV1?.['f:metadata'] as Record<string, unknown> | undefined)?.['f:annotations'] as Record<string, unknown> | undefined;
    return annotations !== undefined && `f:${ACTION_ID_ANNOTATION}` in annotations;
  });
  return owner?.manager ? `annotation by ${owner.manager}` : 'annotation';
}

export class AnnotationActions {
  private readonly o: AnnotationActionsOptions;
  /** Per contract, the last action handled (seeded from status: a successor never repeats one). */
  private readonly last = new Map<string, LastActionJson>();

  constructor(o: AnnotationActionsOptions) {
    this.o = o;
  }

  /** What status.lastAction should say for a contract (null: keep what the status has). */
  lastAction(name: string): LastActionJson | null {
    return this.last.get(name) ?? null;
  }

  /** Forgets a contract (deleted, or replaced by a new object of the same name). */
  forget(name: string): void {
    this.last.delete(name);
  }

  /** Looks at every contract's annotations (on winning the Lease, and periodically). */
  checkAll(): void {
    for (const name of this.o.names()) this.check(name);
  }

  /** Acts on the contract's action annotation if it carries an id not handled yet. */
  check(name: string): void {
    if (!this.o.isLeader()) return;
    const obj = this.o.object(name) as AnnotatedObject | null;
    if (!obj) return;
    const request = actionRequestOf(obj.metadata?.annotations);
    if (request === null) return;
    const id = request.ok ? request.value.id : (obj.metadata?.annotations?.[ACTION_ID_ANNOTATION] ?? '');
    const handled = this.last.get(name) ?? ((obj.status?.['lastAction'] as LastActionJson | undefined) ?? null);
    if (handled !== null && handled.id === id) return;
    const actor = actorOf(obj);
    const at = new Date(this.o.clock.nowMs()).toISOString();
    let outcome: LastActionJson;
    if (!request.ok) {
      outcome = { id, action: obj.metadata?.annotations?.['rampart.dev/action'] ?? '', at, actor, result: 'Refused', message: `${request.error.path}: ${request.error.message}` };
    } else {
      const r = this.o.reconciler.act(name, request.value.action, actor, `${request.value.action} by ${actor} (action-id ${id})`);
      // Not reconciled yet (a contract just created): the next check acts on it.
      if (!r.ok && r.status === 404) return;
      outcome = r.ok ? { id, action: request.value.action, at, actor, result: 'Accepted' } : { id, action: request.value.action, at, actor, result: 'Refused', message: r.message };
    }
    this.last.set(name, outcome);
    this.o.log.info('action by annotation', { contract: name, ...outcome });
    this.o.persist(name).catch(() => undefined); // logged by the status writer
  }
}
