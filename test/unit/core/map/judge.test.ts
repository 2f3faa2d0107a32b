import { describe, expect, it } from 'vitest';
import { MapJudge } from '../../../../core/map/index.js';
import { identityOf } from '../../../../core/policy/index.js';
import { aPeer, allowIngress, anEdge, denyIngress, policy, policyDoc, WORLD } from '../../../support/map-builders.js';

const frontend = aPeer('shop', 'frontend');
const api = aPeer('shop', 'api');
const scraper = aPeer('shop', 'scraper');
const toApi = anEdge(frontend, api, 8080);
const scraperToApi = anEdge(scraper, api, 8080);

describe('MapJudge: map edges against the baseline and a proposal', () => {
  const cases: { name: string; baseline: Record<string, unknown>[]; proposed: Record<string, unknown>[]; edge: ReturnType<typeof anEdge>; verdict: string }[] = [
    { name: 'nothing in force, nothing proposed that isolates', baseline: [], proposed: [allowIngress('other', 'x', 'y', 1)], edge: toApi, verdict: 'allow' },
    { name: 'a default-deny on a clean baseline breaks the edge', baseline: [], proposed: [denyIngress('shop')], edge: toApi, verdict: 'would-deny' },
    { name: 'a default-deny with the allow already in the baseline', baseline: [allowIngress('shop', 'api', 'frontend', 8080)], proposed: [denyIngress('shop')], edge: toApi, verdict: 'allow' },
    { name: 'denied by the baseline and still denied', baseline: [denyIngress('shop')], proposed: [allowIngress('shop', 'api', 'frontend', 9999)], edge: toApi, verdict: 'already-denied' },
    { name: 'denied by the baseline and allowed by the proposal', baseline: [denyIngress('shop')], proposed: [allowIngress('shop', 'api', 'frontend', 8080)], edge: toApi, verdict: 'newly-allowed' },
    { name: 'an allow for someone else leaves the scraper denied', baseline: [], proposed: [allowIngress('shop', 'api', 'frontend', 8080)], edge: scraperToApi, verdict: 'would-deny' },
    { name: 'an external caller against an ipBlock rule is indeterminate (no IPs in the map)', baseline: [], proposed: [policyDoc('shop', 'from-cidr', { podSelector: {}, policyTypes: ['Ingress'], ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }] })], edge: anEdge(WORLD, api, 8080), verdict: 'indeterminate' },
    { name: 'an end whose labels were cut is indeterminate', baseline: [], proposed: [allowIngress('shop', 'api', 'frontend', 8080)], edge: anEdge({ ...frontend, labelsPartial: true }, api, 8080), verdict: 'indeterminate' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const j = MapJudge.forContract({ baseline: c.baseline.map(policy), proposed: c.proposed.map(policy) });
      expect(j.judge(c.edge).verdict).toBe(c.verdict);
    });
  }

  it('without a proposal, says what the baseline does today', () => {
    expect(MapJudge.baselineOnly([policy(denyIngress("shop"))]).judge(toApi).verdict).toBe('denied');
    expect(MapJudge.baselineOnly([]).judge(toApi).verdict).toBe('allow');
    const j = MapJudge.baselineOnly([policy(denyIngress("shop"))]).judge(toApi);
    expect(j.ingress).toBe('already-denied');
    expect(j.egress).toBe('same');
  });

  it('a replaced allow is judged as its new text: the narrowed rule newly denies the scraper', () => {
    const old = policy(allowIngress('shop', 'api', 'frontend', 8080));
    const broad = { ...old, ingress: [{ peers: [], ports: old.ingress[0]!.ports }] };
    const j = MapJudge.forContract({ baseline: [policy(denyIngress('shop')), broad], proposed: [old], removed: [identityOf(broad)] });
    expect(j.judge(scraperToApi).verdict).toBe('would-deny');
    expect(j.judge(toApi).verdict).toBe('allow');
    // Not named in R, the same-named text is added beside the old one: nothing is denied.
    expect(MapJudge.forContract({ baseline: [policy(denyIngress('shop')), broad], proposed: [old] }).judge(scraperToApi).verdict).toBe('allow');
  });

  it('names the side and the reason of a would-deny', () => {
    const j = MapJudge.forContract({ baseline: [], proposed: [policy(denyIngress('shop'))] }).judge(toApi);
    expect(j.ingress).toBe('newly-denied');
    expect(j.egress).toBe('same');
    expect(j.reason).toContain('shop/deny-ingress');
  });
});
