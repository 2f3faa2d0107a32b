/** Errors the Hubble client throws, with a stable code callers branch on (style.md 2.6). */
import { status } from '@grpc/grpc-js';

export const HubbleErrorCode = {
  /** The server refused the request for good (PERMISSION_DENIED, INVALID_ARGUMENT, …). */
  Rejected: 'HUBBLE_REJECTED',
  /** The client options cannot work (bad TLS files, bad target). */
  ConfigInvalid: 'CONFIG_INVALID',
} as const;
export type HubbleErrorCode = (typeof HubbleErrorCode)[keyof typeof HubbleErrorCode];

export class HubbleClientError extends Error {
  readonly code: HubbleErrorCode;
  /** The gRPC status behind a rejection, when there is one. */
  readonly grpcCode: number | null;

  constructor(code: HubbleErrorCode, message: string, options: { cause?: unknown; grpcCode?: number } = {}) {
    super(message, { cause: options.cause });
    this.name = 'HubbleClientError';
    this.code = code;
    this.grpcCode = options.grpcCode ?? null;
  }
}

/** Statuses that will not get better by retrying: report them and stop. */
const FATAL = new Set<number>([status.PERMISSION_DENIED, status.INVALID_ARGUMENT, status.UNAUTHENTICATED, status.UNIMPLEMENTED]);

/** The one place that says which gRPC failures are worth a reconnect. */
export function isRetryable(code: number | undefined): boolean {
  return code === undefined || !FATAL.has(code);
}

export function statusName(code: number | undefined): string {
  if (code === undefined) return 'UNKNOWN';
  return (status as unknown as Record<number, string>)[code] ?? String(code);
}
