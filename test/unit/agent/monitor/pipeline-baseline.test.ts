/**
 * The agent's pipeline judging contracts against the baseline it receives with the contract
 * set (product.md "the baseline"), through the real policy engine: newly denied sides are the
 * would-deny, already-denied and newly-allowed ones are counted apart, a contract's own
 * applied policies are not its baseline, and a changed baseline invalidates the verdict memo.
 */
import { describe, expect, it } from 'vitest';
import { ContractStore } from '../../../../agent/monitor/contract-store.js';
import { Pipeline } from '../../../../agent/monitor/pipeline.js';
import { networkPolicyEngine, type ContractEvaluator } from '../../../../agent/monitor/policy-engine.js';
import { sampleFlowJson } from '../../../../agent/monitor/sample-flow.js';
import type { ActiveContract, BaselinePolicyManifest, ContractSet, ContractWindow } from '../../../../core/summary/index.js';
import { silentLogger } from '../../../../io/json-logger.js';
import { aFlow, aPod, tcp } from '../../../support/builders.js';
import { everyFlowClassifier } from '../support/fake-engine.js';

const np = (name: string, spec: unknown): unknown => ({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace: 'shop' }, spec });
const app = (name: string): unknown => ({ matchLabels: { app: name } });
const allowIngress = (name: string, to: string, from: string, port: number): unknown => np(name, { podSelector: app(to), ingress: [{ from: [{ podSelector: app(from) }], ports: [{ port }] }] });
const base = (ref: string, manifest: unknown, owner: string | null = null): BaselinePolicyManifest => ({ ref: `shop/${ref}`, manifest, owner });

const web = aPod({ namespace: 'shop', labels: { app: 'web' } });
const api = aPod({ namespace: 'shop', labels: { app: 'api' } });
const db = aPod({ namespace: 'shop', labels: { app: 'db' } });
const webToApi = () => aFlow({ source: web, destination: api, l4: tcp(8080) });
const webToDb = () => aFlow({ source: web, destination: db, l4: tcp(5432) });

const contract = (name: string, policies: unknown[]): ActiveContract => ({ name, revision: 1, stageIndex: 0, stageName: 'monitor', policies, enforcement: { mode: 'monitor' } });

function setup() {
  let now = 1_000_000;
  const store = new ContractStore<ContractEvaluator>(networkPolicyEngine);
  const pipeline = new Pipeline<ContractEvaluator>({
    node: 'node-1',
    bootId: 'boot',
    windowMs: 10_000,
    topK: 5,
    classifier: everyFlowClassifier,
    engine: networkPolicyEngine,
    contracts: store,
    hubble: { connected: true, reconnects: 0 },
    clock: { nowMs: () => now },
    sampleOf: sampleFlowJson,
    onWindow: () => undefined,
    logger: silentLogger,
  });
  const window = (flows: (() => ReturnType<typeof aFlow>)[]): readonly ContractWindow[] => {
    for (const f of flows) pipeline.handle({ kind: 'flow', flow: f() });
    now += 10_000;
    return pipeline.flush().contracts;
  };
  const offer = async (set: ContractSet): Promise<void> => {
    const r = await store.offer(set);
    if (!r.ok || r.value.kind !== 'installed') throw new Error(JSON.stringify(r));
  };
  return { pipeline, window, offer };
}

const counts = (w: ContractWindow | undefined): string =>
  w === undefined
    ? 'missing'
    : `egress ${w.egress.allow}/${w.egress.deny}/${w.egress.indeterminate} ingress ${w.ingress.allow}/${w.ingress.deny}/${w.ingress.indeterminate} ` +
      `already ${w.baseline?.egress.alreadyDenied ?? 0}/${w.baseline?.ingress.alreadyDenied ?? 0} newly-allowed ${w.baseline?.egress.newlyAllowed ?? 0}/${w.baseline?.ingress.newlyAllowed ?? 0} rev ${w.baseline?.revision ?? '-'}`;

const lockdown = [np('default-deny', { podSelector: {}, policyTypes: ['Ingress', 'Egress'] })];

describe('Pipeline with a baseline', () => {
  it('counts newly denied as deny, already denied and newly allowed apart, and re-judges when the baseline changes', async () => {
    const { window, offer, pipeline } = setup();
    // Already in force: ingress locked, web → api admitted.
    const r1 = [base('legacy-lock', np('legacy-lock', { podSelector: {} })), base('api-from-web', allowIngress('api-from-web', 'api', 'web', 8080))];
    await offer({ generation: 1, contracts: [contract('c1', lockdown)], baseline: { revision: 'r1', policies: r1 } });
    const [first] = window([webToApi, webToDb, webToApi]);
    // egress: allowed by the baseline, denied with the lockdown (newly denied, 3 times);
    // ingress: api admitted by both (allow), db denied by both (already denied).
    expect(counts(first)).toBe('egress 0/3/0 ingress 2/0/0 already 0/1 newly-allowed 0/0 rev r1');

    // The baseline now also admits web → db: the memoised verdicts must not be reused.
    const r2 = [...r1, base('db-from-web', allowIngress('db-from-web', 'db', 'web', 5432))];
    await offer({ generation: 2, contracts: [contract('c1', lockdown)], baseline: { revision: 'r2', policies: r2 } });
    const [second] = window([webToApi, webToDb]);
    expect(counts(second)).toBe('egress 0/2/0 ingress 2/0/0 already 0/0 newly-allowed 0/0 rev r2');
    expect(pipeline.verdicts.size).toBeGreaterThan(0);
  });

  it('counts sides the contract opens as newly allowed, with their edges', async () => {
    const { window, offer } = setup();
    await offer({ generation: 1, contracts: [contract('c1', [allowIngress('db-from-web', 'db', 'web', 5432)])], baseline: { revision: 'r1', policies: [base('legacy-lock', np('legacy-lock', { podSelector: {} }))] } });
    const [w] = window([webToDb, webToDb, webToApi]);
    expect(counts(w)).toBe('egress 3/0/0 ingress 2/0/0 already 0/1 newly-allowed 0/2 rev r1');
    expect(w!.baseline!.newlyAllowedEdges).toMatchObject([{ fromWorkload: 'web', toWorkload: 'db', port: 5432, side: 'ingress', count: 2 }]);
    expect(w!.wouldDenyEdges).toEqual([]);
  });

  it('judges each contract against the policies it did not write', async () => {
    const { window, offer } = setup();
    // c1's own applied default-deny is in the cluster, labelled as c1's: c2's baseline only.
    const applied = base('default-deny', lockdown[0], 'c1');
    await offer({ generation: 1, contracts: [contract('c1', lockdown), contract('c2', [allowIngress('api-from-web', 'api', 'web', 8080)])], baseline: { revision: 'r1', policies: [applied] } });
    const ws = window([webToApi]);
    const c1 = ws.find((c) => c.contract === 'c1');
    const c2 = ws.find((c) => c.contract === 'c2');
    // c1 against an empty baseline: both sides newly denied.
    expect(counts(c1)).toBe('egress 0/1/0 ingress 0/1/0 already 0/0 newly-allowed 0/0 rev r1');
    // c2 against c1's lockdown: egress already denied, ingress newly allowed.
    expect(counts(c2)).toBe('egress 0/0/0 ingress 1/0/0 already 1/0 newly-allowed 0/1 rev r1');
  });

  it('without a baseline, windows carry no brownfield counts and verdicts are the contract\'s own', async () => {
    const { window, offer } = setup();
    await offer({ generation: 1, contracts: [contract('c1', lockdown)] });
    const [w] = window([webToApi]);
    expect(w!.baseline).toBeUndefined();
    expect(counts(w)).toBe('egress 0/1/0 ingress 0/1/0 already 0/0 newly-allowed 0/0 rev -');
  });

  it('rejects a set whose baseline has a bad policy, naming it, and keeps the previous set', async () => {
    const store = new ContractStore<ContractEvaluator>(networkPolicyEngine);
    const bad = base('broken', np('broken', { podSelector: {}, ingress: [{ ports: [{ port: 70_000 }] }] }));
    const r = await store.offer({ generation: 1, contracts: [contract('c1', lockdown)], baseline: { revision: 'r1', policies: [bad] } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(JSON.stringify(r.error)).toMatch(/baseline\[0\]\.spec\.ingress\[0\]\.ports\[0\]\.port.*judging contract c1/);
  });

  it('leaves a Cilium host policy in force out (it governs nodes, no pod side), and a bad policy after it keeps its index', async () => {
    const host = { ref: 'ccnp:host-fw', owner: null, manifest: { apiVersion: 'cilium.io/v2', kind: 'CiliumClusterwideNetworkPolicy', metadata: { name: 'host-fw' }, spec: { nodeSelector: {}, ingress: [{ fromEntities: ['cluster'] }] } } };
    const { window, offer } = setup();
    await offer({ generation: 1, contracts: [contract('c1', lockdown)], baseline: { revision: 'r1', policies: [host, base('allow-web-api', allowIngress('allow-web-api', 'api', 'web', 8080))] } });
    // Judged against the allow in force: web → api is denied by the contract's egress only.
    expect(counts(window([webToApi]).find((w) => w.contract === 'c1'))).toBe('egress 0/1/0 ingress 1/0/0 already 0/0 newly-allowed 0/0 rev r1');
    const store = new ContractStore<ContractEvaluator>(networkPolicyEngine);
    const bad = base('broken', np('broken', { podSelector: {}, ingress: [{ ports: [{ port: 70_000 }] }] }));
    const r = await store.offer({ generation: 1, contracts: [contract('c1', lockdown)], baseline: { revision: 'r1', policies: [host, bad] } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(JSON.stringify(r.error)).toMatch(/baseline\[1\]\.spec\.ingress\[0\]/);
  });
});

describe('ContractStore with a baseline', () => {
  it('compiles each (baseline, contract) pair once: a stage change keeps it, a new baseline or new policies do not', async () => {
    const store = new ContractStore<ContractEvaluator>(networkPolicyEngine);
    const baseline = (revision: string) => ({ revision, policies: [base('legacy-lock', np('legacy-lock', { podSelector: {} }))] });
    const compiledOf = () => store.active!.contracts[0]!.compiled;
    await store.offer({ generation: 1, contracts: [contract('c1', lockdown)], baseline: baseline('r1') });
    const first = compiledOf();
    await store.offer({ generation: 2, contracts: [{ ...contract('c1', lockdown), stageIndex: 1, stageName: 'canary' }], baseline: baseline('r1') });
    expect(compiledOf()).toBe(first);
    expect(store.active!.contracts[0]!.key.stageName).toBe('canary');
    await store.offer({ generation: 3, contracts: [contract('c1', lockdown)], baseline: baseline('r2') });
    const second = compiledOf();
    expect(second).not.toBe(first);
    await store.offer({ generation: 4, contracts: [contract('c1', [...lockdown, allowIngress('api-from-web', 'api', 'web', 8080)])], baseline: baseline('r2') });
    expect(compiledOf()).not.toBe(second);
  });
});
