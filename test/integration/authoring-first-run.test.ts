/**
 * What a first run on a real microservices app found (issue 23), one block per defect, each
 * through the real CLI: suggest never widens a rule for a workload without labels, never
 * locks down a system namespace's shared services unless asked, knows which namespace the
 * manifests are for; audit reads manifests, leaves system namespaces out, keeps public entry
 * points open, reports a rule once; the loaders say what is wrong with Helm templates,
 * kustomizations, duplicates and unknown fields; the CLI's help and version are where
 * people look.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { connectionLine, KUBE_DNS } from '../support/app-flows.js';
import { REPO_ROOT } from '../support/controlplane-process.js';
import { runCli } from '../support/run-cli.js';

let dir: string;
let n = 0;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'rampart-first-run-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder with these files. */
function folder(files: Record<string, string>): string {
  const d = join(dir, `case-${++n}`);
  for (const [name, text] of Object.entries(files)) {
    const file = join(d, name);
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, text);
  }
  return d;
}

const file = (name: string, text: string): string => {
  const f = join(dir, `${++n}-${name}`);
  writeFileSync(f, text);
  return f;
};

const deployment = (name: string, o: { namespace?: string; labels?: Record<string, string> | null; selector?: Record<string, string> | null; env?: Record<string, string>; port?: number }): string => {
  const labels = o.labels === undefined ? { app: name } : o.labels;
  const selector = o.selector === undefined ? labels : o.selector;
  const doc = {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, ...(o.namespace === undefined ? {} : { namespace: o.namespace }) },
    spec: {
      ...(selector === null ? {} : { selector: { matchLabels: selector } }),
      template: {
        ...(labels === null ? {} : { metadata: { labels } }),
        spec: { containers: [{ name, image: `${name}:1`, ...(o.port === undefined ? {} : { ports: [{ containerPort: o.port }] }), env: Object.entries(o.env ?? {}).map(([k, v]) => ({ name: k, value: v })) }] },
      },
    },
  };
  return JSON.stringify(doc);
};
const service = (name: string, port: number, o: { namespace?: string; type?: string; selector?: Record<string, string> } = {}): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'Service', metadata: { name, ...(o.namespace === undefined ? {} : { namespace: o.namespace }) }, spec: { ...(o.type ? { type: o.type } : {}), selector: o.selector ?? { app: name }, ports: [{ port, targetPort: port }] } });
const docs = (...d: string[]): string => d.join('\n---\n');

interface Policy {
  metadata: { name: string; namespace: string };
  spec: { podSelector: { matchLabels?: Record<string, string> }; ingress?: { from?: Record<string, unknown>[]; ports?: unknown[] }[]; egress?: { to?: Record<string, unknown>[]; ports?: { protocol: string; port: number }[] }[] };
}
const policiesOf = (text: string): Policy[] => (parse(text) as { spec: { policies: Policy[] } }).spec.policies;

describe('1. a workload without labels never widens a rule', () => {
  it('--manifests: a Deployment without labels, or whose selector matches no template label, is skipped with a note', async () => {
    const d = folder({
      'app.yaml': docs(
        deployment('web', { namespace: 'shop', labels: null, selector: null, env: { API: 'http://api:8080' } }),
        deployment('batch', { namespace: 'shop', labels: {}, selector: { app: 'batch' }, env: { API: 'api:8080' } }),
        deployment('api', { namespace: 'shop', port: 8080 }),
        service('api', 8080, { namespace: 'shop' }),
        deployment('client', { namespace: 'shop', env: { API: 'api:8080' } }),
      ),
    });
    const out = join(dir, 'one.yaml');
    const r = await runCli(['suggest', '--manifests', d, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('shop/web: skipped: its pod template has no labels');
    expect(r.stderr).toContain('shop/batch: skipped: its pod template has no labels, so its selector app=batch matches none of its pods');
    const policies = policiesOf(readFileSync(out, 'utf8'));
    // Only the namespace-wide default-deny and DNS policies select every pod; no peer is {}.
    for (const p of policies) if (!['default-deny', 'allow-dns'].includes(p.metadata.name)) expect(p.spec.podSelector.matchLabels, p.metadata.name).toBeDefined();
    expect(readFileSync(out, 'utf8')).not.toMatch(/podSelector: \{\}\n\s+(ports|namespaceSelector)|- podSelector: \{\}/);
    const api = policies.find((p) => p.metadata.name === 'api')!;
    expect(api.spec.ingress).toEqual([{ from: [{ podSelector: { matchLabels: { app: 'client' } } }], ports: [{ protocol: 'TCP', port: 8080 }] }]);
  });

  it('--flows: pods that share no stable label are refused, naming the workload', async () => {
    const flows = file('unlabeled.jsonl', `${connectionLine({ namespace: 'shop', name: 'web', labels: { 'pod-template-hash': '7d9f8c6b5d' } }, { namespace: 'shop', name: 'api', labels: { app: 'api' } }, 8080)}\n`);
    const r = await runCli(['suggest', '--flows', flows]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('shop/web: its pods share no stable label');
    expect(r.stdout).toBe('');
  });
});

describe('2. system namespaces and DNS', () => {
  const shopFlows = (): string =>
    file(
      'dns.jsonl',
      [
        connectionLine({ namespace: 'shop', name: 'web', labels: { app: 'web' } }, { namespace: 'shop', name: 'api', labels: { app: 'api' } }, 8080),
        connectionLine({ namespace: 'shop', name: 'web', labels: { app: 'web' } }, KUBE_DNS, 53, 'UDP'),
      ].join('\n') + '\n',
    );

  it('the note about left-out system namespaces does not invite --namespaces', async () => {
    const metrics = connectionLine({ namespace: 'kube-system', name: 'metrics-server', labels: { 'k8s-app': 'metrics-server' } }, { namespace: 'shop', name: 'web', labels: { app: 'web' } }, 8080);
    const r = await runCli(['suggest', '--flows', file('busy.jsonl', `${readFileSync(shopFlows(), 'utf8')}${metrics}\n`)]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('left out kube-system');
    expect(r.stderr).not.toMatch(/kube-system[^\n]*name them with --namespaces/);
  });

  it('--namespaces shop,kube-system does not lock down kube-system, and DNS is allowed on UDP and TCP', async () => {
    const r = await runCli(['suggest', '--flows', shopFlows(), '--namespaces', 'shop,kube-system']);
    expect(r.code, r.stderr).toBe(0);
    const policies = policiesOf(r.stdout);
    expect(policies.filter((p) => p.metadata.namespace === 'kube-system')).toEqual([]);
    expect(r.stderr).toContain('kube-system is not locked down');
    expect(r.stderr).toContain('--lock-system-namespaces');
    const dns = policies.find((p) => p.metadata.name === 'allow-dns')!;
    expect(dns.spec.egress![0]!.ports).toEqual([{ protocol: 'TCP', port: 53 }, { protocol: 'UDP', port: 53 }]);
  });

  it('--lock-system-namespaces: the DNS server keeps serving every namespace on UDP and TCP, and its upstream', async () => {
    const r = await runCli(['suggest', '--flows', shopFlows(), '--namespaces', 'shop,kube-system', '--lock-system-namespaces']);
    expect(r.code, r.stderr).toBe(0);
    const dns = policiesOf(r.stdout).find((p) => p.metadata.namespace === 'kube-system' && p.metadata.name === 'dns-server')!;
    expect(dns.spec.ingress).toEqual([{ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: 53 }, { protocol: 'UDP', port: 53 }] }]);
    expect(dns.spec.egress).toEqual([{ ports: [{ protocol: 'TCP', port: 53 }, { protocol: 'UDP', port: 53 }] }]);
    expect(r.stderr).toContain('kube-system');
  });
});

describe('3. the namespace the manifests are deployed to', () => {
  const app = (): string => folder({ 'web.yaml': docs(deployment('web', { env: { API: 'api:8080' } }), deployment('api', { port: 8080 }), service('api', 8080)), 'more.yaml': docs(service('web', 80)) });

  it('without metadata.namespace: one summary line, and --namespace sets it', async () => {
    const d = app();
    const r = await runCli(['suggest', '--manifests', d]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/no metadata\.namespace/g)).toHaveLength(1);
    expect(r.stderr).toContain('4 objects have no metadata.namespace; taken to be in "default" (set it with --namespace)');
    const shop = await runCli(['suggest', '--manifests', d, '--namespace', 'shop']);
    expect(shop.code, shop.stderr).toBe(0);
    expect(new Set(policiesOf(shop.stdout).map((p) => p.metadata.namespace))).toEqual(new Set(['shop']));
    expect(shop.stderr).not.toContain('metadata.namespace');
  });

  it('--namespaces naming a namespace without workloads is refused, not a lone default-deny', async () => {
    const r = await runCli(['suggest', '--manifests', app(), '--namespaces', 'shop']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('namespace shop: no workload of it was seen or found in the manifests');
    expect(r.stderr).toContain('--namespace');
    expect(r.stdout).toBe('');
  });
});

describe('4. audit: manifests, system namespaces, pods', () => {
  const policy = (ns: string): string => JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'default-deny', namespace: ns }, spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] } });
  const pod = (ns: string, name: string, labels: Record<string, string>): Record<string, unknown> => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: ns, labels }, spec: { containers: [{ name: 'c', image: 'i' }] } });

  it('--manifests gives the workloads: an unprotected namespace of the manifests is open', async () => {
    const m = folder({ 'app.yaml': docs(deployment('api', { namespace: 'shop', port: 8080 }), deployment('db', { namespace: 'data', port: 5432 })) });
    const r = await runCli(['audit', '--policies', file('p.yaml', policy('shop')), '--manifests', m]);
    expect(r.stdout).toContain('open-namespace');
    expect(r.stdout).toContain('namespace data: 1 workload');
    expect(r.stdout).not.toContain('namespace shop');
    expect(r.code).toBe(1);
  });

  it('kube-system pods of `kubectl get pods -A` are left out unless named; --namespaces names them', async () => {
    const pods = file('pods.json', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [pod('shop', 'api-1', { app: 'api' }), pod('kube-system', 'coredns-1', { 'k8s-app': 'kube-dns' })] }));
    const r = await runCli(['audit', '--policies', file('p.yaml', policy('shop')), '--pods', pods]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toContain('left out kube-system');
    const named = await runCli(['audit', '--policies', file('p.yaml', policy('shop')), '--pods', pods, '--namespaces', 'shop,kube-system']);
    expect(named.stdout).toContain('namespace kube-system');
    expect(named.code).toBe(1);
  });

  it('a --pods file without Pods is refused; without any pods it says what was not checked', async () => {
    const noPods = await runCli(['audit', '--policies', file('p.yaml', policy('shop')), '--pods', file('np.yaml', policy('shop'))]);
    expect(noPods.code).toBe(2);
    expect(noPods.stderr).toContain('no Pod objects found');
    const neither = await runCli(['audit', '--policies', file('p.yaml', policy('shop'))]);
    expect(neither.stdout).not.toContain('0 pods (seen in the flows)');
    expect(neither.stdout).toContain('no pods given (--pods, --manifests or --flows)');
  });
});

describe('5. public entry points keep world ingress', () => {
  const lb = (): string => folder({ 'web.yaml': docs(deployment('web', { namespace: 'shop', port: 8080 }), service('web', 8080, { namespace: 'shop', type: 'LoadBalancer' })) });

  it('suggest --manifests then audit --manifests: no HIGH, the finding says why the world may connect', async () => {
    const m = lb();
    const out = join(dir, 'lb.yaml');
    expect((await runCli(['suggest', '--manifests', m, '-o', out])).code).toBe(0);
    const web = policiesOf(readFileSync(out, 'utf8')).find((p) => p.metadata.name === 'web')!;
    expect(web.spec.ingress).toEqual([{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }], ports: [{ protocol: 'TCP', port: 8080 }] }]);
    const a = await runCli(['audit', '--policies', out, '--manifests', m, '--fail-on', 'low']);
    expect(a.stdout).toContain('public entry point');
    expect(a.stdout).toContain('Service shop/web is LoadBalancer');
    expect(a.stdout).not.toMatch(/^HIGH/m);
    expect(a.code).toBe(0);
    // With traffic instead of manifests: world clients used it, so it is kept too.
    const pod = { namespace: 'shop', name: 'web', labels: { app: 'web' } };
    const flows = file('lb-clients.jsonl', `${connectionLine({ world: '198.51.100.23' }, pod, 8080)}\n${connectionLine(pod, KUBE_DNS, 53, 'UDP')}\n`);
    const t = await runCli(['audit', '--policies', out, '--flows', flows, '--fail-on', 'low']);
    expect(t.stdout).toContain('only clients outside the cluster used it (1 connection): a public entry point');
    expect(t.code, t.stdout).toBe(0);
  });

  it('suggest --flows --manifests: world clients of a LoadBalancer workload become the world, not the capture\'s addresses', async () => {
    const flows = file('lb.jsonl', `${connectionLine({ world: '198.51.100.23' }, { namespace: 'shop', name: 'web', labels: { app: 'web' } }, 8080)}\n`);
    const r = await runCli(['suggest', '--flows', flows, '--manifests', lb()]);
    expect(r.code, r.stderr).toBe(0);
    const web = policiesOf(r.stdout).find((p) => p.metadata.name === 'web')!;
    expect(web.spec.ingress).toEqual([{ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }], ports: [{ protocol: 'TCP', port: 8080 }] }]);
    expect(r.stdout).not.toContain('198.51.100.23');
  });

  it('audit --flows: the narrower rule for world clients keeps the world, not the one client address', async () => {
    const policy = JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'web', namespace: 'shop' }, spec: { podSelector: { matchLabels: { app: 'web' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 8080 }] }] } });
    const flows = file('world.jsonl', `${connectionLine({ world: '198.51.100.23' }, { namespace: 'shop', name: 'web', labels: { app: 'web' } }, 8080)}\n`);
    const a = await runCli(['audit', '--policies', file('web.yaml', policy), '--flows', flows]);
    expect(a.stdout).not.toContain('198.51.100.23/32');
    expect(a.stdout).toContain('0.0.0.0/0');
    expect(a.stdout).toContain('public');
  });
});

describe('6. one finding per rule, help that matches', () => {
  it('an over-broad rule that admitted nothing is one finding, not HIGH and LOW', async () => {
    const policy = JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'api', namespace: 'shop' }, spec: { podSelector: { matchLabels: { app: 'api' } }, policyTypes: ['Ingress'], ingress: [{}] } });
    const flows = file('other.jsonl', `${connectionLine({ namespace: 'shop', name: 'web', labels: { app: 'web' } }, { namespace: 'shop', name: 'db', labels: { app: 'db' } }, 5432)}\n`);
    const a = await runCli(['audit', '--policies', file('api.yaml', policy), '--flows', flows, '--format', 'json']);
    const findings = (JSON.parse(a.stdout) as { findings: { policy: string | null; rule: string | null; kind: string }[] }).findings.filter((f) => f.policy === 'shop/api' && f.rule === 'ingress[0]');
    expect(findings.map((f) => f.kind)).toEqual(['over-broad-rule']);
  });

  it('the top-level help promises redundant policies, not rules', async () => {
    const r = await runCli(['--help']);
    expect(r.stdout).toMatch(/audit\s+open namespaces, unused and over-broad rules, redundant policies/);
  });
});

describe('7. Helm templates, kustomizations, duplicates, undefined Services', () => {
  it('an unrendered Helm chart: one line per file, saying to run helm template', async () => {
    const tpl = (kind: string): string => `apiVersion: apps/v1\nkind: ${kind}\nmetadata:\n  name: {{ include "app.fullname" . }}\n  labels:\n    {{- include "app.labels" . | nindent 4 }}\nspec:\n  replicas: {{ .Values.replicaCount }}\n{{- if .Values.x }}\n  foo: bar\n{{- end }}\n`;
    const d = folder({ 'templates/deployment.yaml': tpl('Deployment'), 'templates/service.yaml': tpl('Service') });
    const r = await runCli(['suggest', '--manifests', d]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n').filter((l) => l.includes('.yaml'));
    expect(lines).toHaveLength(2);
    for (const l of lines) expect(l).toContain('looks like an unrendered Helm template: run `helm template` first');
    const chart = folder({ 'Chart.yaml': 'apiVersion: v2\nname: app\nversion: 0.1.0\n', 'values.yaml': 'replicaCount: 1\n', 'templates/deployment.yaml': tpl('Deployment') });
    const c = await runCli(['suggest', '--manifests', chart]);
    expect(c.code).toBe(2);
    expect(c.stderr).toContain('is a Helm chart (Chart.yaml)');
    expect(c.stderr.trim().split('\n').length).toBeLessThanOrEqual(3);
  });

  it('a kustomization.yaml: its resources and namespace are used, what it cannot render is named', async () => {
    const d = folder({
      'kustomization.yaml': 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: shop\nresources:\n  - base\n  - api.yaml\nimages:\n  - name: api\n    newTag: "2"\n',
      'base/kustomization.yaml': 'resources: [web.yaml]\n',
      'base/web.yaml': deployment('web', { env: { API: 'api:8080' } }),
      'api.yaml': docs(deployment('api', { port: 8080 }), service('api', 8080)),
      'unused.yaml': deployment('ghost', { env: { API: 'api:8080' } }),
    });
    const r = await runCli(['suggest', '--manifests', d]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('kustomization.yaml');
    expect(r.stderr).toContain('images is not applied (run `kubectl kustomize` first for the rendered objects)');
    const policies = policiesOf(r.stdout);
    expect(new Set(policies.map((p) => p.metadata.namespace))).toEqual(new Set(['shop']));
    expect(policies.some((p) => p.metadata.name === 'ghost')).toBe(false);
    expect(policies.some((p) => p.metadata.name === 'web')).toBe(true);
  });

  it('the same object in two files is warned about and counted once; a Service named in env but defined nowhere is noted', async () => {
    const api = docs(deployment('api', { namespace: 'shop', port: 8080 }), service('api', 8080, { namespace: 'shop' }));
    const d = folder({ 'a.yaml': api, 'b.yaml': api, 'web.yaml': deployment('web', { namespace: 'shop', env: { API: 'api:8080', CACHE: 'redis://cache:6379' } }) });
    const r = await runCli(['suggest', '--manifests', d]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/Deployment shop\/api is defined again \(first at .*a\.yaml:1\)/);
    expect(r.stderr).toContain('2 workloads, 1 Services');
    expect(r.stderr).toContain('shop/web: env/args of web names cache:6379, but no Service cache is in the manifests');
  });
});

describe('8. manifests without workloads', () => {
  it('says so about the manifests, with the notes', async () => {
    const d = folder({ 'svc.yaml': service('api', 8080, { namespace: 'shop' }) });
    const r = await runCli(['suggest', '--manifests', d]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${d}: no workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob) in the manifests`);
    expect(r.stderr).not.toContain('connection start');
    expect(r.stderr).toContain('note: Service shop/api selects no workload in the manifests');
  });
});

describe('9. unknown fields', () => {
  const contract = (gates: string, policyExtra = ''): string =>
    `apiVersion: rampart.dev/v1alpha1\nkind: RampContract\nmetadata: { name: t }\nspec:\n  policies:\n    - apiVersion: networking.k8s.io/v1\n      kind: NetworkPolicy\n      metadata: { name: deny, namespace: shop }\n      spec: { podSelector: {}, policyTypes: [Ingress]${policyExtra} }\n  rollout:\n    strategy: percent\n    stages:\n      - { name: monitor, minDuration: 30m }\n      - { name: full, percent: 100, minDuration: 1h }\n  gates:\n    ${gates}\n`;

  it('evaluate warns with the field path and line; --strict refuses', async () => {
    const c = file('c.yaml', contract('maxWouldDenny: 0', ', ingres: []'));
    const flows = file('f.jsonl', `${connectionLine({ namespace: 'shop', name: 'web', labels: { app: 'web' } }, { namespace: 'other', name: 'api', labels: { app: 'api' } }, 80)}\n`);
    const r = await runCli(['evaluate', '--policies', c, '--flows', flows]);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: .*c\.yaml:16: .*spec\.gates\.maxWouldDenny: unknown field/);
    expect(r.stderr).toMatch(/warning: .*c\.yaml:9: .*spec\.policies\[0\]\.spec\.ingres: unknown field/);
    const strict = await runCli(['evaluate', '--policies', c, '--flows', flows, '--strict']);
    expect(strict.code).toBe(2);
    expect(strict.stderr).toContain('spec.gates.maxWouldDenny: unknown field');
    expect(strict.stdout).toBe('');
  });

  it('audit and fix warn too', async () => {
    const c = file('c.yaml', contract('maxWouldDenny: 0'));
    const a = await runCli(['audit', '--policies', c]);
    expect(a.stderr).toContain('spec.gates.maxWouldDenny: unknown field');
    expect((await runCli(['audit', '--policies', c, '--strict'])).code).toBe(2);
    const flows = file('f.jsonl', `${connectionLine({ namespace: 'other', name: 'web', labels: { app: 'web' } }, { namespace: 'shop', name: 'api', labels: { app: 'api' } }, 80)}\n`);
    const f = await runCli(['fix', '--policies', c, '--flows', flows]);
    expect(f.stderr).toContain('spec.gates.maxWouldDenny: unknown field');
    expect(f.code).toBe(0);
    expect((await runCli(['fix', '--policies', c, '--flows', flows, '--strict'])).code).toBe(2);
  });
});

describe('10. the CLI itself', () => {
  it('--help goes to stdout; help <command> prints its usage; --version exists', async () => {
    const h = await runCli(['--help']);
    expect(h.code).toBe(0);
    expect(h.stdout).toContain('suggest');
    expect(h.stderr).toBe('');
    const hs = await runCli(['help', 'suggest']);
    expect(hs.code).toBe(0);
    expect(hs.stdout).toContain('usage: rampart suggest');
    const version = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string };
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(`rampart ${version.version}`);
    expect((await runCli(['help', 'nope'])).code).toBe(2);
  });

  it('suggest says --manifests <file|dir> and writes plain NetworkPolicies with --format networkpolicies', async () => {
    const hs = await runCli(['suggest', '--help']);
    expect(hs.stdout).toContain('--manifests <file|dir>');
    expect(hs.stdout).not.toContain('--manifests <dir>');
    const m = join(REPO_ROOT, 'test', 'fixtures', 'manifests', 'shop', 'web.yaml');
    const r = await runCli(['suggest', '--manifests', m, '--format', 'networkpolicies']);
    expect(r.code, r.stderr).toBe(0);
    const objects = parseAllDocuments(r.stdout).map((d) => d.toJS() as { kind: string });
    expect(objects.length).toBeGreaterThan(1);
    expect(objects.every((o) => o.kind === 'NetworkPolicy')).toBe(true);
    const e = await runCli(['evaluate', '--policies', file('np.yaml', r.stdout), '--flows', file('none.jsonl', '\n')]);
    expect(e.code, e.stderr).toBe(0);
  });

  it('policies without metadata.namespace: one summary line, --namespace sets it', async () => {
    const d = folder(Object.fromEntries([1, 2, 3].map((i) => [`p${i}.yaml`, JSON.stringify({ apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: `p${i}` }, spec: { podSelector: {} } })])));
    const flows = file('f.jsonl', `${connectionLine({ namespace: 'shop', name: 'web', labels: { app: 'web' } }, { namespace: 'shop', name: 'api', labels: { app: 'api' } }, 80)}\n`);
    const r = await runCli(['evaluate', '--policies', d, '--flows', flows]);
    expect(r.stderr.match(/metadata\.namespace/g)).toHaveLength(1);
    expect(r.stderr).toContain('3 policies have no metadata.namespace; taken to be in "default" (set it with --namespace)');
    expect(r.code).toBe(0);
    const shop = await runCli(['evaluate', '--policies', d, '--flows', flows, '--namespace', 'shop']);
    expect(shop.stderr).not.toContain('metadata.namespace');
    expect(shop.code).toBe(1);
  });
});
