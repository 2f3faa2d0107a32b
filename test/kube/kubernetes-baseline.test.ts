/**
 * The baseline in Kubernetes mode: every NetworkPolicy in the cluster, watched, each with
 * its owner (the `rampart.dev/contract` label a contract's applied policies carry), so a
 * contract is judged against everything it did not write.
 */
import { afterAll, describe, expect, inject, it } from 'vitest';
import { KubernetesBaselineSource } from '../../controlplane/baseline/kube-baseline-source.js';
import { baselineFor } from '../../controlplane/baseline/baseline-source.js';
import { silentLogger } from '../../io/json-logger.js';
import { customObjects, loadKubeConfig, uniqueName } from '../support/kube/client.js';
import { createNamespace, networking } from '../support/kube/objects.js';
import { waitFor } from '../support/wait-for.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const net = networking(kc);
const controller = new AbortController();
afterAll(() => controller.abort());

describe('Kubernetes baseline source', () => {
  it('holds every NetworkPolicy with its owner, and changes revision when one changes', async () => {
    const ns = uniqueName('base');
    await createNamespace(kc, ns);
    // Plain JSON through the generic client (the typed one would drop `from`: its field is `_from`).
    await customObjects(kc).createNamespacedCustomObject({
      group: 'networking.k8s.io',
      version: 'v1',
      plural: 'networkpolicies',
      namespace: ns,
      body: { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'by-hand', namespace: ns }, spec: { podSelector: { matchLabels: { app: 'db' } }, ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }] } },
    });
    await net.createNamespacedNetworkPolicy({
      namespace: ns,
      body: { metadata: { name: 'from-c1', namespace: ns, labels: { 'rampart.dev/contract': 'c1', 'app.kubernetes.io/managed-by': 'rampart' } }, spec: { podSelector: {}, policyTypes: ['Ingress'] } },
    });
    const source = new KubernetesBaselineSource({ kc, log: silentLogger });
    let changes = 0;
    source.onChange(() => changes++);
    await source.start(controller.signal);
    const mine = (): { ref: string; owner: string | null; manifest: unknown }[] => source.snapshot().policies.filter((p) => p.ref.startsWith(`${ns}/`));
    expect(mine().map((p) => [p.ref, p.owner])).toEqual([
      [`${ns}/by-hand`, null],
      [`${ns}/from-c1`, 'c1'],
    ]);
    // Plain manifests core/policy parses (peers under `from`, not the typed client's `_from`).
    expect(mine()[0]!.manifest).toMatchObject({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', spec: { ingress: [{ from: [{ podSelector: { matchLabels: { app: 'api' } } }] }] } });
    const forC1 = baselineFor(source.snapshot(), 'c1').filter((p) => p.ref.startsWith(`${ns}/`));
    expect(forC1.map((p) => p.ref)).toEqual([`${ns}/by-hand`]);
    expect(baselineFor(source.snapshot(), 'c2').filter((p) => p.ref.startsWith(`${ns}/`))).toHaveLength(2);

    const revision = source.snapshot().revision;
    const before = changes;
    await net.deleteNamespacedNetworkPolicy({ name: 'by-hand', namespace: ns });
    await waitFor(() => source.snapshot().revision !== revision && mine().length === 1, { timeoutMs: 10_000, what: 'the deletion in the baseline' });
    expect(changes).toBeGreaterThan(before);
  });
});
