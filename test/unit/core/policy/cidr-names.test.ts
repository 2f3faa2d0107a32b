import { describe, expect, it } from 'vitest';
import { isStrictSubrange, parseCidr, parseIp, rangeContains, type ParsedCidr } from '../../../../core/policy/index.js';
import { checkLabelKey, checkLabelValue, checkPortName } from '../../../../core/policy/names.js';
import { compileSelector, matchSelector } from '../../../../core/policy/selector.js';

function cidr(text: string): ParsedCidr {
  const r = parseCidr(text);
  if (typeof r === 'string') throw new Error(r);
  return r;
}

describe('CIDRs and addresses', () => {
  it.each([
    ['10.0.0.0/8', '10.0.0.0/8', false],
    ['10.1.2.3/8', '10.0.0.0/8', true],
    ['0.0.0.0/0', '0.0.0.0/0', false],
    ['192.0.2.7/32', '192.0.2.7/32', false],
    ['::/0', '::/0', false],
    ['::1/128', '::1/128', false],
    ['fe80::1/10', 'fe80::/10', true],
    ['2001:DB8:0:0:1:0:0:1/128', '2001:db8::1:0:0:1/128', false],
    ['::ffff:192.0.2.1/128', '::ffff:c000:201/128', false],
    ['2001:db8:1::/48', '2001:db8:1::/48', false],
  ])('%s → %s (host bits set: %s)', (text, canonical, hostBits) => {
    const r = cidr(text);
    expect(r.canonical).toBe(canonical);
    expect(r.hostBitsSet).toBe(hostBits);
  });

  it.each(['10.0.0.0', '10.0.0.0/33', '::/129', '01.2.3.4/8', '1.2.3/8', '256.0.0.0/8', '1:2:3:4:5:6:7:8:9/64', ':::/0', '1::2::3/64', 'x/8', '10.0.0.0/-1', '10.0.0.0/ 8'])('rejects %s', (text) => {
    expect(typeof parseCidr(text)).toBe('string');
  });

  it('contains network and broadcast addresses, nothing outside, never across families', () => {
    const r = cidr('192.0.2.0/24').range;
    expect(rangeContains(r, parseIp('192.0.2.0')!)).toBe(true);
    expect(rangeContains(r, parseIp('192.0.2.255')!)).toBe(true);
    expect(rangeContains(r, parseIp('192.0.3.0')!)).toBe(false);
    expect(rangeContains(r, parseIp('192.0.1.255')!)).toBe(false);
    expect(rangeContains(cidr('::/0').range, parseIp('192.0.2.1')!)).toBe(false);
    expect(rangeContains(cidr('0.0.0.0/0').range, parseIp('2001:db8::1')!)).toBe(false);
    expect(rangeContains(cidr('2001:db8::/32').range, parseIp('2001:db8:ffff:ffff:ffff:ffff:ffff:ffff')!)).toBe(true);
    expect(rangeContains(cidr('2001:db8::/32').range, parseIp('2001:db9::')!)).toBe(false);
  });

  it('strict subsets', () => {
    expect(isStrictSubrange(cidr('10.1.0.0/16').range, cidr('10.0.0.0/8').range)).toBe(true);
    expect(isStrictSubrange(cidr('10.0.0.0/8').range, cidr('10.0.0.0/8').range)).toBe(false);
    expect(isStrictSubrange(cidr('11.0.0.0/16').range, cidr('10.0.0.0/8').range)).toBe(false);
    expect(isStrictSubrange(cidr('0.0.0.0/1').range, cidr('0.0.0.0/0').range)).toBe(true);
    expect(isStrictSubrange(cidr('fd00::/16').range, cidr('0.0.0.0/0').range)).toBe(false);
  });
});

describe('Kubernetes name grammars', () => {
  it.each([
    ['app', true],
    ['app.kubernetes.io/name', true],
    ['example.com/a_b-c.d', true],
    ['a/b/c', false],
    ['Example.com/app', false],
    ['/app', false],
    ['app/', false],
    ['-app', false],
    ['a'.repeat(63), true],
    ['a'.repeat(64), false],
  ])('label key %s valid: %s', (key, valid) => {
    expect(checkLabelKey(key) === null).toBe(valid);
  });

  it.each([
    ['', true],
    ['v1', true],
    ['Web_1.0-beta', true],
    ['-web', false],
    ['web-', false],
    ['a b', false],
    ['x'.repeat(64), false],
  ])('label value %j valid: %s', (value, valid) => {
    expect(checkLabelValue(value) === null).toBe(valid);
  });

  it.each([
    ['http', true],
    ['http-alt', true],
    ['h2c', true],
    ['80', false],
    ['HTTP', false],
    ['-http', false],
    ['http-', false],
    ['http--alt', false],
    ['a-very-long-name', false],
    ['abcdefghijklmno', true],
  ])('port name %s valid: %s', (name, valid) => {
    expect(checkPortName(name) === null).toBe(valid);
  });
});

describe('selectors against identity labels', () => {
  const sel = (matchLabels: Record<string, string>, exprs: { key: string; operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist'; values: string[] }[] = []) =>
    compileSelector({ matchLabels, matchExpressions: exprs }, true);

  it('answers MAYBE (1) for a key Cilium filters out when the flow lacks it, NO (0) once another requirement fails', () => {
    expect(matchSelector(sel({ 'pod-template-hash': 'abc' }), { app: 'web' })).toBe(1);
    expect(matchSelector(sel({ 'pod-template-hash': 'abc', app: 'db' }), { app: 'web' })).toBe(0);
    expect(matchSelector(sel({ 'statefulset.kubernetes.io/pod-name': 'db-0' }), { 'statefulset.kubernetes.io/pod-name': 'db-0' })).toBe(2);
    expect(matchSelector(sel({ 'app.kubernetes.io/name': 'web' }), { app: 'web' })).toBe(0);
  });

  it('does not read inherited members as labels', () => {
    expect(matchSelector(sel({}, [{ key: 'constructor', operator: 'DoesNotExist', values: [] }]), {})).toBe(2);
    expect(matchSelector(sel({}, [{ key: 'constructor', operator: 'Exists', values: [] }]), {})).toBe(0);
  });

  it('namespace selectors never answer MAYBE', () => {
    const ns = compileSelector({ matchLabels: { 'kubernetes.io/metadata.name': 'shop' }, matchExpressions: [] }, false);
    expect(matchSelector(ns, { team: 'a' })).toBe(0);
  });
});
