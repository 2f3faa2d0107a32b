/**
 * Operator actions by annotation (product.md "Actions without the HTTP API"): a RampContract
 * annotated `rampart.dev/action: approve|pause|resume|rollback` with a
 * `rampart.dev/action-id` is acted on once per id by the leader, which records the outcome in
 * `status.lastAction`. Pure: the names, and reading the request from an object's annotations.
 */
import { err, ok, problem, type Problem, type Result } from '../common/index.js';

export const ACTION_ANNOTATION = 'rampart.dev/action';
export const ACTION_ID_ANNOTATION = 'rampart.dev/action-id';
export const OPERATOR_ACTIONS = ['approve', 'pause', 'resume', 'rollback'] as const;
export type OperatorActionName = (typeof OPERATOR_ACTIONS)[number];

/** An action-id is any string up to this long (it is echoed into status). */
export const ACTION_ID_MAX = 128;

export interface ActionRequest {
  readonly action: OperatorActionName;
  readonly id: string;
}

/** What the leader did with a request, as `status.lastAction` records it. */
export interface LastActionJson {
  id: string;
  action: string;
  /** RFC 3339. */
  at: string;
  actor: string;
  /** `Accepted`, or `Refused` with the reason in `message` (and a status problem). */
  result: 'Accepted' | 'Refused';
  message?: string;
}

/**
 * The action the annotations ask for: null when there is none (no action annotation), else
 * the request or the problem with it (unknown action, missing or overlong id).
 */
export function actionRequestOf(annotations: Readonly<Record<string, string>> | undefined): Result<ActionRequest, Problem> | null {
  const action = annotations?.[ACTION_ANNOTATION];
  if (action === undefined) return null;
  const where = `metadata.annotations[${ACTION_ANNOTATION}]`;
  const id = annotations?.[ACTION_ID_ANNOTATION];
  if (!(OPERATOR_ACTIONS as readonly string[]).includes(action)) return err(problem(where, `expected one of ${OPERATOR_ACTIONS.join(', ')}, got ${JSON.stringify(action)}`));
  if (id === undefined || id.trim() === '') return err(problem(`metadata.annotations[${ACTION_ID_ANNOTATION}]`, `required with ${ACTION_ANNOTATION}: any string unique to this request`));
  if (id.length > ACTION_ID_MAX) return err(problem(`metadata.annotations[${ACTION_ID_ANNOTATION}]`, `at most ${ACTION_ID_MAX} characters, got ${id.length}`));
  return ok({ action: action as OperatorActionName, id });
}
