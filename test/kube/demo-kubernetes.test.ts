/**
 * The whole loop against the real API server: `rampart demo --kubernetes --fast` (simulated
 * nodes and Hubble, real Pods, RampContracts, NetworkPolicies, labels, status and Events,
 * the control plane in Kubernetes mode). shop-lockdown ramps monitor → 10% → 50% → 100% →
 * Complete on real NetworkPolicies and pod labels while the status tells the story; then a
 * new caller's connections are really dropped by those policies and roll it back.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, type V1ObjectMeta } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { enrollmentBucket } from '../../core/contract/index.js';
import { GROUP, PLURAL, VERSION, customObjects, installCrd, loadKubeConfig } from '../support/kube/client.js';
import { waitFor } from '../support/wait-for.js';

const kubeconfig = inject('kubeconfig');
const kc = loadKubeConfig(kubeconfig);
const objects = customObjects(kc);
const core = kc.makeApiClient(CoreV1Api);
const bin = fileURLToPath(new URL('../../bin/rampart.js', import.meta.url));
const CONTRACT = 'shop-lockdown';
const KEY = `enroll.rampart.dev/${CONTRACT}`;

interface Status {
  phase?: string;
  stage?: { index: number; name: string };
  decision?: { kind: string; reasons: string[] };
  history?: { from: string; to: string; phase: string; decision: string; reasons?: string[] }[];
  conditions?: { type: string; status: string; reason: string }[];
}
interface RawPolicy {
  metadata: V1ObjectMeta;
  spec: { podSelector: { matchExpressions?: { key: string; operator: string }[] } };
}

/** What one poll saw: the contract's status and the cluster's state for it. */
interface Sample {
  readonly atMs: number;
  readonly stage: string;
  readonly phase: string;
  readonly policies: RawPolicy[];
  readonly enrolled: string[];
}

const PERCENT: Record<string, number> = { canary: 10, half: 50, full: 100 };

async function status(name: string): Promise<Status> {
  const obj = (await objects.getClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL, name })) as { status?: Status };
  return obj.status ?? {};
}

async function sample(t0: number): Promise<Sample> {
  // The cluster first, the status last: a stage reaches the cluster only after the status names
  // it, so what the cluster held then is never ahead of the status read after it (read the
  // other way round, the ramp can advance between the reads).
  const nps = (await objects.listNamespacedCustomObject({ group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', namespace: 'shop' })) as { items: RawPolicy[] };
  const pods = await core.listNamespacedPod({ namespace: 'shop' });
  const s = await status(CONTRACT);
  return {
    atMs: Date.now() - t0,
    stage: s.stage?.name ?? '',
    phase: s.phase ?? '',
    policies: nps.items.filter((p) => p.metadata.labels?.['rampart.dev/contract'] === CONTRACT),
    enrolled: pods.items.filter((p) => p.metadata?.labels?.[KEY] === 'true').map((p) => p.metadata!.name!).sort(),
  };
}

/** Stops a demo still running after its test: SIGINT (it cleans up), SIGKILL after 15 s. */
async function stopDemo(child: ReturnType<typeof spawn> | null, exited: Promise<number | null>): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

describe('rampart demo --kubernetes', () => {
  const output: string[] = [];
  let child: ReturnType<typeof spawn> | null = null;
  let exited: Promise<number | null> = Promise.resolve(null);

  beforeAll(async () => {
    await installCrd(kc);
  });

  afterAll(async () => {
    await stopDemo(child, exited);
  });

  it('ramps shop-lockdown to Complete on real NetworkPolicies and pod labels, then real drops roll it back', { timeout: 220_000 }, async () => {
    const t0 = Date.now();
    child = spawn(process.execPath, [bin, 'demo', '--kubernetes', '--kubeconfig', kubeconfig, '--fast', '--headless', '--http-listen', '127.0.0.1:0', '--duration', '130s', '--late-after', '6s', '--first-run-after', '15s'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, RAMPART_ACTUATOR_RESYNC_MS: '1000' },
    });
    const proc = child;
    exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    for (const s of [proc.stdout, proc.stderr]) if (s) createInterface({ input: s }).on('line', (l) => output.push(l));

    const samples: Sample[] = [];
    const seen = async (): Promise<Sample> => {
      const s = await sample(t0);
      samples.push(s);
      return s;
    };
    // Polls until the contract is Complete (the status the control plane writes).
    const complete = await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`the demo exited (${proc.exitCode}):\n${output.slice(-20).join('\n')}`);
        const s = await seen().catch(() => null);
        return s?.phase === 'Complete' ? s : null;
      },
      { timeoutMs: 110_000, intervalMs: 150, what: `${CONTRACT} Complete (output so far:\n${output.slice(-10).join('\n')})` },
    ).catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n--- demo output ---\n${output.slice(-30).join('\n')}`);
    });
    const rampMs = complete.atMs;

    // The story, in order, as the status told it while it happened.
    const stages = samples.map((s) => s.stage).filter((s, i, a) => s !== '' && s !== a[i - 1]);
    expect(stages).toEqual(['monitor', 'canary', 'half', 'full']);
    const history = (await status(CONTRACT)).history ?? [];
    expect(history.map((h) => `${h.to}/${h.phase}`)).toEqual(expect.arrayContaining(['canary/Observing', 'half/Observing', 'full/Observing', 'full/Complete']));

    // monitor: nothing applied, nobody enrolled.
    for (const s of samples.filter((x) => x.stage === 'monitor')) {
      expect(s.policies).toEqual([]);
      expect(s.enrolled).toEqual([]);
    }
    // Percent stages: the enrolled pods are exactly the hash's (status is written first, so a
    // sample may still show the previous, smaller stage: never more than the stage allows).
    const shopPods = (await core.listNamespacedPod({ namespace: 'shop' })).items.map((p) => p.metadata!.name!);
    const expected = (p: number): string[] => shopPods.filter((n) => p >= 100 || enrollmentBucket(CONTRACT, 'shop', n) < p).sort();
    for (const stage of ['canary', 'half', 'full']) {
      const during = samples.filter((x) => x.stage === stage && x.phase === 'Observing');
      expect(during.length).toBeGreaterThan(0);
      for (const s of during) expect(s.enrolled.every((n) => expected(PERCENT[stage]!).includes(n))).toBe(true);
      expect(during.some((s) => s.enrolled.join() === expected(PERCENT[stage]!).join())).toBe(true);
      const applied = during.filter((s) => s.policies.length > 0);
      expect(applied.length).toBeGreaterThan(0);
      for (const s of applied) {
        for (const p of s.policies) {
          expect(p.spec.podSelector.matchExpressions).toEqual(expect.arrayContaining([{ key: KEY, operator: 'Exists' }]));
          expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: 'RampContract', name: CONTRACT });
        }
      }
    }
    expect(expected(100).length).toBe(shopPods.length);

    // Complete: every policy as written, labels gone, ownership handed off.
    const handedOff = await waitFor(
      async () => {
        const s = await seen();
        return s.phase === 'Complete' && s.enrolled.length === 0 && s.policies.length > 0 && s.policies.every((p) => (p.metadata.ownerReferences ?? []).length === 0) ? s : null;
      },
      { timeoutMs: 10_000, intervalMs: 100, what: 'the hand-off at Complete' },
    );
    for (const p of handedOff.policies) {
      expect(p.spec.podSelector.matchExpressions?.some((e) => e.key === KEY) ?? false).toBe(false);
      expect(p.metadata.annotations?.['rampart.dev/stage']).toBe('Complete');
    }
    // The Applied condition follows once the status writer has recorded the hand-off.
    await waitFor(async () => ((await status(CONTRACT)).conditions ?? []).find((c) => c.type === 'Applied')?.status === 'True', { timeoutMs: 10_000, what: 'Applied True at Complete' });

    // The new caller: its SYNs are dropped by the real policies, counted as actual denies, and
    // the ramp rolls back in one step to monitor (spec.rollback.to defaults to monitor): what
    // the contract applied is removed at once.
    const rolledBack = await waitFor(
      async () => {
        const s = await status(CONTRACT);
        return s.phase === 'RolledBack' ? s : null;
      },
      { timeoutMs: 40_000, intervalMs: 200, what: `${CONTRACT} rolled back by real drops` },
    );
    const rollback = (rolledBack.history ?? []).find((h) => h.decision === 'rollback');
    expect(rollback?.reasons?.join(' ')).toContain('shop/price-scraper → shop/catalog:8080/TCP');
    expect(rollback).toMatchObject({ from: 'full', to: 'monitor', phase: 'RolledBack' });
    expect(rolledBack.stage?.name).toBe('monitor');
    await waitFor(async () => (await seen()).policies.length === 0, { timeoutMs: 10_000, what: 'the rollback to monitor to remove the applied policies' });

    // payments-lockdown never left monitor: held for its CronJob (a real batch/v1 object), then
    // Blocked by the job's run (15-75 s after the start: --first-run-after 15s, not the default
    // 40s, waits 25 s less and still leaves a margin of 10 s or more over the API server
    // preparation and the control plane's start) with the edge named; nothing applied.
    const payments = await waitFor(
      async () => {
        const s = await status('payments-lockdown');
        return s.phase === 'Blocked' ? s : null;
      },
      { timeoutMs: 90_000, intervalMs: 500, what: 'payments-lockdown Blocked by its CronJob run' },
    );
    expect(payments.phase).toBe('Blocked');
    expect(payments.stage?.name).toBe('monitor');
    expect(payments.decision?.reasons.join(' ')).toContain('payments/invoice-job → payments/ledger:5432/TCP');
    const paymentsPolicies = (await objects.listClusterCustomObject({ group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', labelSelector: 'rampart.dev/contract=payments-lockdown' })) as { items: unknown[] };
    expect(paymentsPolicies.items).toEqual([]);

    // kafka-narrow replaced the over-broad data/kafka-producers: Blocked on the forgotten
    // producer, fixed as revision 2, Complete; the original now holds the narrowed text.
    const kafka = await waitFor(
      async () => {
        const k = await status('kafka-narrow');
        return k.phase === 'Complete' ? k : null;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'kafka-narrow Complete' },
    );
    expect((kafka.history ?? []).some((h) => h.phase === 'Blocked' && (h.reasons ?? []).join(' ').includes('payments/notifier → data/kafka:9092/TCP'))).toBe(true);
    await waitFor(async () => {
      const np = (await objects.getNamespacedCustomObject({ group: 'networking.k8s.io', version: 'v1', plural: 'networkpolicies', namespace: 'data', name: 'kafka-producers' })) as { spec: { podSelector: unknown; ingress: { from: unknown[] }[] } };
      return JSON.stringify(np.spec.podSelector) === JSON.stringify({ matchLabels: { app: 'kafka' } }) && JSON.stringify(np.spec.ingress[0]?.from).includes('checkout');
    }, { timeoutMs: 10_000, what: 'kafka-producers rewritten to the narrowed text' });

    // data-lockdown is judged against the data namespace's CiliumNetworkPolicies (real objects,
    // spec kept; one reaches object storage by toFQDNs): nothing is newly denied, so it never
    // holds on a would-deny and goes Complete.
    const backup = (await objects.getNamespacedCustomObject({ group: 'cilium.io', version: 'v2', plural: 'ciliumnetworkpolicies', namespace: 'data', name: 'backup-egress' })) as { spec?: { egress?: { toFQDNs?: unknown }[] } };
    expect(backup.spec?.egress?.some((r) => r.toFQDNs !== undefined)).toBe(true);
    const data = await waitFor(
      async () => {
        const d = await status('data-lockdown');
        return d.phase === 'Complete' ? d : null;
      },
      { timeoutMs: 30_000, intervalMs: 300, what: 'data-lockdown Complete against the CNP baseline' },
    ).catch(async (e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; status ${JSON.stringify(await status('data-lockdown'))}\n--- demo output ---\n${output.slice(-30).join('\n')}`);
    });
    expect((data.history ?? []).filter((h) => h.phase === 'Blocked')).toEqual([]);

    process.stderr.write(`kube: demo --kubernetes --fast: ${CONTRACT} monitor → Complete in ${(rampMs / 1000).toFixed(1)} s (from starting the demo; ${samples.length} samples)\n`);
  });
});

describe('rampart demo --kubernetes when Cilium drops the enrollment label from identities', () => {
  const output: string[] = [];
  let child: ReturnType<typeof spawn> | null = null;
  let exited: Promise<number | null> = Promise.resolve(null);

  afterAll(async () => {
    await stopDemo(child, exited);
  });

  it('blocks the percent stage with that reason instead of counting drops it cannot see', { timeout: 120_000 }, async () => {
    await installCrd(kc);
    child = spawn(
      process.execPath,
      [bin, 'demo', '--kubernetes', '--kubeconfig', kubeconfig, '--fast', '--headless', '--http-listen', '127.0.0.1:0', '--duration', '100s', '--late-after', '600s', '--drop-identity-labels', 'enroll.rampart.dev/'],
      // A short settle: the fast demo's stages last 5 s.
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RAMPART_ENROLL_SETTLE_MS: '500' } },
    );
    const proc = child;
    exited = new Promise((resolve) => proc.once('exit', (code) => resolve(code)));
    for (const s of [proc.stdout, proc.stderr]) if (s) createInterface({ input: s }).on('line', (l) => output.push(l));
    // The previous test's contract (and status) is there until the demo replaces it.
    await waitFor(() => output.some((l) => l.includes('RampContracts') && l.includes('created')), { timeoutMs: 30_000, what: 'the demo to create its contracts' });
    const phases: string[] = [];
    const blocked = await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`the demo exited (${proc.exitCode})`);
        const s = await status(CONTRACT).catch(() => null);
        if (s?.phase) phases.push(`${s.stage?.name}/${s.phase}`);
        return s?.phase === 'Blocked' && s.stage?.name !== 'monitor' ? s : null;
      },
      { timeoutMs: 90_000, intervalMs: 200, what: `${CONTRACT} Blocked at a percent stage` },
    ).catch((e: unknown) => {
      throw new Error(`${e instanceof Error ? e.message : String(e)}; phases ${[...new Set(phases)].join(' ')}\n--- demo output ---\n${output.slice(-30).join('\n')}`);
    });
    expect(blocked.decision?.reasons.join(' ')).toContain(`enrollment label ${KEY} does not reach the Hubble identities`);
    expect(phases).not.toContain('full/Complete');
    // The labels are on the pods (the API server's view): only the identities lack them.
    const pods = await core.listNamespacedPod({ namespace: 'shop' });
    expect(pods.items.some((p) => p.metadata?.labels?.[KEY] === 'true')).toBe(true);
  });
});
