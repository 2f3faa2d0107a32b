/**
 * Bearer-token checks for the gRPC collector and the HTTP API. The token lives in a file
 * (a mounted Secret rotates in place), so it is re-read when the file changes, at most once
 * per second. Without a token file authentication is off (main.ts warns about it).
 */
import * as fs from 'node:fs';
import { timingSafeEqual } from 'node:crypto';

const RECHECK_MS = 1000;

export interface Authorizer {
  /** Whether authentication is configured at all. */
  readonly enabled: boolean;
  /** Checks an `authorization` header value (`Bearer <token>`). */
  check(header: string | undefined): boolean;
}

export const OPEN_AUTHORIZER: Authorizer = { enabled: false, check: () => true };

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export class TokenFileAuthorizer implements Authorizer {
  readonly enabled = true;
  private readonly file: string;
  private token: string;
  private mtimeMs: number;
  private checkedAtMs = 0;

  /** Throws if the file cannot be read or is empty (a configuration error at start). */
  constructor(file: string) {
    this.file = file;
    const stat = fs.statSync(file);
    this.token = fs.readFileSync(file, 'utf8').trim();
    this.mtimeMs = stat.mtimeMs;
    if (this.token === '') throw new Error(`token file ${file} is empty`);
  }

  private refresh(): void {
    const now = Date.now();
    if (now - this.checkedAtMs < RECHECK_MS) return;
    this.checkedAtMs = now;
    try {
      const stat = fs.statSync(this.file);
      if (stat.mtimeMs === this.mtimeMs) return;
      const token = fs.readFileSync(this.file, 'utf8').trim();
      // A half-written or emptied file keeps the previous token rather than opening the door.
      if (token !== '') this.token = token;
      this.mtimeMs = stat.mtimeMs;
    } catch {
      // NOTE: the file being briefly absent during a Secret rotation keeps the previous token.
    }
  }

  check(header: string | undefined): boolean {
    if (header === undefined) return false;
    const m = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (!m) return false;
    this.refresh();
    return safeEqual(m[1]!.trim(), this.token);
  }
}

/** What a caller asks for (Kubernetes mode maps it to a SubjectAccessReview). */
export type AccessRequest =
  | { readonly kind: 'agent' }
  | { readonly kind: 'read'; readonly contract: string | null }
  | { readonly kind: 'action'; readonly action: 'approve' | 'pause' | 'resume' | 'rollback'; readonly contract: string };

export interface AccessDecision {
  readonly outcome: 'allowed' | 'unauthenticated' | 'forbidden';
  /** Who the caller is, when the check established it (a Kubernetes username); null otherwise. */
  readonly user: string | null;
  /** Why it was refused, for the error message (never echoes the token). */
  readonly message?: string;
}

/** An authorizer that can also check what the caller asks for (asynchronously). */
export interface AccessAuthorizer extends Authorizer {
  authorize(header: string | undefined, request: AccessRequest): Promise<AccessDecision>;
}

/** The async check (an AccessAuthorizer's own, else the bearer-token check): the collector and the API use it, except the map and preview paths, which call check(). */
export function authorize(a: Authorizer, header: string | undefined, request: AccessRequest): Promise<AccessDecision> {
  const access = a as Partial<AccessAuthorizer>;
  if (typeof access.authorize === 'function') return access.authorize.call(a, header, request);
  return Promise.resolve(a.check(header) ? { outcome: 'allowed', user: null } : { outcome: 'unauthenticated', user: null });
}
