/**
 * The admission webhook against the real kube-apiserver: the API server calls the control
 * plane's webhook over TLS (a CA generated here, given as the caBundle). A NetworkPolicy that
 * would break an edge seen in the traffic map is created with a warning the client sees (the
 * `Warning` response header, what kubectl prints), and refused in a namespace labelled
 * `rampart.dev/admission: enforce`, where the webhook reads the Namespace through the API.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AdmissionregistrationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { loadControlplaneConfig } from '../../controlplane/config/config.js';
import { startControlplane, type ControlplaneHandle } from '../../controlplane/main.js';
import { createJsonLogger } from '../../io/json-logger.js';
import { loadKubeConfig } from '../support/kube/client.js';
import { rawPost } from '../support/kube/raw-post.js';
import { aPeer, anEdge } from '../support/map-builders.js';
import { waitFor } from '../support/wait-for.js';

const kc = loadKubeConfig(inject('kubeconfig'));
const WARN_NS = 'map-admission-warn';
const ENFORCE_NS = 'map-admission-enforce';
const WEBHOOK = 'rampart-map-admission-test';
const TEST_LABEL = 'rampart-map-admission-test';

interface Answer {
  readonly status: number;
  readonly warnings: string[];
  readonly body: { message?: string; metadata?: { name?: string } };
}

/** Creates a NetworkPolicy over raw HTTPS, as kubectl does, to read the Warning headers. */
function createPolicy(config: KubeConfig, namespace: string, name: string, spec: Record<string, unknown>, labels: Record<string, string> = {}, dryRun = false): Promise<Answer> {
  const body = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name, namespace, labels }, spec };
  return rawPost<Answer['body']>(config, `/apis/networking.k8s.io/v1/namespaces/${namespace}/networkpolicies${dryRun ? '?dryRun=All' : ''}`, body);
}

const DENY_INGRESS = { podSelector: {}, policyTypes: ['Ingress'] };

describe('the admission webhook on a real API server', () => {
  let dir: string;
  let cp: ControlplaneHandle;
  const reviewsSeenBefore = (): number => cp.webhookLatenciesMs.length;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-admission-'));
    // A CA and a serving certificate for 127.0.0.1, as an operator (or cert-manager) would make.
    const ssl = (args: string[]): void => {
      execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
    };
    ssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=rampart-admission-test-ca']);
    fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    ssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'tls.key', '-out', 'tls.csr', '-subj', '/CN=rampart-admission']);
    ssl(['x509', '-req', '-in', 'tls.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'tls.crt', '-days', '1', '-extfile', 'ext']);
    fs.mkdirSync(path.join(dir, 'contracts'));
    const config = loadControlplaneConfig(
      [
        '--contracts', path.join(dir, 'contracts'),
        '--state', path.join(dir, 'state'),
        '--grpc-listen', '127.0.0.1:0',
        '--http-listen', '127.0.0.1:0',
        '--webhook-listen', '127.0.0.1:0',
        '--tls-cert', path.join(dir, 'tls.crt'),
        '--tls-key', path.join(dir, 'tls.key'),
        '--kubeconfig', inject('kubeconfig'),
      ],
      {},
    );
    if (!config.ok) throw new Error(JSON.stringify(config.error));
    fs.mkdirSync(path.join(dir, 'state'));
    cp = await startControlplane(config.value, { log: createJsonLogger('warn', () => undefined) });
    // Traffic the agents saw: frontend → api:8080 in both namespaces.
    const now = Date.now();
    for (const ns of [WARN_NS, ENFORCE_NS]) cp.map.map.ingest([anEdge(aPeer(ns, 'frontend'), aPeer(ns, 'api'), 8080, { count: 42, atMs: now })], 0, now);

    const core = kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: WARN_NS, labels: { [TEST_LABEL]: 'true' } } } });
    await core.createNamespace({ body: { metadata: { name: ENFORCE_NS, labels: { [TEST_LABEL]: 'true', 'rampart.dev/admission': 'enforce' } } } });
    // The deploy/ webhook's settings, pointed at this process and limited to this test's namespaces.
    await kc.makeApiClient(AdmissionregistrationV1Api).createValidatingWebhookConfiguration({
      body: {
        metadata: { name: WEBHOOK },
        webhooks: [
          {
            name: 'networkpolicies.admission.rampart.dev',
            admissionReviewVersions: ['v1'],
            sideEffects: 'None',
            failurePolicy: 'Ignore',
            timeoutSeconds: 5,
            clientConfig: { url: `https://127.0.0.1:${cp.webhookPort}/validate`, caBundle: fs.readFileSync(path.join(dir, 'ca.crt')).toString('base64') },
            rules: [{ apiGroups: ['networking.k8s.io'], apiVersions: ['v1'], resources: ['networkpolicies'], operations: ['CREATE', 'UPDATE', 'DELETE'], scope: 'Namespaced' }],
            objectSelector: { matchExpressions: [{ key: 'app.kubernetes.io/managed-by', operator: 'NotIn', values: ['rampart'] }] },
            namespaceSelector: { matchLabels: { [TEST_LABEL]: 'true' } },
          },
        ],
      },
    });
    // The API server picks a new webhook configuration up asynchronously: probe with dry runs.
    await waitFor(async () => ((await createPolicy(kc, WARN_NS, 'probe', DENY_INGRESS, {}, true)).warnings.length > 0 ? true : null), { timeoutMs: 30_000, intervalMs: 250, what: 'the API server to call the webhook' });
  }, 120_000);

  afterAll(async () => {
    await kc.makeApiClient(AdmissionregistrationV1Api).deleteValidatingWebhookConfiguration({ name: WEBHOOK }).catch(() => undefined);
    const core = kc.makeApiClient(CoreV1Api);
    for (const ns of [WARN_NS, ENFORCE_NS]) await core.deleteNamespace({ name: ns }).catch(() => undefined);
    await cp?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates a policy that would break a seen edge, with a warning the client sees', async () => {
    const before = reviewsSeenBefore();
    const started = performance.now();
    const a = await createPolicy(kc, WARN_NS, 'default-deny', DENY_INGRESS);
    const elapsed = performance.now() - started;
    expect(a.status).toBe(201);
    expect(a.body.metadata?.name).toBe('default-deny');
    expect(a.warnings.length).toBeGreaterThanOrEqual(2);
    expect(a.warnings[0]).toBe(`rampart: ${WARN_NS}/default-deny would newly deny 1 edge seen in live traffic`);
    expect(a.warnings[1]).toBe(`rampart: would deny ${WARN_NS}/frontend -> ${WARN_NS}/api:8080/TCP (42 seen)`);
    for (const w of a.warnings) expect(w.length).toBeLessThanOrEqual(120);
    expect(cp.webhookLatenciesMs.length).toBeGreaterThan(before);
    process.stderr.write(`admission: create with warning took ${elapsed.toFixed(0)} ms end to end; webhook reviews ${cp.webhookLatenciesMs.map((ms) => ms.toFixed(1)).join(', ')} ms\n`);
  });

  it('refuses it in a namespace labelled rampart.dev/admission=enforce, naming the edge', async () => {
    const a = await createPolicy(kc, ENFORCE_NS, 'default-deny', DENY_INGRESS);
    expect(a.status).toBe(403);
    expect(a.body.message).toContain('denied the request');
    expect(a.body.message).toContain(`${ENFORCE_NS}/frontend -> ${ENFORCE_NS}/api:8080/TCP`);
    expect(a.body.message).toContain('rampart.dev/admission=enforce');
  });

  it('lets through, without a warning, a policy that breaks nothing seen, and a policy Rampart manages', async () => {
    const harmless = await createPolicy(kc, ENFORCE_NS, 'allow-frontend', { podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Ingress'], ingress: [{ from: [{ podSelector: { matchLabels: { app: 'frontend' } } }], ports: [{ port: 8080 }] }] });
    expect(harmless.status).toBe(201);
    expect(harmless.warnings.filter((w) => w.startsWith('rampart:'))).toEqual([]);
    const managed = await createPolicy(kc, ENFORCE_NS, 'managed-deny', DENY_INGRESS, { 'app.kubernetes.io/managed-by': 'rampart', 'rampart.dev/contract': 'c' });
    expect(managed.status).toBe(201);
    expect(managed.warnings).toEqual([]);
    const metrics = await cp.registry.metrics();
    expect(metrics).toMatch(/rampart_controlplane_admission_review_seconds_count\{result="warned"\} [1-9]/);
    expect(metrics).toMatch(/rampart_controlplane_admission_review_seconds_count\{result="refused"\} [1-9]/);
    expect(metrics).toMatch(/rampart_controlplane_map_edges 2\b/);
  });
});
