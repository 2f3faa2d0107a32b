import { describe, expect, it } from 'vitest';
import { parseNetworkPolicy } from '../../../../core/policy/index.js';
import type { NetworkPolicy } from '../../../../core/policy/index.js';

const manifest = (spec: unknown, metadata: unknown = { name: 'p', namespace: 'shop' }): Record<string, unknown> => ({
  apiVersion: 'networking.k8s.io/v1',
  kind: 'NetworkPolicy',
  metadata,
  spec,
});

function parsed(spec: unknown): NetworkPolicy {
  const r = parseNetworkPolicy(manifest(spec), '');
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

function problemsOf(raw: unknown, path = ''): { path: string; message: string }[] {
  const r = parseNetworkPolicy(raw, path);
  if (r.ok) throw new Error('expected problems');
  return r.error.map((p) => ({ path: p.path, message: p.message }));
}

describe('parseNetworkPolicy defaulting', () => {
  it.each([
    // [name, spec, effective policyTypes]
    ['missing policyTypes, no egress → Ingress', { podSelector: {} }, ['Ingress']],
    ['pitfall 1: egress rules without policyTypes → Ingress+Egress', { podSelector: {}, egress: [{}] }, ['Ingress', 'Egress']],
    ['pitfall 2: egress: [] does not imply Egress', { podSelector: {}, egress: [] }, ['Ingress']],
    ['pitfall 2: policyTypes: [] is defaulted like a missing list', { podSelector: {}, policyTypes: [], egress: [{}] }, ['Ingress', 'Egress']],
    ['explicit list kept as written', { podSelector: {}, policyTypes: ['Egress'] }, ['Egress']],
  ])('%s', (_name, spec, types) => {
    expect(parsed(spec).policyTypes).toEqual(types);
  });

  it('pitfall 3: rules of an unlisted type are dropped', () => {
    const p = parsed({ policyTypes: ['Egress'], ingress: [{}], egress: [{}] });
    expect(p.ingress).toEqual([]);
    expect(p.egress).toHaveLength(1);
  });

  it('pitfall 9: a port without protocol is TCP', () => {
    const p = parsed({ ingress: [{ ports: [{ port: 53 }, { protocol: 'UDP' }] }] });
    expect(p.ingress[0]!.ports).toEqual([
      { protocol: 'TCP', port: 53, endPort: null },
      { protocol: 'UDP', port: null, endPort: null },
    ]);
  });

  it('missing podSelector is the empty selector; peers map to the model', () => {
    const p = parsed({
      ingress: [
        {
          from: [
            { podSelector: { matchLabels: { app: 'web' } } },
            { namespaceSelector: {} },
            { podSelector: {}, namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'Exists' }] } },
            { ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } },
          ],
        },
      ],
    });
    expect(p.podSelector).toEqual({ matchLabels: {}, matchExpressions: [] });
    expect(p.ingress[0]!.peers).toEqual([
      { kind: 'selector', podSelector: { matchLabels: { app: 'web' }, matchExpressions: [] }, namespaceSelector: null },
      { kind: 'selector', podSelector: null, namespaceSelector: { matchLabels: {}, matchExpressions: [] } },
      {
        kind: 'selector',
        podSelector: { matchLabels: {}, matchExpressions: [] },
        namespaceSelector: { matchLabels: {}, matchExpressions: [{ key: 'team', operator: 'Exists', values: [] }] },
      },
      { kind: 'ipBlock', cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] },
    ]);
  });

  it('3.4: a missing namespace becomes default, flagged and warned', () => {
    const r = parseNetworkPolicy(manifest({}, { name: 'p' }), '');
    expect(r.ok && r.value.namespace).toBe('default');
    expect(r.ok && r.value.namespaceDefaulted).toBe(true);
    expect(r.ok && r.value.warnings).toEqual([{ path: 'metadata.namespace', message: 'not set; the policy is taken to be in namespace "default"' }]);
    const given = parseNetworkPolicy(manifest({}), '');
    expect(given.ok && given.value.namespaceDefaulted).toBe(false);
  });

  it('3.3: host bits set are accepted, masked and warned about', () => {
    const r = parseNetworkPolicy(manifest({ egress: [{ to: [{ ipBlock: { cidr: '10.0.0.1/24' } }, { ipBlock: { cidr: 'fd00::1/64' } }] }] }), '');
    if (!r.ok) throw new Error('expected ok');
    expect(r.value.egress[0]!.peers).toEqual([
      { kind: 'ipBlock', cidr: '10.0.0.0/24', except: [] },
      { kind: 'ipBlock', cidr: 'fd00::/64', except: [] },
    ]);
    expect(r.value.warnings).toEqual([
      {
        path: 'spec.egress[0].to[0].ipBlock.cidr',
        message: '10.0.0.1/24 has host bits set; taken as the network 10.0.0.0/24 (older API servers accept and mask this; newer ones reject it for new objects)',
      },
      {
        path: 'spec.egress[0].to[1].ipBlock.cidr',
        message: 'fd00::1/64 has host bits set; taken as the network fd00::/64 (older API servers accept and mask this; newer ones reject it for new objects)',
      },
    ]);
  });
});

describe('parseNetworkPolicy validation: each problem with its exact path', () => {
  const P = 'spec.policies[1]';
  const cases: { name: string; spec: unknown; path: string; message: string }[] = [
    { name: 'endPort below port', spec: { ingress: [{ ports: [{ port: 8080, endPort: 80 }] }] }, path: `${P}.spec.ingress[0].ports[0].endPort`, message: 'must be greater than or equal to port' },
    { name: 'endPort with a named port', spec: { ingress: [{ ports: [{ port: 'http', endPort: 90 }] }] }, path: `${P}.spec.ingress[0].ports[0].endPort`, message: 'may not be specified when port is a named port' },
    { name: 'endPort without port', spec: { egress: [{ ports: [{ endPort: 90 }] }] }, path: `${P}.spec.egress[0].ports[0].endPort`, message: 'may not be specified when port is not specified' },
    { name: 'port 0', spec: { ingress: [{ ports: [{ port: 0 }] }] }, path: `${P}.spec.ingress[0].ports[0].port`, message: 'must be between 1 and 65535, inclusive, got 0' },
    { name: 'port 65536', spec: { ingress: [{ ports: [{ port: 65536 }] }] }, path: `${P}.spec.ingress[0].ports[0].port`, message: 'must be between 1 and 65535, inclusive, got 65536' },
    { name: 'endPort 70000', spec: { ingress: [{ ports: [{ port: 1, endPort: 70000 }] }] }, path: `${P}.spec.ingress[0].ports[0].endPort`, message: 'must be between 1 and 65535, inclusive, got 70000' },
    {
      name: 'numeric string as a port name',
      spec: { ingress: [{ ports: [{ port: '80' }] }] },
      path: `${P}.spec.ingress[0].ports[0].port`,
      message: 'must be a port number or an IANA service name (at most 15 lowercase letters, digits and non-adjacent hyphens, with at least one letter), got "80"',
    },
    {
      name: 'port name too long',
      spec: { ingress: [{ ports: [{ port: 'a-very-long-port-name' }] }] },
      path: `${P}.spec.ingress[0].ports[0].port`,
      message: 'must be a port number or an IANA service name (at most 15 lowercase letters, digits and non-adjacent hyphens, with at least one letter), got "a-very-long-port-name"',
    },
    { name: 'lowercase protocol', spec: { ingress: [{ ports: [{ protocol: 'tcp', port: 80 }] }] }, path: `${P}.spec.ingress[0].ports[0].protocol`, message: 'must be one of TCP, UDP, SCTP, got "tcp"' },
    { name: 'ICMP protocol', spec: { egress: [{ ports: [{ protocol: 'ICMP' }] }] }, path: `${P}.spec.egress[0].ports[0].protocol`, message: 'must be one of TCP, UDP, SCTP, got "ICMP"' },
    { name: 'bad CIDR', spec: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/33' } }] }] }, path: `${P}.spec.egress[0].to[0].ipBlock.cidr`, message: 'prefix length must be at most 32 for IPv4, got "10.0.0.0/33"' },
    { name: 'not a CIDR', spec: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.256' } }] }] }, path: `${P}.spec.egress[0].to[0].ipBlock.cidr`, message: 'must be a CIDR such as 10.0.0.0/16 or fd00::/64, got "10.0.0.256"' },
    { name: 'missing cidr', spec: { egress: [{ to: [{ ipBlock: {} }] }] }, path: `${P}.spec.egress[0].to[0].ipBlock.cidr`, message: 'is required' },
    {
      name: 'pitfall 19: except equal to cidr',
      spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.0.0.0/8'] } }] }] },
      path: `${P}.spec.ingress[0].from[0].ipBlock.except[0]`,
      message: 'must be a strict subset of cidr 10.0.0.0/8, got 10.0.0.0/8',
    },
    {
      name: 'except outside cidr',
      spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['192.168.0.0/16'] } }] }] },
      path: `${P}.spec.ingress[0].from[0].ipBlock.except[0]`,
      message: 'must be a strict subset of cidr 10.0.0.0/8, got 192.168.0.0/16',
    },
    {
      name: 'except of the other family',
      spec: { ingress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['fd00::/64'] } }] }] },
      path: `${P}.spec.ingress[0].from[0].ipBlock.except[0]`,
      message: 'must be a strict subset of cidr 10.0.0.0/8, got fd00::/64',
    },
    {
      name: 'bad selector operator',
      spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'Equals', values: ['x'] }] } },
      path: `${P}.spec.podSelector.matchExpressions[0].operator`,
      message: 'must be one of In, NotIn, Exists, DoesNotExist, got "Equals"',
    },
    {
      name: 'In without values',
      spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'In' }] } },
      path: `${P}.spec.podSelector.matchExpressions[0].values`,
      message: 'must be specified and non-empty when operator is In',
    },
    {
      name: 'NotIn with an empty list',
      spec: { ingress: [{ from: [{ namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: [] }] } }] }] },
      path: `${P}.spec.ingress[0].from[0].namespaceSelector.matchExpressions[0].values`,
      message: 'must be specified and non-empty when operator is NotIn',
    },
    {
      name: 'Exists with values',
      spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'Exists', values: ['x'] }] } },
      path: `${P}.spec.podSelector.matchExpressions[0].values`,
      message: 'must be empty when operator is Exists',
    },
    {
      name: 'DoesNotExist with values',
      spec: { podSelector: { matchExpressions: [{ key: 'app', operator: 'DoesNotExist', values: ['x'] }] } },
      path: `${P}.spec.podSelector.matchExpressions[0].values`,
      message: 'must be empty when operator is DoesNotExist',
    },
    {
      name: 'invalid label key',
      spec: { podSelector: { matchLabels: { 'bad key': 'x' } } },
      path: `${P}.spec.podSelector.matchLabels.bad key`,
      message: `label key name must consist of letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got "bad key"`,
    },
    {
      name: 'invalid label value',
      spec: { podSelector: { matchLabels: { app: '-web' } } },
      path: `${P}.spec.podSelector.matchLabels.app`,
      message: `label value must be empty or consist of letters, digits, '-', '_' or '.', starting and ending with a letter or digit, got "-web"`,
    },
    {
      name: 'non-string label value',
      spec: { podSelector: { matchLabels: { version: 1 } } },
      path: `${P}.spec.podSelector.matchLabels.version`,
      message: 'must be a string, got number 1',
    },
    { name: 'peer with no fields', spec: { ingress: [{ from: [{}] }] }, path: `${P}.spec.ingress[0].from[0]`, message: 'must specify a peer: one of podSelector, namespaceSelector or ipBlock' },
    {
      name: 'ipBlock with a selector',
      spec: { egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8' }, podSelector: {} }] }] },
      path: `${P}.spec.egress[0].to[0]`,
      message: 'may not combine ipBlock with podSelector or namespaceSelector (use separate peers)',
    },
    { name: 'three policyTypes', spec: { policyTypes: ['Ingress', 'Egress', 'Ingress'] }, path: `${P}.spec.policyTypes`, message: 'may not have more than two entries, got 3' },
    { name: 'unknown policyType', spec: { policyTypes: ['ingress'] }, path: `${P}.spec.policyTypes[0]`, message: 'must be Ingress or Egress, got "ingress"' },
    { name: 'ingress not a list', spec: { ingress: {} }, path: `${P}.spec.ingress`, message: 'must be a list, got an object' },
  ];
  it.each(cases)('$name', ({ spec, path, message }) => {
    expect(problemsOf(manifest(spec), P)).toEqual([{ path, message }]);
  });

  it('apiVersion, kind and metadata.name', () => {
    expect(problemsOf({ apiVersion: 'networking.k8s.io/v1beta1', kind: 'Policy', metadata: {}, spec: {} })).toEqual([
      { path: 'apiVersion', message: 'must be networking.k8s.io/v1, got "networking.k8s.io/v1beta1"' },
      { path: 'kind', message: 'must be NetworkPolicy, got "Policy"' },
      { path: 'metadata.name', message: 'is required' },
    ]);
    expect(problemsOf(manifest({}, { name: 'Bad_Name', namespace: 'Shop' }))).toEqual([
      { path: 'metadata.name', message: `must be a lowercase RFC 1123 subdomain (a-z, 0-9, '-', '.'; starting and ending with a letter or digit), got "Bad_Name"` },
      { path: 'metadata.namespace', message: `must be a lowercase RFC 1123 label (a-z, 0-9, '-'; starting and ending with a letter or digit), got "Shop"` },
    ]);
    expect(problemsOf('nope', 'x')).toEqual([{ path: 'x', message: 'must be a NetworkPolicy object, got "nope"' }]);
  });

  it('collects every problem, not just the first', () => {
    const problems = problemsOf(
      manifest({
        policyTypes: ['Ingress', 'Sideways'],
        ingress: [{ from: [{}, { ipBlock: { cidr: 'nope' } }], ports: [{ port: 0 }, { protocol: 'ICMP' }] }],
        egress: [{ ports: [{ port: 10, endPort: 5 }] }],
      }),
      'spec.policies[0]',
    );
    expect(problems.map((p) => p.path)).toEqual([
      'spec.policies[0].spec.ingress[0].from[0]',
      'spec.policies[0].spec.ingress[0].from[1].ipBlock.cidr',
      'spec.policies[0].spec.ingress[0].ports[0].port',
      'spec.policies[0].spec.ingress[0].ports[1].protocol',
      'spec.policies[0].spec.egress[0].ports[0].endPort',
      'spec.policies[0].spec.policyTypes[1]',
    ]);
  });

  it('accepts the valid corner cases', () => {
    const p = parsed({
      podSelector: { matchLabels: { 'app.kubernetes.io/name': 'web', empty: '' } },
      ingress: [{ ports: [{ port: 'http-alt', protocol: 'SCTP' }, { port: 1, endPort: 65535 }, { port: 80, endPort: 80 }] }],
      egress: [{ to: [{ ipBlock: { cidr: '::/0', except: ['fd00::/8'] } }, { ipBlock: { cidr: '0.0.0.0/0' } }] }],
    });
    expect(p.ingress[0]!.ports).toHaveLength(3);
    expect(p.warnings).toEqual([]);
  });
});

describe('the invalid fixture', () => {
  it('reports every problem the API server would, with its path', async () => {
    const { readFileSync } = await import('node:fs');
    const { parse } = await import('yaml');
    const text = readFileSync(new URL('../../../fixtures/policies/invalid-api-server-rejects.yaml', import.meta.url), 'utf8');
    expect(problemsOf(parse(text), 'invalid-api-server-rejects.yaml')).toEqual([
      { path: 'invalid-api-server-rejects.yaml.spec.podSelector.matchExpressions[0].operator', message: 'must be one of In, NotIn, Exists, DoesNotExist, got "Equals"' },
      { path: 'invalid-api-server-rejects.yaml.spec.podSelector.matchExpressions[1].values', message: 'must be specified and non-empty when operator is In' },
      { path: 'invalid-api-server-rejects.yaml.spec.ingress[0].from[0]', message: 'must specify a peer: one of podSelector, namespaceSelector or ipBlock' },
      { path: 'invalid-api-server-rejects.yaml.spec.ingress[0].from[1]', message: 'may not combine ipBlock with podSelector or namespaceSelector (use separate peers)' },
      { path: 'invalid-api-server-rejects.yaml.spec.ingress[0].from[1].ipBlock.except[0]', message: 'must be a strict subset of cidr 10.0.0.0/8, got 10.0.0.0/8' },
      { path: 'invalid-api-server-rejects.yaml.spec.ingress[0].from[2].ipBlock.except[0]', message: 'must be a strict subset of cidr 10.0.0.0/8, got 192.168.0.0/16' },
      {
        path: 'invalid-api-server-rejects.yaml.spec.ingress[0].ports[0].port',
        message: 'must be a port number or an IANA service name (at most 15 lowercase letters, digits and non-adjacent hyphens, with at least one letter), got "80"',
      },
      { path: 'invalid-api-server-rejects.yaml.spec.ingress[0].ports[1].endPort', message: 'must be greater than or equal to port' },
      { path: 'invalid-api-server-rejects.yaml.spec.ingress[0].ports[2].protocol', message: 'must be one of TCP, UDP, SCTP, got "ICMP"' },
      { path: 'invalid-api-server-rejects.yaml.spec.egress[0].ports[0].endPort', message: 'may not be specified when port is a named port' },
      { path: 'invalid-api-server-rejects.yaml.spec.egress[0].ports[1].port', message: 'must be between 1 and 65535, inclusive, got 70000' },
      { path: 'invalid-api-server-rejects.yaml.spec.policyTypes', message: 'may not have more than two entries, got 3' },
    ]);
  });
});
