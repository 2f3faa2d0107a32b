/**
 * Change verdicts (product.md "What is already enforced: the baseline", "Changes to what is
 * enforced"): *before* = B, *after* = (B − R) ∪ P. One named case per situation, each checked
 * on both sides' changes, the overall change, and the verdicts under each set.
 */
import { describe, expect, it } from 'vitest';
import type { Flow } from '../../../../core/flow/index.js';
import { createChangeEvaluator, createEvaluator, identityKey, identityOf, sideChange, type Change, type NetworkPolicy, type PolicyIdentity, type SideChange, type SideVerdict } from '../../../../core/policy/index.js';
import { anExternal, anUnknown, tcp } from '../../../support/builders.js';
import { BOTH, conn, np, pods } from './helpers.js';

const { web, api, db } = pods;

const denyAll = (name = 'default-deny'): NetworkPolicy => np('shop', name, { podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
const denyIngress = (name = 'deny-ingress'): NetworkPolicy => np('shop', name, { podSelector: {}, policyTypes: ['Ingress'] });
const denyEgress = (name = 'deny-egress'): NetworkPolicy => np('shop', name, { podSelector: {}, policyTypes: ['Egress'] });
const webToApiEgress = (name = 'web-out'): NetworkPolicy =>
  np('shop', name, { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: { matchLabels: { app: 'api' } } }], ports: [{ port: 8080 }] }] });
const apiFromWebIngress = (name = 'api-in'): NetworkPolicy =>
  np('shop', name, { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }], ports: [{ port: 8080 }] }] });
const apiFromAnyone = (name = 'api-open'): NetworkPolicy => np('shop', name, { podSelector: { matchLabels: { app: 'api' } }, ingress: [{}] });
const dbOnlyIngress = (name = 'db-lock'): NetworkPolicy => np('shop', name, { podSelector: { matchLabels: { app: 'db' } }, ingress: [] });
const namedPortIn = (name = 'api-named'): NetworkPolicy =>
  np('shop', name, { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ ports: [{ port: 'http' }] }] });

const webToApi = conn(web, api, tcp(8080));
const webToApiOtherPort = conn(web, api, tcp(9090));
const webToDb = conn(web, db, tcp(5432));

interface Case {
  readonly name: string;
  readonly baseline: readonly NetworkPolicy[];
  readonly proposed: readonly NetworkPolicy[];
  /** R: taken out of the baseline in *after* (replaces ∪ removes). */
  readonly removed?: readonly PolicyIdentity[];
  readonly flow: Flow;
  readonly egress: SideChange;
  readonly ingress: SideChange;
  readonly change: Change;
  /** Verdicts under the baseline alone, then under the union: `egress/ingress`. */
  readonly before: string;
  readonly after: string;
}

const ref = (p: NetworkPolicy): PolicyIdentity => identityOf(p);
/** api admits web on every port: the over-broad allow that a replacement narrows. */
const apiFromWebAnyPort = (name = 'api-in'): NetworkPolicy => np('shop', name, { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'web' } } }] }] });

const cases: Case[] = [
  {
    name: 'replace: the narrowed text of an allow denies a port the old text allowed: newly-denied',
    baseline: [denyIngress(), apiFromWebAnyPort()], proposed: [apiFromWebIngress()], removed: [ref(apiFromWebAnyPort())],
    flow: webToApiOtherPort, egress: 'same', ingress: 'newly-denied', change: 'newly-denied', before: 'allow/allow', after: 'allow/deny',
  },
  {
    name: 'replace: a port both texts allow stays the same',
    baseline: [denyIngress(), apiFromWebAnyPort()], proposed: [apiFromWebIngress()], removed: [ref(apiFromWebAnyPort())],
    flow: webToApi, egress: 'same', ingress: 'same', change: 'same', before: 'allow/allow', after: 'allow/allow',
  },
  {
    name: 'same-named policy without R: after is B ∪ P, the old text still admits (no silent replacement)',
    baseline: [denyIngress(), apiFromWebAnyPort()], proposed: [apiFromWebIngress()],
    flow: webToApiOtherPort, egress: 'same', ingress: 'same', change: 'same', before: 'allow/allow', after: 'allow/allow',
  },
  {
    name: 'remove: deleting the only allow of an isolated pod: newly-denied',
    baseline: [denyIngress(), apiFromAnyone()], proposed: [], removed: [ref(apiFromAnyone())],
    flow: webToApi, egress: 'same', ingress: 'newly-denied', change: 'newly-denied', before: 'allow/allow', after: 'allow/deny',
  },
  {
    name: 'remove: deleting the policy that isolates a pod allows what it denied: newly-allowed',
    baseline: [dbOnlyIngress()], proposed: [], removed: [ref(dbOnlyIngress())],
    flow: webToDb, egress: 'same', ingress: 'newly-allowed', change: 'newly-allowed', before: 'allow/deny', after: 'allow/allow',
  },
  {
    name: 'remove: R naming a policy that is not in B changes nothing',
    baseline: [denyIngress()], proposed: [], removed: [{ kind: 'NetworkPolicy', namespace: 'shop', name: 'nowhere' }],
    flow: webToApi, egress: 'same', ingress: 'already-denied', change: 'same', before: 'allow/deny', after: 'allow/deny',
  },
  {
    name: 'R is keyed by kind: a CiliumNetworkPolicy of the same namespace/name does not take the NetworkPolicy out',
    baseline: [denyIngress(), apiFromAnyone()], proposed: [], removed: [{ kind: 'CiliumNetworkPolicy', namespace: 'shop', name: 'api-open' }],
    flow: webToApi, egress: 'same', ingress: 'same', change: 'same', before: 'allow/allow', after: 'allow/allow',
  },
  {
    name: 'baseline allows, proposal is a default-deny plus the same allows: same',
    baseline: [webToApiEgress(), apiFromWebIngress()], proposed: [denyAll('lockdown')],
    flow: webToApi, egress: 'same', ingress: 'same', change: 'same', before: 'allow/allow', after: 'allow/allow',
  },
  {
    name: 'baseline allows only 8080, proposal default-deny: other ports were already denied',
    baseline: [webToApiEgress(), apiFromWebIngress()], proposed: [denyAll('lockdown')],
    flow: webToApiOtherPort, egress: 'already-denied', ingress: 'already-denied', change: 'same', before: 'deny/deny', after: 'deny/deny',
  },
  {
    name: 'no baseline, proposal default-deny: newly denied on both sides',
    baseline: [], proposed: [denyAll()],
    flow: webToApi, egress: 'newly-denied', ingress: 'newly-denied', change: 'newly-denied', before: 'allow/allow', after: 'deny/deny',
  },
  {
    name: 'baseline default-deny, proposal allows the edge: newly allowed',
    baseline: [denyAll()], proposed: [webToApiEgress(), apiFromWebIngress()],
    flow: webToApi, egress: 'newly-allowed', ingress: 'newly-allowed', change: 'newly-allowed', before: 'deny/deny', after: 'allow/allow',
  },
  {
    name: 'baseline default-deny, proposal allows only the ingress: one side newly allowed, the other still denied',
    baseline: [denyAll()], proposed: [apiFromWebIngress()],
    flow: webToApi, egress: 'already-denied', ingress: 'newly-allowed', change: 'newly-allowed', before: 'deny/deny', after: 'deny/allow',
  },
  {
    name: 'egress isolated by the baseline (allowed), ingress isolated by the proposal (denied)',
    baseline: [webToApiEgress()], proposed: [denyIngress()],
    flow: webToApi, egress: 'same', ingress: 'newly-denied', change: 'newly-denied', before: 'allow/allow', after: 'allow/deny',
  },
  {
    name: 'egress denied by the baseline, ingress newly denied by the proposal: newly-denied wins',
    baseline: [denyEgress()], proposed: [denyIngress()],
    flow: webToApi, egress: 'already-denied', ingress: 'newly-denied', change: 'newly-denied', before: 'deny/allow', after: 'deny/deny',
  },
  {
    name: 'one side newly denied, the other newly allowed: newly-denied wins',
    baseline: [denyEgress()], proposed: [webToApiEgress(), denyIngress()],
    flow: webToApi, egress: 'newly-allowed', ingress: 'newly-denied', change: 'newly-denied', before: 'deny/allow', after: 'allow/deny',
  },
  {
    name: 'a proposal that changes nothing (its policies select other pods)',
    baseline: [denyAll(), webToApiEgress(), apiFromWebIngress()], proposed: [dbOnlyIngress()],
    flow: webToApi, egress: 'same', ingress: 'same', change: 'same', before: 'allow/allow', after: 'allow/allow',
  },
  {
    name: 'a proposal that changes nothing (it repeats a baseline allow)',
    baseline: [denyAll(), webToApiEgress(), apiFromWebIngress()], proposed: [apiFromWebIngress('api-in-copy')],
    flow: webToApi, egress: 'same', ingress: 'same', change: 'same', before: 'allow/allow', after: 'allow/allow',
  },
  {
    name: 'a proposal that isolates another pod denies only that pod',
    baseline: [], proposed: [dbOnlyIngress()],
    flow: webToDb, egress: 'same', ingress: 'newly-denied', change: 'newly-denied', before: 'allow/allow', after: 'allow/deny',
  },
  {
    name: 'an allow-all ingress on top of a baseline default-deny: newly allowed',
    baseline: [denyIngress()], proposed: [apiFromAnyone()],
    flow: conn(anExternal(), api, tcp(8080), { source: '192.0.2.1', destination: '10.0.1.2', version: 4 }), egress: 'none', ingress: 'newly-allowed', change: 'newly-allowed', before: 'none/deny', after: 'none/allow',
  },
  {
    name: 'indeterminate under the proposal (named port, no resolver): indeterminate, never newly denied',
    baseline: [], proposed: [namedPortIn()],
    flow: webToApi, egress: 'same', ingress: 'indeterminate', change: 'same', before: 'allow/allow', after: 'allow/indeterminate',
  },
  {
    name: 'indeterminate under the baseline (unknown source identity), denied under the union: indeterminate',
    baseline: [np('shop', 'web-only', { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Egress'] })], proposed: [denyAll()],
    flow: conn(anUnknown({ id: 5, namespace: 'shop' }), api, tcp(8080)), egress: 'indeterminate', ingress: 'newly-denied', change: 'newly-denied', before: 'indeterminate/allow', after: 'deny/deny',
  },
  {
    name: 'indeterminate under the baseline, the proposal does not touch that side: indeterminate on both sets',
    baseline: [namedPortIn()], proposed: [denyEgress()],
    flow: webToApi, egress: 'newly-denied', ingress: 'indeterminate', change: 'newly-denied', before: 'allow/indeterminate', after: 'deny/indeterminate',
  },
];

const verdicts = (e: { readonly egress: SideVerdict | 'none'; readonly ingress: SideVerdict | 'none' }): string => `${e.egress}/${e.ingress}`;

describe('change verdicts: before = B against after = (B − R) ∪ P', () => {
  it.each(cases)('$name', (c) => {
    const evaluator = createChangeEvaluator({ baseline: c.baseline, proposed: c.proposed, removed: c.removed ?? [] });
    const removed = new Set((c.removed ?? []).map(identityKey));
    const after = [...c.baseline.filter((p) => !removed.has(identityKey(identityOf(p)))), ...c.proposed];
    // Twice: the second answer comes from the memo tables and must be the same.
    for (let pass = 0; pass < 2; pass++) {
      const r = evaluator.evaluate(c.flow, BOTH);
      expect({ egress: r.egress, ingress: r.ingress, change: r.change }, `${r.before.reason} | ${r.after.reason}`).toEqual({ egress: c.egress, ingress: c.ingress, change: c.change });
      expect(verdicts(r.before)).toBe(c.before);
      expect(verdicts(r.after)).toBe(c.after);
      // Each half equals a plain evaluator over that set.
      expect(verdicts(createEvaluator(c.baseline).evaluate(c.flow, BOTH))).toBe(c.before);
      expect(verdicts(createEvaluator(after).evaluate(c.flow, BOTH))).toBe(c.after);
    }
  });

  it('a side not evaluated on this node is none under both sets', () => {
    const r = createChangeEvaluator({ baseline: [], proposed: [denyAll()] }).evaluate(webToApi, { egress: true, ingress: false });
    expect({ egress: r.egress, ingress: r.ingress, change: r.change }).toEqual({ egress: 'newly-denied', ingress: 'none', change: 'newly-denied' });
  });

  it('fast path: where the proposal selects nothing the combined evaluation is the baseline one', () => {
    const r = createChangeEvaluator({ baseline: [denyAll()], proposed: [np('other', 'elsewhere', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })] }).evaluate(webToApi, BOTH);
    expect(r.after).toBe(r.before);
    expect(r.change).toBe('same');
    expect(r.egress).toBe('already-denied');
  });

  it('sideChange covers every pair of verdicts', () => {
    const all: (SideVerdict | 'none')[] = ['allow', 'deny', 'indeterminate', 'none'];
    const table = all.flatMap((b) => all.map((c) => `${b}>${c}=${sideChange(b, c)}`));
    expect(table).toEqual([
      'allow>allow=same',
      'allow>deny=newly-denied',
      'allow>indeterminate=indeterminate',
      'allow>none=none',
      'deny>allow=newly-allowed',
      'deny>deny=already-denied',
      'deny>indeterminate=indeterminate',
      'deny>none=none',
      'indeterminate>allow=indeterminate',
      'indeterminate>deny=indeterminate',
      'indeterminate>indeterminate=indeterminate',
      'indeterminate>none=none',
      'none>allow=none',
      'none>deny=none',
      'none>indeterminate=none',
      'none>none=none',
    ]);
  });
});

describe('evaluators own their state', () => {
  it('two evaluators over different sets never share answers', () => {
    const open = createEvaluator([]);
    const closed = createEvaluator([denyAll()]);
    for (let i = 0; i < 3; i++) {
      expect(open.evaluate(webToApi, BOTH).verdict).toBe('allow');
      expect(closed.evaluate(webToApi, BOTH).verdict).toBe('deny');
    }
  });

  it('the memo budget bounds what an evaluator holds, and releases are counted', () => {
    const evaluator = createEvaluator([denyAll()], { memoBudget: 4 });
    for (let port = 1; port <= 20; port++) expect(evaluator.evaluate(conn(web, api, tcp(port)), BOTH).verdict).toBe('deny');
    const stats = evaluator.memoStats();
    expect(stats.held).toBeLessThanOrEqual(4);
    expect(stats.releases).toBeGreaterThan(0);
    const roomy = createEvaluator([denyAll()]);
    for (let port = 1; port <= 20; port++) roomy.evaluate(conn(web, api, tcp(port)), BOTH);
    expect(roomy.memoStats()).toEqual({ held: 40, releases: 0 });
  });

  it('a memo budget of 0 holds no side result and never releases, with the same verdicts (the agent\'s setting)', () => {
    const none = createEvaluator([denyAll()], { memoBudget: 0 });
    const roomy = createEvaluator([denyAll()]);
    for (let round = 0; round < 2; round++) {
      for (let port = 1; port <= 20; port++) {
        const flow = conn(port % 2 === 0 ? web : api, port % 2 === 0 ? api : web, tcp(port));
        expect(none.evaluate(flow, BOTH)).toEqual(roomy.evaluate(flow, BOTH));
      }
    }
    expect(none.memoStats()).toEqual({ held: 0, releases: 0 });
  });

  it('rejects a memo budget that is not a non-negative integer', () => {
    expect(() => createEvaluator([], { memoBudget: -1 })).toThrow(/memoBudget/);
  });
});
