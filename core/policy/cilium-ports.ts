/**
 * The port part of a Cilium rule (toPorts with endPort, protocol ANY and L7 rules, and icmps),
 * parsed with path-named problems for cilium-parse.ts.
 */
import { childPath, isObject, problem } from '../common/index.js';
import { checkPortName } from './names.js';
import { describe, optionalList, optionalObject, parsePortNumber, type Walk } from './parse.js';
import type { CiliumPort, CiliumProtocol } from './policy.js';

const PROTOCOLS = ['TCP', 'UDP', 'SCTP', 'ANY'] as const;

/** Cilium's ICMP type names (pkg/policy/api/icmp.go), by family. */
const ICMP4_NAMES: Readonly<Record<string, number>> = {
  EchoReply: 0, DestinationUnreachable: 3, Redirect: 5, Echo: 8, EchoRequest: 8, RouterAdvertisement: 9, RouterSelection: 10,
  TimeExceeded: 11, ParameterProblem: 12, Timestamp: 13, TimestampReply: 14, Photuris: 40, ExtendedEchoRequest: 42, ExtendedEchoReply: 43,
};
const ICMP6_NAMES: Readonly<Record<string, number>> = {
  DestinationUnreachable: 1, PacketTooBig: 2, TimeExceeded: 3, ParameterProblem: 4, EchoRequest: 128, EchoReply: 129,
  MulticastListenerQuery: 130, MulticastListenerReport: 131, MulticastListenerDone: 132, RouterSolicitation: 133, RouterAdvertisement: 134,
  NeighborSolicitation: 135, NeighborAdvertisement: 136, RedirectMessage: 137, RouterRenumbering: 138, ICMPNodeInformationQuery: 139,
  ICMPNodeInformationResponse: 140, InverseNeighborDiscoverySolicitation: 141, InverseNeighborDiscoveryAdvertisement: 142,
  HomeAgentAddressDiscoveryRequest: 144, HomeAgentAddressDiscoveryReply: 145, MobilePrefixSolicitation: 146, MobilePrefixAdvertisement: 147,
  DuplicateAddressRequestCodeSuffix: 157, DuplicateAddressConfirmationCodeSuffix: 158, ExtendedEchoRequest: 160, ExtendedEchoReply: 161,
};

function parsePortEntry(w: Walk, raw: unknown, path: string, withL7: boolean): { port: CiliumPort; tcpOnly: boolean } | null {
  if (!isObject(raw)) {
    w.problems.push(problem(path, `must be an object, got ${describe(raw)}`));
    return null;
  }
  let protocol: CiliumProtocol = 'ANY';
  const protoRaw = raw['protocol'];
  if (protoRaw !== undefined && protoRaw !== null && protoRaw !== '') {
    if (typeof protoRaw === 'string' && (PROTOCOLS as readonly string[]).includes(protoRaw)) protocol = protoRaw as CiliumProtocol;
    else {
      w.problems.push(problem(childPath(path, 'protocol'), `must be one of ${PROTOCOLS.join(', ')}, got ${describe(protoRaw)}`));
      return null;
    }
  }
  const portPath = childPath(path, 'port');
  const portRaw = raw['port'];
  let port: number | string | null;
  if (portRaw === undefined || portRaw === null || portRaw === '') {
    w.problems.push(problem(portPath, 'is required (a number, "0" for every port, or a named port)'));
    return null;
  } else if (typeof portRaw === 'number' || (typeof portRaw === 'string' && /^[0-9]+$/.test(portRaw))) {
    const n = Number(portRaw);
    if (n === 0) port = null;
    else {
      const p = parsePortNumber(w, n, portPath);
      if (p === null) return null;
      port = p;
    }
  } else if (typeof portRaw === 'string') {
    const bad = checkPortName(portRaw.toLowerCase());
    if (bad !== null) {
      w.problems.push(problem(portPath, bad));
      return null;
    }
    // Cilium compares port names case-insensitively (pkg/types ValidatePortName lowercases them).
    port = portRaw.toLowerCase();
  } else {
    w.problems.push(problem(portPath, `must be a port number or name, got ${describe(portRaw)}`));
    return null;
  }
  let endPort: number | null = null;
  const endRaw = raw['endPort'];
  if (endRaw !== undefined && endRaw !== null && endRaw !== 0) {
    const endPath = childPath(path, 'endPort');
    if (typeof port !== 'number') {
      w.problems.push(problem(endPath, port === null ? 'may not be set when port is 0 (every port)' : 'may not be set with a named port'));
      return null;
    }
    endPort = parsePortNumber(w, endRaw, endPath);
    if (endPort === null) return null;
    if (endPort < port) {
      w.problems.push(problem(endPath, `must be greater than or equal to port ${port}, got ${endPort}`));
      return null;
    }
  }
  return { port: { protocol, port, endPort }, tcpOnly: withL7 };
}

export function parseToPorts(w: Walk, list: readonly unknown[], path: string, deny: boolean, ingress: boolean): { ports: CiliumPort[]; l7: boolean } | null {
  const ports: CiliumPort[] = [];
  let l7 = false;
  let good = true;
  list.forEach((raw, i) => {
    const at = childPath(path, i);
    if (!isObject(raw)) {
      w.problems.push(problem(at, `must be an object, got ${describe(raw)}`));
      good = false;
      return;
    }
    for (const f of ['listener', 'serverNames']) {
      const v = raw[f];
      if (!deny && v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0)) {
        w.problems.push(problem(childPath(at, f), 'cannot be judged from a flow: it is decided by the proxy (TLS server name or Envoy listener)'));
        good = false;
      }
    }
    const rules = deny ? null : optionalObject(w, raw['rules'], childPath(at, 'rules'));
    const hasRules = rules !== null && Object.values(rules).some((v) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0) && v !== '');
    const dnsOnly = rules !== null && Array.isArray(rules['dns']) && rules['dns'].length > 0;
    if (ingress && dnsOnly) {
      w.problems.push(problem(childPath(childPath(at, 'rules'), 'dns'), 'DNS rules are not allowed on ingress'));
      good = false;
    }
    if (hasRules) l7 = true;
    const entries = optionalList(w, raw['ports'], childPath(at, 'ports')) ?? [];
    entries.forEach((e, j) => {
      const parsed = parsePortEntry(w, e, childPath(childPath(at, 'ports'), j), hasRules && !dnsOnly);
      if (parsed === null) {
        good = false;
        return;
      }
      if (hasRules && parsed.port.port === null) {
        w.problems.push(problem(childPath(childPath(childPath(at, 'ports'), j), 'port'), 'L7 rules can not be used with port 0 (every port)'));
        good = false;
        return;
      }
      if (parsed.tcpOnly && parsed.port.protocol !== 'TCP') {
        w.problems.push(problem(childPath(childPath(childPath(at, 'ports'), j), 'protocol'), `L7 rules can only apply to TCP (not ${parsed.port.protocol}), except DNS rules`));
        good = false;
        return;
      }
      ports.push(parsed.port);
    });
  });
  return good ? { ports, l7 } : null;
}

export function parseIcmps(w: Walk, list: readonly unknown[], path: string): CiliumPort[] | null {
  const ports: CiliumPort[] = [];
  let good = true;
  list.forEach((raw, i) => {
    const at = childPath(path, i);
    const obj = optionalObject(w, raw, at);
    if (obj === null) {
      good = false;
      return;
    }
    (optionalList(w, obj['fields'], childPath(at, 'fields')) ?? []).forEach((f, j) => {
      const fp = childPath(childPath(at, 'fields'), j);
      if (!isObject(f)) {
        w.problems.push(problem(fp, `must be an object, got ${describe(f)}`));
        good = false;
        return;
      }
      const family = f['family'] ?? 'IPv4';
      if (family !== 'IPv4' && family !== 'IPv6') {
        w.problems.push(problem(childPath(fp, 'family'), `must be IPv4 or IPv6, got ${describe(family)}`));
        good = false;
        return;
      }
      const t = f['type'];
      const names = family === 'IPv4' ? ICMP4_NAMES : ICMP6_NAMES;
      let type: number | null = null;
      if (typeof t === 'number' && Number.isInteger(t) && t >= 0 && t <= 255) type = t;
      else if (typeof t === 'string' && /^[0-9]+$/.test(t) && Number(t) <= 255) type = Number(t);
      else if (typeof t === 'string' && Object.prototype.hasOwnProperty.call(names, t)) type = names[t]!;
      if (type === null) {
        w.problems.push(problem(childPath(fp, 'type'), `must be an ICMP type 0-255 or an ${family} type name, got ${describe(t)}`));
        good = false;
        return;
      }
      ports.push({ protocol: family === 'IPv4' ? 'ICMPv4' : 'ICMPv6', port: type, endPort: null });
    });
  });
  return good ? ports : null;
}

