/**
 * Hubble's server-side FlowFilter semantics (Cilium v1.19 `pkg/hubble/filters` behaviour):
 * inside one filter every set field must match; within a repeated field any value may match;
 * a whitelist matches when any filter matches (an empty whitelist matches everything); the
 * blacklist removes flows matching any of its filters. Lost events bypass all filters.
 *
 * Fields Rampart does not implement are rejected (the server answers INVALID_ARGUMENT), so a
 * client never receives unfiltered flows believing they were filtered.
 */
import { asObject, err, ok, parseCidr, parseIp, rangeContains, type IpRange, type Result } from '../core/common/index.js';
import type { PbRecord } from '../proto/codec/hubble-types.js';
import { compileLabelSelector, type LabelSelector } from './label-selector.js';

export type FlowPredicate = (flow: PbRecord) => boolean;

const obj = asObject;
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

const SUPPORTED = new Set([
  'uuid',
  'source_ip',
  'destination_ip',
  'source_pod',
  'destination_pod',
  'source_label',
  'destination_label',
  'source_service',
  'destination_service',
  'source_fqdn',
  'destination_fqdn',
  'source_identity',
  'destination_identity',
  'traffic_direction',
  'verdict',
  'drop_reason_desc',
  'event_type',
  'protocol',
  'source_port',
  'destination_port',
  'reply',
  'node_name',
  'ip_version',
  'tcp_flags',
  'http_method',
  'http_status_code',
]);

// ------------------------------------------------------------------ field readers

function l4Ports(flow: PbRecord): { src: number; dst: number } | null {
  const l4 = obj(flow['l4']);
  const body = l4['TCP'] ?? l4['UDP'] ?? l4['SCTP'];
  if (body === undefined) return null;
  const b = obj(body);
  return { src: num(b['source_port']), dst: num(b['destination_port']) };
}

/** Namespace-qualified prefix match: `ns/prefix`, `ns/` (whole namespace), bare = `default/`. */
function namespacedName(patterns: readonly string[]): Result<(ns: string, name: string) => boolean, string> {
  const parsed: { ns: string; prefix: string }[] = [];
  for (const p of patterns) {
    if (p === '') return err('invalid filter, name must not be empty');
    const slash = p.indexOf('/');
    parsed.push(slash >= 0 ? { ns: p.slice(0, slash), prefix: p.slice(slash + 1).split('/')[0]! } : { ns: 'default', prefix: p });
  }
  return ok((ns, name) => {
    if (ns === '' && name === '') return false;
    return parsed.some((f) => (f.prefix === '' || name.startsWith(f.prefix)) && (f.ns === '' || f.ns === ns));
  });
}

/**
 * Cilium's filterByIPs: a value with a `/` is a prefix (netip.ParsePrefix; host bits may be
 * set), any other an address (netip.ParseAddr, zones allowed) compared as written. Both go
 * through the project's one strict parser (core/common/cidr.ts).
 */
function ipMatcher(patterns: readonly string[]): Result<(ip: string) => boolean, string> {
  const addresses = new Set<string>();
  const ranges: IpRange[] = [];
  for (const p of patterns) {
    if (p.includes('/')) {
      const cidr = parseCidr(p);
      if (typeof cidr === 'string') return err(`invalid IP prefix ${JSON.stringify(p)} in filter: ${cidr}`);
      ranges.push(cidr.range);
    } else {
      if (parseIp(p, { zone: true }) === null) return err(`invalid IP address ${JSON.stringify(p)} in filter`);
      addresses.add(p);
    }
  }
  return ok((ip) => {
    if (ip === '') return false;
    if (addresses.has(ip)) return true;
    if (ranges.length === 0) return false;
    const addr = parseIp(ip);
    return addr !== null && ranges.some((r) => rangeContains(r, addr));
  });
}

function globToRegExp(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '.');
  return new RegExp(`^${escaped}$`);
}

// ------------------------------------------------------------------ compiler

/** Compiles one FlowFilter record; unsupported or malformed fields are an error. */
export function compileFlowFilter(filter: PbRecord): Result<FlowPredicate, string> {
  const checks: FlowPredicate[] = [];
  for (const [key, value] of Object.entries(filter)) {
    if (value === undefined || value === null) continue;
    if (Array.isArray(value) && value.length === 0) continue;
    if (!SUPPORTED.has(key)) return err(`flow filter field ${JSON.stringify(key)} is not supported by this server`);
    const values = value as unknown[];
    const check = compileField(key, values);
    if (!check.ok) return check;
    checks.push(check.value);
  }
  return ok((flow) => checks.every((c) => c(flow)));
}

function compileField(key: string, values: unknown[]): Result<FlowPredicate, string> {
  const strings = values.map(str);
  switch (key) {
    case 'uuid':
      return ok((f) => strings.includes(str(f['uuid'])));
    case 'source_ip':
    case 'destination_ip': {
      const m = ipMatcher(strings);
      if (!m.ok) return m;
      const side = key === 'source_ip' ? 'source' : 'destination';
      return ok((f) => m.value(str(obj(f['IP'])[side])));
    }
    case 'source_pod':
    case 'destination_pod': {
      const m = namespacedName(strings);
      if (!m.ok) return m;
      const side = key === 'source_pod' ? 'source' : 'destination';
      return ok((f) => {
        const ep = obj(f[side]);
        return m.value(str(ep['namespace']), str(ep['pod_name']));
      });
    }
    case 'source_service':
    case 'destination_service': {
      const m = namespacedName(strings);
      if (!m.ok) return m;
      return ok((f) => {
        const svc = obj(f[key]);
        return m.value(str(svc['namespace']), str(svc['name']));
      });
    }
    case 'source_label':
    case 'destination_label': {
      const selectors: LabelSelector[] = [];
      for (const s of strings) {
        const c = compileLabelSelector(s);
        if (!c.ok) return c;
        selectors.push(c.value);
      }
      const side = key === 'source_label' ? 'source' : 'destination';
      return ok((f) => {
        const labels = obj(f[side])['labels'];
        const list = Array.isArray(labels) ? (labels as string[]) : [];
        return selectors.some((s) => s(list));
      });
    }
    case 'source_fqdn':
    case 'destination_fqdn': {
      const res = strings.map((s) => globToRegExp(s.replace(/\.$/, '')));
      const field = key === 'source_fqdn' ? 'source_names' : 'destination_names';
      return ok((f) => {
        const names = Array.isArray(f[field]) ? (f[field] as string[]) : [];
        return names.some((n) => res.some((r) => r.test(n)));
      });
    }
    case 'source_identity':
    case 'destination_identity': {
      const ids = values.map(num);
      const side = key === 'source_identity' ? 'source' : 'destination';
      return ok((f) => ids.includes(num(obj(f[side])['identity'])));
    }
    case 'traffic_direction':
      return ok((f) => strings.includes(str(f['traffic_direction']) || 'TRAFFIC_DIRECTION_UNKNOWN'));
    case 'verdict':
      return ok((f) => strings.includes(str(f['verdict']) || 'VERDICT_UNKNOWN'));
    case 'drop_reason_desc':
      return ok((f) => strings.includes(str(f['drop_reason_desc']) || 'DROP_REASON_UNKNOWN'));
    case 'event_type': {
      const types = values.map(obj);
      return ok((f) => {
        if (f['event_type'] === undefined) return false;
        const et = obj(f['event_type']);
        return types.some(
          (t) =>
            (num(t['type']) === 0 || num(t['type']) === num(et['type'])) &&
            (t['match_sub_type'] !== true || num(t['sub_type']) === num(et['sub_type'])),
        );
      });
    }
    case 'protocol': {
      const known = ['icmp', 'icmpv4', 'icmpv6', 'tcp', 'udp', 'sctp', 'vrrp', 'igmp', 'dns', 'http', 'kafka'];
      const protos = strings.map((s) => s.toLowerCase());
      const bad = protos.find((p) => !known.includes(p));
      if (bad !== undefined) return err(`unknown protocol: ${JSON.stringify(bad)}`);
      return ok((f) => {
        const l4 = obj(f['l4']);
        const l7 = obj(f['l7']);
        return protos.some((p) => {
          switch (p) {
            case 'icmp':
              return l4['ICMPv4'] !== undefined || l4['ICMPv6'] !== undefined;
            case 'icmpv4':
              return l4['ICMPv4'] !== undefined;
            case 'icmpv6':
              return l4['ICMPv6'] !== undefined;
            case 'dns':
            case 'http':
            case 'kafka':
              return l7[p] !== undefined;
            default:
              return l4[p.toUpperCase()] !== undefined;
          }
        });
      });
    }
    case 'source_port':
    case 'destination_port': {
      const ports: number[] = [];
      for (const s of strings) {
        const n = Number(s);
        if (!/^\d+$/.test(s) || n > 65535) return err(`invalid port ${JSON.stringify(s)}`);
        ports.push(n);
      }
      return ok((f) => {
        const p = l4Ports(f);
        return p !== null && ports.includes(key === 'source_port' ? p.src : p.dst);
      });
    }
    case 'reply': {
      const wanted = values.map((v) => v === true);
      return ok((f) => {
        const isReply = f['is_reply'];
        if (isReply === undefined && f['verdict'] !== 'DROPPED') return false;
        return wanted.includes(obj(isReply)['value'] === true);
      });
    }
    case 'node_name': {
      const res = strings.map((s) => globToRegExp(s.includes('/') ? s : `*/${s}`));
      const plain = strings.map((s) => globToRegExp(s));
      return ok((f) => {
        const node = str(f['node_name']);
        return res.some((r) => r.test(node)) || plain.some((r) => r.test(node));
      });
    }
    case 'ip_version':
      return ok((f) => strings.includes(str(obj(f['IP'])['ipVersion']) || 'IP_NOT_USED'));
    case 'tcp_flags': {
      const wanted = values.map(obj);
      return ok((f) => {
        const flags = obj(obj(obj(f['l4'])['TCP'])['flags']);
        return wanted.some((w) => Object.entries(w).every(([k, v]) => v !== true || flags[k] === true));
      });
    }
    case 'http_method':
      return ok((f) => strings.some((m) => m.toLowerCase() === str(obj(obj(f['l7'])['http'])['method']).toLowerCase()));
    case 'http_status_code':
      return ok((f) => {
        const http = obj(obj(f['l7'])['http']);
        if (http['code'] === undefined) return false;
        const code = String(num(http['code']));
        return strings.some((s) => (s.endsWith('+') ? code.startsWith(s.slice(0, -1)) : code === s));
      });
    default:
      return err(`flow filter field ${JSON.stringify(key)} is not supported by this server`);
  }
}

/** Whitelist/blacklist pair as GetFlows applies it. */
export function compileFilterLists(whitelist: readonly PbRecord[], blacklist: readonly PbRecord[]): Result<FlowPredicate, string> {
  const allow: FlowPredicate[] = [];
  for (const f of whitelist) {
    const c = compileFlowFilter(f);
    if (!c.ok) return c;
    allow.push(c.value);
  }
  const deny: FlowPredicate[] = [];
  for (const f of blacklist) {
    const c = compileFlowFilter(f);
    if (!c.ok) return c;
    deny.push(c.value);
  }
  if (allow.length === 0 && deny.length === 0) return ok(() => true);
  return ok((flow) => (allow.length === 0 || allow.some((p) => p(flow))) && !deny.some((p) => p(flow)));
}
