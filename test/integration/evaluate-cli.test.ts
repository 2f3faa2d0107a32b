/**
 * `rampart evaluate` as users and outside tests run it: the compiled CLI (`npm run build`
 * first; `npm test` does) as a child process, on fixtures and real captures. Checks the
 * jsonl schema, exit codes 0/1/2, stdin, table output, and that bad input names file and line.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateLines, rampart, ROOT, scratchDir, SHOP, SHOP_FLOWS, SHOP_POLICIES } from '../support/evaluate-cli.js';

const PODS = join(ROOT, 'test', 'fixtures', 'pods', 'shop-pods.json');
const CAPTURES = resolve(ROOT, '..', 'shared', 'flows');
const TCP_CAPTURE = join(CAPTURES, 'cilium-hubble-otel_testdata_basic-sample-400-tcp-flows.jsonl');
const scratch = scratchDir('rampart-evaluate-');

const nonEmptyLines = (file: string): number => readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').length;

describe('rampart evaluate --format jsonl', () => {
  it('prints one line per input line, in order, with the documented schema, and exits 1 when something is denied', async () => {
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS]);
    expect(r.code).toBe(1);
    const lines = r.stdout.split('\n').filter((l) => l !== '');
    expect(lines).toHaveLength(nonEmptyLines(SHOP_FLOWS));
    lines.forEach((text, i) => {
      const o = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(o)).toEqual(['index', 'uuid', 'verdict', 'egress', 'ingress', 'policies', 'reason']);
      expect(o['index']).toBe(i);
      expect(['allow', 'deny', 'indeterminate', 'skip']).toContain(o['verdict']);
      expect(['allow', 'deny', 'indeterminate', 'none']).toContain(o['egress']);
      expect(['allow', 'deny', 'indeterminate', 'none']).toContain(o['ingress']);
      expect(Array.isArray(o['policies'])).toBe(true);
      expect(typeof o['reason']).toBe('string');
    });
    // What each fixture line is about is written next to it in the generator comments (flows.jsonl)
    expect(evaluateLines(r.stdout).map((o) => [o.uuid, o.verdict, o.egress, o.ingress])).toEqual([
      ['f-00', 'allow', 'allow', 'allow'],
      ['f-01', 'skip', 'none', 'none'],
      ['f-02', 'skip', 'none', 'none'],
      ['f-03', 'deny', 'deny', 'deny'],
      [null, 'skip', 'none', 'none'],
      ['f-05', 'indeterminate', 'none', 'indeterminate'],
      ['f-06', 'indeterminate', 'none', 'indeterminate'],
      ['f-07', 'deny', 'deny', 'deny'],
      [null, 'skip', 'none', 'none'],
      ['f-09', 'allow', 'allow', 'none'],
      [null, 'skip', 'none', 'none'],
      ['f-11', 'skip', 'none', 'none'],
      ['f-12', 'allow', 'none', 'allow'],
      ['f-13', 'deny', 'none', 'deny'],
    ]);
    const out = evaluateLines(r.stdout);
    expect(out[0]!.policies).toEqual(expect.arrayContaining(['shop/frontend-egress', 'shop/frontend-to-api']));
    expect(out[1]!.reason).toBe('duplicate');
    expect(out[2]!.reason).toBe('reply');
    expect(out[4]!.reason).toMatch(/lost_events: 7/);
    expect(out[8]!.reason).toBe('reply'); // legacy bare flow with the old `reply` field
    expect(out[11]!.reason).toBe('not-l3-l4');
  });

  it('--pods resolves the named port on the destination pod', async () => {
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS, '--pods', PODS]);
    expect(r.code).toBe(1);
    const line5 = evaluateLines(r.stdout)[5]!;
    expect([line5.verdict, line5.ingress, line5.policies]).toEqual(['allow', 'allow', ['shop/api-metrics']]);
  });

  it('reads flows from stdin with --flows - and prints the same', async () => {
    const fromFile = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS]);
    const fromStdin = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', '-'], readFileSync(SHOP_FLOWS, 'utf8'));
    expect(fromStdin.code).toBe(1);
    expect(fromStdin.stdout).toBe(fromFile.stdout);
  });

  it('exits 0 when nothing is denied', async () => {
    const allowedOnly = readFileSync(SHOP_FLOWS, 'utf8').split('\n').slice(0, 3).join('\n');
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', '-'], allowedOnly);
    expect(r.code).toBe(0);
    expect(evaluateLines(r.stdout).map((o) => o.verdict)).toEqual(['allow', 'skip', 'skip']);
  });

  it('a RampContract and a folder of files give the same verdicts as the plain policies', async () => {
    const plain = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS]);
    const contract = await rampart(['evaluate', '--policies', join(SHOP, 'contract.yaml'), '--flows', SHOP_FLOWS]);
    const dir = join(scratch(), 'split');
    const docs = readFileSync(SHOP_POLICIES, 'utf8').split(/^---$/m);
    mkdirSync(join(dir, 'nested'), { recursive: true });
    docs.forEach((d, i) => {
      writeFileSync(join(dir, i % 2 === 0 ? '' : 'nested', `p${i}.yaml`), d);
    });
    // a List in JSON too
    writeFileSync(join(dir, 'empty-list.json'), JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [] }));
    const folder = await rampart(['evaluate', '--policies', dir, '--flows', SHOP_FLOWS]);
    expect(contract.code).toBe(1);
    expect(folder.code).toBe(1);
    expect(contract.stdout).toBe(plain.stdout);
    expect(folder.stdout).toBe(plain.stdout);
  });

  it('runs over a real capture: every line gets an aligned output line', async () => {
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', TCP_CAPTURE]);
    expect(r.code).toBe(0); // no shop policy selects the bookinfo pods: all allowed
    const out = evaluateLines(r.stdout);
    expect(out).toHaveLength(nonEmptyLines(TCP_CAPTURE));
    expect(out.every((o, i) => o.index === i)).toBe(true);
    // the 39 connection starts of the captures unit test; 4 host → remote-pod SYNs have no endpoint ID
    expect(out.filter((o) => o.verdict !== 'skip')).toHaveLength(39);
    expect(out.filter((o) => o.verdict === 'allow')).toHaveLength(39);
    expect(out.filter((o) => o.reason === 'no-local-endpoint')).toHaveLength(4);
  });

  it('hand-written flows: without TCP flags a line is still a start; without any endpoint ID it is skipped, visibly', async () => {
    const pod = (ns: string, app: string, id?: number) => ({ ...(id === undefined ? {} : { ID: id }), identity: 40_000 + app.length, namespace: ns, labels: [`k8s:app=${app}`, `k8s:io.kubernetes.pod.namespace=${ns}`], pod_name: `${app}-0` });
    const flow = (sport: number, ids: boolean) =>
      JSON.stringify({
        flow: {
          time: '2026-03-01T12:00:00Z',
          verdict: 'FORWARDED',
          IP: { source: '10.1.0.10', destination: '10.1.0.30', ipVersion: 'IPv4' },
          l4: { TCP: { source_port: sport, destination_port: 5432 } },
          source: pod('shop', 'frontend', ids ? 11 : undefined),
          destination: pod('shop', 'db', ids ? 13 : undefined),
          Type: 'L3_L4',
        },
      });
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', '-'], [flow(1000, true), flow(1000, true), flow(2000, false)].join('\n'));
    expect(r.code).toBe(1);
    expect(evaluateLines(r.stdout)).toEqual([
      expect.objectContaining({ verdict: 'deny', egress: 'deny', ingress: 'deny' }),
      expect.objectContaining({ verdict: 'skip', reason: 'duplicate' }),
      expect.objectContaining({ verdict: 'skip', reason: 'no-local-endpoint' }),
    ]);
  });
});

describe('rampart evaluate --format table', () => {
  it('shows flows by verdict and the top denied edges', async () => {
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS, '--format', 'table']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^allow\s+3$/m);
    expect(r.stdout).toMatch(/^deny\s+3$/m);
    expect(r.stdout).toMatch(/^indeterminate\s+2$/m);
    expect(r.stdout).toMatch(/^skip\s+6$/m);
    expect(r.stdout).toMatch(/^shop\/frontend → shop\/db:5432\/TCP\s+2$/m);
    expect(r.stdout).toMatch(/^world\/10\.200\.0\.1 → shop\/frontend:443\/TCP\s+1$/m);
    expect(r.stdout).toContain('7 Hubble events lost');
    // the table replaces the jsonl lines
    expect(r.stdout).not.toContain('"index"');
  });
});

describe('rampart evaluate: bad input exits 2 and names file and line', () => {
  it('a malformed flow line: reported, counted, and the rest is still evaluated', async () => {
    const lines = readFileSync(SHOP_FLOWS, 'utf8').split('\n').filter((l) => l !== '');
    lines.splice(2, 0, '{"flow": {"time": "2026-03-01T12:00:00Z", "l4": {"TCP": "oops"}}}', 'not json at all');
    const file = join(scratch(), 'malformed.jsonl');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:3: flow.l4.TCP: expected an object`);
    expect(r.stderr).toContain(`${file}:4: expected one JSON object per line`);
    expect(r.stderr).toMatch(/2 malformed lines/);
    const out = evaluateLines(r.stdout);
    expect(out).toHaveLength(lines.length);
    expect(out.every((o, i) => o.index === i)).toBe(true);
    expect(out[2]!.verdict).toBe('skip');
    expect(out[2]!.reason).toMatch(/^malformed line: /);
    expect(out.filter((o) => o.verdict === 'deny')).toHaveLength(3); // later lines still evaluated
  });

  it('a malformed line on stdin is named <stdin>:line', async () => {
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', '-'], `${readFileSync(SHOP_FLOWS, 'utf8')}{oops\n`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`<stdin>:${nonEmptyLines(SHOP_FLOWS) + 1}: expected one JSON object per line`);
  });

  it('an invalid policy: file, line, document and field path; no flow is evaluated', async () => {
    const file = join(scratch(), 'bad-policy.yaml');
    writeFileSync(
      file,
      [
        'apiVersion: networking.k8s.io/v1',
        'kind: NetworkPolicy',
        'metadata: { name: ok, namespace: shop }',
        'spec: { podSelector: {} }',
        '---',
        'apiVersion: networking.k8s.io/v1',
        'kind: NetworkPolicy',
        'metadata: { name: bad, namespace: shop }',
        'spec:',
        '  podSelector: {}',
        '  ingress:',
        '    - ports:',
        '        - port: 70000',
        '',
      ].join('\n'),
    );
    const r = await rampart(['evaluate', '--policies', file, '--flows', SHOP_FLOWS]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:13: document 2, spec\\.ingress\\[0\\]\\.ports\\[0\\]\\.port: `));
  });

  it('invalid YAML: file and line', async () => {
    const file = join(scratch(), 'broken.yaml');
    writeFileSync(file, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: { name: x\n');
    const r = await rampart(['evaluate', '--policies', file, '--flows', SHOP_FLOWS]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+: document 1: expected valid YAML or JSON`));
  });

  it('a policy without metadata.namespace is taken to be in default, with a warning', async () => {
    const file = join(scratch(), 'no-ns.yaml');
    writeFileSync(file, 'apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: deny-all\nspec:\n  podSelector: {}\n');
    const flow = JSON.stringify({
      flow: {
        time: '2026-03-01T12:00:00Z',
        verdict: 'FORWARDED',
        IP: { source: '10.1.0.1', destination: '10.1.0.2', ipVersion: 'IPv4' },
        l4: { TCP: { source_port: 1234, destination_port: 80, flags: { SYN: true } } },
        source: { ID: 1, identity: 300, namespace: 'default', labels: ['k8s:app=a', 'k8s:io.kubernetes.pod.namespace=default'], pod_name: 'a-0' },
        destination: { ID: 2, identity: 301, namespace: 'default', labels: ['k8s:app=b', 'k8s:io.kubernetes.pod.namespace=default'], pod_name: 'b-0' },
        Type: 'L3_L4',
        node_name: 'n1',
        is_reply: false,
      },
    });
    const r = await rampart(['evaluate', '--policies', file, '--flows', '-'], `${flow}\n`);
    expect(r.stderr).toMatch(/warning: .*no-ns\.yaml:\d+: .*metadata\.namespace/);
    expect(r.code).toBe(1);
    expect(evaluateLines(r.stdout)[0]).toMatchObject({ verdict: 'deny', ingress: 'deny', policies: ['default/deny-all'] });
  });

  it('a bad pods file: file and line', async () => {
    const file = join(scratch(), 'pods.json');
    writeFileSync(file, JSON.stringify({ kind: 'List', items: [{ kind: 'Pod', metadata: { name: 'p', namespace: 'x' }, spec: { containers: [{ ports: [{ name: 'http', containerPort: 0 }] }] } }] }, null, 2));
    const r = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS, '--pods', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`pods\\.json:\\d+: items\\[0\\]\\.spec\\.containers\\[0\\]\\.ports\\[0\\]\\.containerPort: expected a port number`));
  });

  it('missing flags, an unknown format, a missing file: usage errors exit 2', async () => {
    expect((await rampart(['evaluate', '--flows', SHOP_FLOWS])).code).toBe(2);
    const badFormat = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', SHOP_FLOWS, '--format', 'xml']);
    expect(badFormat.code).toBe(2);
    expect(badFormat.stderr).toContain('rampart evaluate: --format: expected jsonl or table, got "xml"');
    const missing = await rampart(['evaluate', '--policies', SHOP_POLICIES, '--flows', join(scratch(), 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.jsonl: cannot read');
  });
});
