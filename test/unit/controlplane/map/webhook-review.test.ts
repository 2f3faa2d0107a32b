import { describe, expect, it } from 'vitest';
import { cut, MAX_WARNING_CHARS, review, warningsFor } from '../../../../controlplane/admission/webhook.js';
import { EMPTY_BASELINE, MapService } from '../../../../controlplane/map/map-service.js';
import type { BaselineSource } from '../../../../controlplane/baseline/baseline-source.js';
import { createJsonLogger } from '../../../../io/json-logger.js';
import { aPeer, allowIngress, anEdge, policyDoc } from '../../../support/map-builders.js';

const log = createJsonLogger('error', () => undefined);
const NOW = Date.parse('2026-03-01T00:00:00Z');
const reviewOf = (object: unknown, operation = 'CREATE', namespace = 'shop'): unknown => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'abc', kind: { group: 'networking.k8s.io', version: 'v1', kind: 'NetworkPolicy' }, operation, namespace, ...(operation === 'DELETE' ? { object: null, oldObject: object } : { object }) },
});
const open = { labels: () => Promise.resolve({}) };
const enforce = { labels: () => Promise.resolve({ 'rampart.dev/admission': 'enforce' }) };

function service(baseline: BaselineSource = EMPTY_BASELINE): MapService {
  const s = new MapService({ stateDir: null, baseline, clock: { nowMs: () => NOW }, log });
  s.map.ingest([anEdge(aPeer('shop', 'frontend'), aPeer('shop', 'api'), 8080, { count: 7, atMs: NOW }), anEdge(aPeer('shop', 'scraper'), aPeer('shop', 'api'), 8080, { count: 3, atMs: NOW })], 0, NOW);
  return s;
}
const deny = policyDoc('shop', 'deny', { podSelector: {}, policyTypes: ['Ingress'] });
const res = (o: { response: Record<string, unknown> }): Record<string, unknown> => o.response['response'] as Record<string, unknown>;

describe('admission review', () => {
  it('warns, naming the top edges, each warning within 120 characters', async () => {
    const out = await review(reviewOf(deny), service(), open, log);
    const r = res(out);
    expect(r).toMatchObject({ uid: 'abc', allowed: true });
    expect(r['warnings']).toEqual(['rampart: shop/deny would newly deny 2 edges seen in live traffic', 'rampart: would deny shop/frontend -> shop/api:8080/TCP (7 seen)', 'rampart: would deny shop/scraper -> shop/api:8080/TCP (3 seen)']);
  });

  it('refuses only in an enforce namespace', async () => {
    const r = res(await review(reviewOf(deny), service(), enforce, log));
    expect(r['allowed']).toBe(false);
    expect((r['status'] as { code: number }).code).toBe(403);
  });

  it('judges an update against the policies in force without the old version', async () => {
    // In force: allow frontend → api. The update narrows it to port 9999: frontend is newly denied, scraper was denied already.
    const before = allowIngress('shop', 'api', 'frontend', 8080);
    const baseline: BaselineSource = { start: () => Promise.resolve(), snapshot: () => ({ revision: '1', policies: [{ ref: 'shop/allow-frontend-to-api', manifest: before, owner: null }] }), onChange: () => undefined };
    const after = allowIngress('shop', 'api', 'frontend', 9999);
    const r = res(await review(reviewOf(after, 'UPDATE'), service(baseline), open, log));
    expect(r['warnings']).toEqual(['rampart: shop/allow-frontend-to-api would newly deny 1 edge seen in live traffic', 'rampart: would deny shop/frontend -> shop/api:8080/TCP (7 seen)']);
  });

  it('judges a deletion: removing the allow beside an isolating policy denies its traffic', async () => {
    const allow = allowIngress('shop', 'api', 'frontend', 8080);
    const baseline: BaselineSource = {
      start: () => Promise.resolve(),
      snapshot: () => ({ revision: '1', policies: [{ ref: 'shop/allow-frontend-to-api', manifest: allow, owner: null }, { ref: 'shop/deny', manifest: deny, owner: null }] }),
      onChange: () => undefined,
    };
    const r = res(await review(reviewOf(allow, 'DELETE'), service(baseline), open, log));
    expect(r['allowed']).toBe(true);
    expect(r['warnings']).toEqual(['rampart: deleting shop/allow-frontend-to-api would newly deny 1 edge seen in live traffic', 'rampart: would deny shop/frontend -> shop/api:8080/TCP (7 seen)']);
  });

  it('never stands in the way of what it does not judge', async () => {
    const s = service();
    expect(res(await review(reviewOf({ ...deny, metadata: { name: 'x', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'rampart' } } }), s, enforce, log))).toEqual({ uid: 'abc', allowed: true });
    expect(res(await review(reviewOf(deny, 'DELETE'), s, enforce, log))).toEqual({ uid: 'abc', allowed: true });
    expect(res(await review(reviewOf(deny, 'CONNECT'), s, enforce, log))).toEqual({ uid: 'abc', allowed: true });
    expect(res(await review(reviewOf({ kind: 'NetworkPolicy', spec: 'nonsense' }), s, enforce, log))).toEqual({ uid: 'abc', allowed: true });
    expect(res(await review({ request: { uid: 'u', kind: { group: 'apps', kind: 'Deployment' } } }, s, enforce, log))).toEqual({ uid: 'u', allowed: true });
    const failing = { labels: () => Promise.reject(new Error('api down')) };
    expect(res(await review(reviewOf(deny), s, failing, log))['allowed']).toBe(true);
  });

  it('cuts long warnings', () => {
    const long = `${'x'.repeat(60)}/${'y'.repeat(60)}`;
    for (const w of warningsFor('shop/p', [{ from: long, to: long, port: 1, protocol: 'TCP', count: 1 }], false)) expect(w.length).toBeLessThanOrEqual(MAX_WARNING_CHARS);
    expect(cut('abc', 2)).toBe('a…');
  });
});
