import { describe, expect, it } from 'vitest';
import { isStrictSubrange, parseCidr, parseIp, rangeContains, type ParsedCidr } from '../../../../core/common/index.js';

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

  it.each(['10.0.0.0', '10.0.0.0/33', '::/129', '01.2.3.4/8', '1.2.3/8', '256.0.0.0/8', '1:2:3:4:5:6:7:8:9/64', ':::/0', '1::2::3/64', 'x/8', '10.0.0.0/-1', '10.0.0.0/ 8', '10.0.0.0/08', '10.0.0.0/+8', '10.0.0.0/', 'fe80::1%eth0/64', '0x0a.0.0.0/8', '10..0.0/8'])('rejects %s', (text) => {
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

  it('zones only when asked for, never empty, never on IPv4, never in a range', () => {
    expect(parseIp('fe80::1%eth0')).toBe(null);
    expect(parseIp('fe80::1%eth0', { zone: true })).toEqual({ version: 6, words: [0xfe800000, 0, 0, 1], zone: 'eth0' });
    expect(parseIp('fe80::1%', { zone: true })).toBe(null);
    expect(parseIp('10.0.0.1%eth0', { zone: true })).toBe(null);
    expect(rangeContains(cidr('fe80::/10').range, parseIp('fe80::1%eth0', { zone: true })!)).toBe(false);
  });
});
