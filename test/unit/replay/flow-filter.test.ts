import { describe, expect, it } from 'vitest';
import { compileFilterLists, compileFlowFilter } from '../../../replay/flow-filter.js';
import { compileLabelSelector } from '../../../replay/label-selector.js';
import type { PbRecord } from '../../../proto/codec/hubble-types.js';

const web: PbRecord = {
  uuid: 'u-1',
  verdict: 'FORWARDED',
  IP: { source: '10.0.1.5', destination: '10.96.0.10', ipVersion: 'IPv4' },
  l4: { TCP: { source_port: 40000, destination_port: 8080, flags: { SYN: true } }, protocol: 'TCP' },
  source: { identity: 1234, namespace: 'shop', pod_name: 'web-7d9f', labels: ['k8s:app=web', 'k8s:io.kubernetes.pod.namespace=shop'] },
  destination: { identity: 2, labels: ['reserved:world'] },
  node_name: 'kind/worker-1',
  event_type: { type: 4 },
  traffic_direction: 'EGRESS',
  is_reply: {},
};
const dnsReply: PbRecord = {
  verdict: 'DROPPED',
  drop_reason_desc: 'POLICY_DENIED',
  IP: { source: 'fd00::53', destination: 'fd00::1', ipVersion: 'IPv6' },
  l4: { UDP: { source_port: 53, destination_port: 5353 }, protocol: 'UDP' },
  source: { namespace: 'kube-system', pod_name: 'coredns-1', labels: ['k8s:k8s-app=kube-dns'] },
  destination: { namespace: 'default', pod_name: 'client' },
  l7: { dns: { query: 'x.' }, record: 'dns' },
  event_type: { type: 1, sub_type: 133 },
  node_name: 'worker-2',
};

const cases: { name: string; filter: PbRecord; web: boolean; dns: boolean }[] = [
  { name: 'source pod prefix with namespace', filter: { source_pod: ['shop/web-'] }, web: true, dns: false },
  { name: 'bare pod name means namespace default', filter: { destination_pod: ['client'] }, web: false, dns: true },
  { name: 'whole namespace', filter: { source_pod: ['kube-system/'] }, web: false, dns: true },
  { name: 'any namespace', filter: { source_pod: ['/coredns'] }, web: false, dns: true },
  { name: 'endpoint without pod never matches a pod filter', filter: { destination_pod: ['/'] }, web: false, dns: true },
  { name: 'exact IP', filter: { source_ip: ['10.0.1.5'] }, web: true, dns: false },
  { name: 'IPv4 CIDR', filter: { destination_ip: ['10.96.0.0/12'] }, web: true, dns: false },
  { name: 'IPv6 CIDR', filter: { source_ip: ['fd00::/64'] }, web: false, dns: true },
  { name: 'verdict', filter: { verdict: ['DROPPED'] }, web: false, dns: true },
  { name: 'drop reason', filter: { drop_reason_desc: ['POLICY_DENIED'] }, web: false, dns: true },
  { name: 'event type', filter: { event_type: [{ type: 4 }] }, web: true, dns: false },
  { name: 'event type with sub type', filter: { event_type: [{ type: 1, match_sub_type: true, sub_type: 133 }] }, web: false, dns: true },
  { name: 'sub type 0 is a real value', filter: { event_type: [{ type: 4, match_sub_type: true }] }, web: true, dns: false },
  { name: 'traffic direction', filter: { traffic_direction: ['EGRESS'] }, web: true, dns: false },
  { name: 'protocol l4', filter: { protocol: ['UDP'] }, web: false, dns: true },
  { name: 'protocol l7', filter: { protocol: ['dns'] }, web: false, dns: true },
  { name: 'destination port', filter: { destination_port: ['8080'] }, web: true, dns: false },
  { name: 'source port', filter: { source_port: ['53'] }, web: false, dns: true },
  { name: 'reply false needs is_reply (drops without it count as not-reply)', filter: { reply: [false] }, web: true, dns: true },
  { name: 'reply true', filter: { reply: [true] }, web: false, dns: false },
  { name: 'label with source', filter: { source_label: ['k8s:app=web'] }, web: true, dns: false },
  { name: 'label without source', filter: { source_label: ['k8s-app in (kube-dns, other)'] }, web: false, dns: true },
  { name: 'reserved label', filter: { destination_label: ['reserved:world'] }, web: true, dns: false },
  { name: 'identity', filter: { source_identity: [1234] }, web: true, dns: false },
  { name: 'node name glob, cluster prefix', filter: { node_name: ['worker-*'] }, web: true, dns: true },
  { name: 'node name with cluster', filter: { node_name: ['kind/*'] }, web: true, dns: false },
  { name: 'uuid', filter: { uuid: ['u-1'] }, web: true, dns: false },
  { name: 'ip version', filter: { ip_version: ['IPv6'] }, web: false, dns: true },
  { name: 'tcp flags', filter: { tcp_flags: [{ SYN: true }] }, web: true, dns: false },
  { name: 'fields AND together', filter: { verdict: ['FORWARDED'], protocol: ['udp'] }, web: false, dns: false },
  { name: 'values OR together', filter: { verdict: ['FORWARDED', 'DROPPED'] }, web: true, dns: true },
  { name: 'an empty filter matches everything', filter: {}, web: true, dns: true },
];

describe('FlowFilter', () => {
  it.each(cases)('$name', ({ filter, web: w, dns: d }) => {
    const c = compileFlowFilter(filter);
    if (!c.ok) throw new Error(c.error);
    expect([c.value(web), c.value(dnsReply)]).toEqual([w, d]);
  });

  it.each([
    [{ http_url: ['/x'] }, 'http_url'],
    [{ source_port: ['http'] }, 'invalid port'],
    [{ protocol: ['quic'] }, 'unknown protocol'],
    [{ source_ip: ['10.0.0.0/99'] }, 'invalid IP prefix "10.0.0.0/99" in filter'],
    [{ source_pod: [''] }, 'must not be empty'],
    [{ source_label: ['=x'] }, 'bad requirement'],
  ])('rejects %j', (filter, fragment) => {
    const c = compileFlowFilter(filter);
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.error).toContain(fragment);
  });

  it('applies whitelist minus blacklist', () => {
    const c = compileFilterLists([{ protocol: ['tcp'] }, { protocol: ['udp'] }], [{ verdict: ['DROPPED'] }]);
    if (!c.ok) throw new Error(c.error);
    expect([c.value(web), c.value(dnsReply)]).toEqual([true, false]);
  });
});

describe('label selectors over identity labels', () => {
  const labels = ['k8s:app=web', 'k8s:tier=front', 'reserved:host'];
  it.each([
    ['app=web', true],
    ['k8s:app=web', true],
    ['any:app=web', true],
    ['reserved:app=web', false],
    ['app=web,tier=front', true],
    ['app=web,tier!=front', false],
    ['!db', true],
    ['host', true],
    ['reserved:host', true],
    ['tier notin (back)', true],
    ['tier in (back, middle)', false],
  ])('%s → %s', (sel, want) => {
    const c = compileLabelSelector(sel);
    if (!c.ok) throw new Error(c.error);
    expect(c.value(labels)).toBe(want);
  });
});

describe('FlowFilter IP fields: one strict parser (Go net/netip, as Cilium filterByIPs uses)', () => {
  const bad = [
    '10.0.0.0/', // was read as /0: matched everything
    '10..1.1', // an empty octet
    '10..1.1/8',
    '0x0a.0.0.1/8', // hex octet
    '0x0a000001',
    '10.0.0.01', // leading zero (octal ambiguity)
    '10.0.0.0/08', // leading zero in the prefix length
    '10.0.0.0/-1',
    '10.0.0.0/+8',
    '10.0.0.0/33',
    'fd00::/129',
    'fe80::1%eth0/64', // zones never in a prefix
    '10.0.0.1%eth0',
    'fe80::1%', // empty zone
    '',
    ' 10.0.0.1',
    '10.0.0.1/8/8',
    '1:2:3:4:5:6:7:8:9',
    '::ffff:1.2.3',
  ];
  it.each(bad)('rejects %j', (text) => {
    const c = compileFlowFilter({ source_ip: [text] });
    expect(c.ok).toBe(false);
    if (!c.ok) expect(c.error).toContain(JSON.stringify(text));
  });

  const flow = (ip: string): PbRecord => ({ IP: { source: ip, destination: '192.0.2.1' } });
  const good: [string, string, boolean][] = [
    ['10.0.0.1/8', '10.200.0.1', true], // host bits set: the masked network, as netip.Prefix.Contains
    ['0.0.0.0/0', '203.0.113.9', true],
    ['0.0.0.0/0', 'fd00::1', false], // IPv4 never meets IPv6
    ['::/0', '10.0.0.1', false],
    ['::ffff:10.0.0.0/104', '10.0.0.1', false], // a v4-mapped prefix does not hold a plain v4 address
    ['fd00::/8', 'FD00::1', true],
    ['fd00::1', 'fd00::1', true],
    ['fd00::01', 'fd00::1', false], // exact addresses compare as written, as Cilium does
    ['fe80::1%eth0', 'fe80::1', false], // a zone is a valid address that no flow carries
    ['10.0.0.0/32', '10.0.0.0', true],
    ['10.0.0.0/32', '10.0.0.1', false],
  ];
  it.each(good)('%j against %j: %j', (filter, ip, want) => {
    const c = compileFlowFilter({ source_ip: [filter] });
    if (!c.ok) throw new Error(c.error);
    expect(c.value(flow(ip))).toBe(want);
  });
});
