/**
 * Who may talk to the control plane in Kubernetes mode (product.md "Who may talk to it"):
 * - agents present their projected ServiceAccount token (audience `rampart`): a TokenReview
 *   with that audience must authenticate it, echo the audience back, and name the
 *   ServiceAccount `rampart-agent` of --namespace;
 * - API users present a Kubernetes bearer token: TokenReview, then a SubjectAccessReview
 *   for what they ask (`get`/`list` on rampcontracts for reads; `update` on the subresource
 *   `approve`, `pause`, `resume` or `rollback` for actions);
 * - the --token-file token, when configured, is accepted beside them.
 * Answers are cached briefly (bounded); a review that fails or times out refuses (fail closed)
 * and is not cached.
 */
import { createHash } from 'node:crypto';
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig, type V1UserInfo } from '@kubernetes/client-node';
import type { Clock, Logger } from '../../core/common/index.js';
import type { AccessAuthorizer, AccessDecision, AccessRequest, Authorizer } from './authorizer.js';
import { describeApiError } from '../../io/kube/api-error.js';
import { RAMPCONTRACT } from '../../core/contract/index.js';

export const AGENT_AUDIENCE = 'rampart';
export const AGENT_SERVICE_ACCOUNT = 'rampart-agent';
export const REVIEW_CACHE = Object.freeze({ maxEntries: 1024, allowedTtlMs: 10_000, refusedTtlMs: 2_000, timeoutMs: 5_000 });

export interface KubeAuthorizerOptions {
  readonly kc: KubeConfig;
  readonly namespace: string;
  readonly clock: Clock;
  readonly log: Logger;
  /** The --token-file authorizer, or null. */
  readonly tokenFile: Authorizer | null;
}

/** A small TTL cache with a bound: the oldest entry goes when full (Map keeps insertion order). */
class TtlCache<V> {
  private readonly map = new Map<string, { value: V; expiresMs: number }>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(key: string, nowMs: number): V | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    if (hit.expiresMs <= nowMs) {
      this.map.delete(key);
      return undefined;
    }
    return hit.value;
  }
  set(key: string, value: V, expiresMs: number): void {
    this.map.delete(key);
    if (this.map.size >= this.max) this.map.delete(this.map.keys().next().value!);
    this.map.set(key, { value, expiresMs });
  }
  size(): number {
    return this.map.size;
  }
}

type Review = { readonly ok: true; readonly user: V1UserInfo } | { readonly ok: false; readonly message: string };

function bearer(header: string | undefined): string | null {
  if (header === undefined) return null;
  const m = /^Bearer\s+(.+)$/i.exec(header.trim());
  return m ? m[1]!.trim() : null;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export class KubeAuthorizer implements AccessAuthorizer {
  readonly enabled = true;
  private readonly o: KubeAuthorizerOptions;
  private readonly authn: AuthenticationV1Api;
  private readonly authz: AuthorizationV1Api;
  private readonly reviews = new TtlCache<Review>(REVIEW_CACHE.maxEntries);
  private readonly access = new TtlCache<boolean>(REVIEW_CACHE.maxEntries);
  private calls = { tokenReviews: 0, accessReviews: 0 };

  constructor(options: KubeAuthorizerOptions) {
    this.o = options;
    this.authn = options.kc.makeApiClient(AuthenticationV1Api);
    this.authz = options.kc.makeApiClient(AuthorizationV1Api);
  }

  /** Reviews sent to the API server so far (tests: the cache answers repeats). */
  reviewCalls(): { tokenReviews: number; accessReviews: number } {
    return { ...this.calls };
  }

  /**
   * The synchronous check knows only the token file. NOTE: the map and preview paths
   * (http/server.ts) still call it, so Kubernetes users are refused there; the rest of the
   * API and the collector use authorize().
   */
  check(header: string | undefined): boolean {
    return this.o.tokenFile?.check(header) ?? false;
  }

  async authorize(header: string | undefined, request: AccessRequest): Promise<AccessDecision> {
    if (this.o.tokenFile?.check(header)) return { outcome: 'allowed', user: null };
    const token = bearer(header);
    if (token === null) return { outcome: 'unauthenticated', user: null, message: 'a bearer token is required' };
    const agent = request.kind === 'agent';
    const review = await this.review(token, agent ? [AGENT_AUDIENCE] : null);
    if (!review.ok) return { outcome: 'unauthenticated', user: null, message: review.message };
    const user = review.user;
    const username = user.username ?? '';
    if (agent) {
      const expected = `system:serviceaccount:${this.o.namespace}:${AGENT_SERVICE_ACCOUNT}`;
      return username === expected ? { outcome: 'allowed', user: username } : { outcome: 'forbidden', user: username, message: `agents must be ${expected}` };
    }
    const allowed = await this.allowed(user, request);
    if (allowed === null) return { outcome: 'forbidden', user: username, message: 'the access review failed' };
    return allowed ? { outcome: 'allowed', user: username } : { outcome: 'forbidden', user: username, message: `${username} may not ${describeRequest(request)}` };
  }

  private key(...parts: string[]): string {
    return createHash('sha256').update(parts.join('\u0000')).digest('hex');
  }

  private async review(token: string, audiences: string[] | null): Promise<Review> {
    const nowMs = this.o.clock.nowMs();
    const key = this.key(token, ...(audiences ?? []));
    const cached = this.reviews.get(key, nowMs);
    if (cached) return cached;
    let result: Review;
    try {
      this.calls.tokenReviews++;
      const res = await withTimeout(
        this.authn.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token, ...(audiences ? { audiences } : {}) } } }),
        REVIEW_CACHE.timeoutMs,
        'TokenReview',
      );
      const s = res.status;
      if (!s?.authenticated || !s.user) result = { ok: false, message: s?.error ? `token not accepted: ${s.error}` : 'token not accepted' };
      // An authenticator that ignored the audience would echo none back: refuse.
      else if (audiences && !audiences.every((a) => s.audiences?.includes(a))) result = { ok: false, message: `token is not for audience ${audiences.join(',')}` };
      else result = { ok: true, user: s.user };
    } catch (e) {
      this.o.log.warn('TokenReview failed; refusing', { err: { message: describeApiError(e) } });
      return { ok: false, message: 'the token could not be reviewed' };
    }
    this.reviews.set(key, result, nowMs + (result.ok ? REVIEW_CACHE.allowedTtlMs : REVIEW_CACHE.refusedTtlMs));
    return result;
  }

  private async allowed(user: V1UserInfo, request: Exclude<AccessRequest, { kind: 'agent' }>): Promise<boolean | null> {
    const attrs =
      request.kind === 'read'
        ? { verb: request.contract === null ? 'list' : 'get', ...(request.contract === null ? {} : { name: request.contract }) }
        : { verb: 'update', subresource: request.action, name: request.contract };
    const nowMs = this.o.clock.nowMs();
    const key = this.key(user.username ?? '', user.uid ?? '', ...(user.groups ?? []), JSON.stringify(attrs));
    const cached = this.access.get(key, nowMs);
    if (cached !== undefined) return cached;
    let allowed: boolean;
    try {
      this.calls.accessReviews++;
      const res = await withTimeout(
        this.authz.createSubjectAccessReview({
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SubjectAccessReview',
            spec: {
              user: user.username,
              uid: user.uid,
              groups: user.groups,
              extra: user.extra,
              resourceAttributes: { group: RAMPCONTRACT.group, version: RAMPCONTRACT.version, resource: RAMPCONTRACT.plural, ...attrs },
            },
          },
        }),
        REVIEW_CACHE.timeoutMs,
        'SubjectAccessReview',
      );
      allowed = res.status?.allowed === true && res.status.denied !== true;
    } catch (e) {
      this.o.log.warn('SubjectAccessReview failed; refusing', { err: { message: describeApiError(e) } });
      return null;
    }
    this.access.set(key, allowed, nowMs + (allowed ? REVIEW_CACHE.allowedTtlMs : REVIEW_CACHE.refusedTtlMs));
    return allowed;
  }
}

function describeRequest(r: Exclude<AccessRequest, { kind: 'agent' }>): string {
  if (r.kind === 'read') return r.contract === null ? 'list rampcontracts' : `get rampcontract ${r.contract}`;
  return `update rampcontracts/${r.action} of ${r.contract}`;
}
