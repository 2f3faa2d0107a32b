/**
 * What a Kubernetes API call's failure was, for decisions: the HTTP status code and the
 * Status object's `reason` (NotFound, AlreadyExists, Conflict, Expired, …), never its
 * message text, which is for people and may change between versions. client-node reports a
 * failed call as an ApiException (`code`, `body`: the Status as JSON text or object) and a
 * failed watch request as an error with `statusCode`.
 */
import { ApiException } from '@kubernetes/client-node';

export interface ApiErrorStatus {
  /** The HTTP status code, or null when the call never got an answer (network, TLS, abort). */
  readonly code: number | null;
  /** The Status object's reason, when the server sent one. */
  readonly reason: string | null;
}

interface StatusBody {
  readonly reason?: unknown;
  readonly message?: unknown;
}

/** The Status object of the error's body, if it carries one (JSON text or already parsed). */
function statusBody(e: object): StatusBody | null {
  const body = (e as { body?: unknown }).body;
  if (typeof body === 'object' && body !== null) return body as StatusBody;
  if (typeof body !== 'string' || body === '') return null;
  try {
    const parsed: unknown = JSON.parse(body);
    return typeof parsed === 'object' && parsed !== null ? (parsed as StatusBody) : null;
  } catch {
    return null; // not JSON: no Status to read
  }
}

export function apiErrorStatus(e: unknown): ApiErrorStatus {
  if (typeof e !== 'object' || e === null) return { code: null, reason: null };
  const o = e as { statusCode?: unknown; code?: unknown };
  const code = typeof o.statusCode === 'number' ? o.statusCode : typeof o.code === 'number' ? o.code : null;
  const reason = statusBody(e)?.reason;
  return { code, reason: typeof reason === 'string' && reason !== '' ? reason : null };
}

export const isNotFound = (e: unknown): boolean => apiErrorStatus(e).code === 404;
/** 409: AlreadyExists on create, Conflict on a stale resourceVersion. */
export const isConflict = (e: unknown): boolean => apiErrorStatus(e).code === 409;
/** 410 Gone: a watch's resourceVersion is older than the server keeps; relist. */
export const isGone = (e: unknown): boolean => apiErrorStatus(e).code === 410;

/** One line for logs and status messages: `HTTP 403: <the server's message>`, or the error's own message. */
export function describeApiError(e: unknown): string {
  if (e instanceof ApiException) {
    const status = statusBody(e);
    const body: unknown = (e as ApiException<unknown>).body;
    const detail = typeof status?.message === 'string' ? status.message : status === null && typeof body === 'string' ? body.slice(0, 200) : '';
    return `HTTP ${e.code}${detail ? `: ${detail}` : ''}`;
  }
  if (e instanceof Error) {
    const message = statusBody(e)?.message;
    return typeof message === 'string' ? `${e.message}: ${message}` : e.message;
  }
  return String(e);
}
