/**
 * Parses one cilium.io/v2 CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy manifest into
 * the model (policy.ts), collecting every problem with its field path, following the CRD
 * schema and the agent's own checks (cilium/cilium pkg/policy/api rule_validation.go: one kind
 * of peer per rule, icmps not beside toPorts, L7 rules on TCP only, a port on every entry).
 *
 * What cannot be judged from a flow is a problem naming the field, never a guess: toServices
 * and toGroups/fromGroups (need the cluster's Services or a cloud provider), fromRequires and
 * toRequires, fromNodes/toNodes and nodeSelector (node labels and host policies),
 * authentication (decided by the mutual-auth datapath), listener and serverNames (decided by
 * the proxy), and CIDR groups (cidrGroupRef, cidrGroupSelector).
 */
import { childPath, err, isObject, isStrictSubrange, ok, problem, type Problem, type Result } from '../common/index.js';
import { checkDnsLabel, checkDnsSubdomain, checkLabelKey } from './names.js';
import { describe, optionalList, optionalObject, parseCidrField, parseSelector, type Obj, type Walk } from './parse.js';
import { parseIcmps, parseToPorts } from './cilium-ports.js';
import {
  CILIUM_ENTITIES,
  type CiliumEntity,
  type CiliumPeer,
  type CiliumPolicy,
  type CiliumPort,
  type CiliumRule,
  type CiliumSpec,
} from './policy.js';

export const CILIUM_API_VERSION = 'cilium.io/v2';
export const CILIUM_KINDS = ['CiliumNetworkPolicy', 'CiliumClusterwideNetworkPolicy'] as const;

/** Fields whose effect depends on something a flow does not carry: a problem each, naming the field. */
const UNJUDGEABLE: Readonly<Record<string, string>> = {
  toServices: 'depends on the cluster\'s Service endpoints, which a flow does not carry',
  toGroups: 'depends on a cloud provider\'s groups, which a flow does not carry',
  fromGroups: 'depends on a cloud provider\'s groups, which a flow does not carry',
  fromRequires: 'is deprecated and combines selectors across rules in a way a flow cannot settle',
  toRequires: 'is deprecated and combines selectors across rules in a way a flow cannot settle',
  fromNodes: 'selects nodes by node labels, which a flow does not carry',
  toNodes: 'selects nodes by node labels, which a flow does not carry',
  authentication: 'is decided by the mutual-authentication datapath, not by the policy engine',
};

const INGRESS_PEERS = ['fromEndpoints', 'fromEntities', 'fromCIDR', 'fromCIDRSet', 'fromNodes', 'fromGroups'] as const;
const EGRESS_PEERS = ['toEndpoints', 'toEntities', 'toCIDR', 'toCIDRSet', 'toFQDNs', 'toServices', 'toNodes', 'toGroups'] as const;

/** A Cilium selector key may carry a label source (`k8s:app`, `reserved:host`): the rest is a label key. */
const SOURCE_PREFIX = /^([a-z][a-z0-9-]*):(.*)$/;

function checkCiliumKey(key: string): string | null {
  const m = SOURCE_PREFIX.exec(key);
  const rest = m === null ? key : m[2]!;
  return checkLabelKey(rest);
}

function parseFqdn(w: Walk, raw: unknown, path: string): CiliumPeer | null {
  if (!isObject(raw)) {
    w.problems.push(problem(path, `must be an object, got ${describe(raw)}`));
    return null;
  }
  const name = raw['matchName'];
  const pattern = raw['matchPattern'];
  const hasName = typeof name === 'string' && name !== '';
  const hasPattern = typeof pattern === 'string' && pattern !== '';
  if (hasName === hasPattern) {
    w.problems.push(problem(path, 'must set exactly one of matchName or matchPattern'));
    return null;
  }
  if (hasName && !/^[-a-zA-Z0-9_.]+$/.test(name)) {
    w.problems.push(problem(childPath(path, 'matchName'), `may only hold 0-9, a-z, A-Z, '.', '-' and '_', got ${describe(name)}`));
    return null;
  }
  if (hasPattern && !/^([-a-zA-Z0-9_*]+[.]?)+$/.test(pattern)) {
    w.problems.push(problem(childPath(path, 'matchPattern'), `may only hold 0-9, a-z, A-Z, '.', '-', '_' and '*', got ${describe(pattern)}`));
    return null;
  }
  return { kind: 'fqdn', matchName: hasName ? name : null, matchPattern: hasPattern ? pattern : null };
}

function parseCidrPeer(w: Walk, raw: unknown, path: string, withExcept: boolean): CiliumPeer | null {
  if (!withExcept) {
    const c = parseCidrField(w, raw, path);
    return c === null ? null : { kind: 'cidr', cidr: c.text, except: [] };
  }
  if (!isObject(raw)) {
    w.problems.push(problem(path, `must be an object, got ${describe(raw)}`));
    return null;
  }
  for (const f of ['cidrGroupRef', 'cidrGroupSelector']) {
    if (raw[f] !== undefined && raw[f] !== null) {
      w.problems.push(problem(childPath(path, f), 'cannot be judged from a flow: CIDR groups live in CiliumCIDRGroup objects Rampart does not read'));
      return null;
    }
  }
  const c = parseCidrField(w, raw['cidr'], childPath(path, 'cidr'));
  if (c === null) return null;
  const except: string[] = [];
  let good = true;
  const exceptPath = childPath(path, 'except');
  (optionalList(w, raw['except'], exceptPath) ?? []).forEach((e, i) => {
    const parsed = parseCidrField(w, e, childPath(exceptPath, i));
    if (parsed === null) {
      good = false;
      return;
    }
    if (!isStrictSubrange(parsed.range, c.range)) {
      w.problems.push(problem(childPath(exceptPath, i), `must be a strict subset of cidr ${c.text}, got ${String(e)}`));
      good = false;
      return;
    }
    except.push(parsed.text);
  });
  return good ? { kind: 'cidr', cidr: c.text, except } : null;
}

function parsePeers(w: Walk, rule: Obj, path: string, field: string, list: readonly unknown[]): CiliumPeer[] | null {
  const at = childPath(path, field);
  const peers: CiliumPeer[] = [];
  let good = true;
  list.forEach((raw, i) => {
    const p = childPath(at, i);
    let peer: CiliumPeer | null = null;
    switch (field) {
      case 'fromEndpoints':
      case 'toEndpoints': {
        const sel = parseSelector(w, raw, p, checkCiliumKey);
        peer = sel === null ? null : { kind: 'endpoints', selector: sel };
        if (raw === null || raw === undefined) w.problems.push(problem(p, 'must be an object'));
        break;
      }
      case 'fromEntities':
      case 'toEntities':
        if (typeof raw === 'string' && (CILIUM_ENTITIES as readonly string[]).includes(raw)) peer = { kind: 'entity', entity: raw as CiliumEntity };
        else w.problems.push(problem(p, `must be one of ${CILIUM_ENTITIES.join(', ')}, got ${describe(raw)}`));
        break;
      case 'fromCIDR':
      case 'toCIDR':
        peer = parseCidrPeer(w, raw, p, false);
        break;
      case 'fromCIDRSet':
      case 'toCIDRSet':
        peer = parseCidrPeer(w, raw, p, true);
        break;
      case 'toFQDNs':
        peer = parseFqdn(w, raw, p);
        break;
    }
    if (peer === null) good = false;
    else peers.push(peer);
  });
  void rule;
  return good ? peers : null;
}

function parseRule(w: Walk, raw: unknown, path: string, ingress: boolean, deny: boolean): CiliumRule | null {
  if (!isObject(raw)) {
    w.problems.push(problem(path, `must be an object, got ${describe(raw)}`));
    return null;
  }
  let good = true;
  for (const [field, why] of Object.entries(UNJUDGEABLE)) {
    if (raw[field] !== undefined && raw[field] !== null) {
      w.problems.push(problem(childPath(path, field), `cannot be judged from a flow: it ${why}`));
      good = false;
    }
  }
  const fields = (ingress ? INGRESS_PEERS : EGRESS_PEERS).filter((f) => raw[f] !== undefined && raw[f] !== null);
  if (deny && raw['toFQDNs'] !== undefined) {
    w.problems.push(problem(childPath(path, 'toFQDNs'), 'is not allowed in egressDeny rules'));
    good = false;
  }
  if (fields.length > 1) {
    w.problems.push(problem(path, `combining ${fields.join(' and ')} in one rule is not supported by Cilium; use separate rules`));
    good = false;
  }
  let peerMode: CiliumRule['peerMode'] = 'any';
  let peers: CiliumPeer[] = [];
  if (fields.length === 1 && good) {
    const field = fields[0]!;
    const list = optionalList(w, raw[field], childPath(path, field));
    if (list === null) good = false;
    else if (list.length === 0) peerMode = 'none';
    else {
      const parsed = parsePeers(w, raw, path, field, list);
      if (parsed === null) good = false;
      else {
        peerMode = 'list';
        peers = parsed;
      }
    }
  }
  const toPortsRaw = optionalList(w, raw['toPorts'], childPath(path, 'toPorts'));
  const icmpsRaw = optionalList(w, raw['icmps'], childPath(path, 'icmps'));
  if (toPortsRaw !== null && toPortsRaw.length > 0 && icmpsRaw !== null && icmpsRaw.length > 0) {
    w.problems.push(problem(path, 'may not combine icmps with toPorts (use separate rules)'));
    good = false;
  }
  let ports: CiliumPort[] | null = null;
  let l7 = false;
  if (toPortsRaw !== null && toPortsRaw.length > 0) {
    const parsed = parseToPorts(w, toPortsRaw, childPath(path, 'toPorts'), deny, ingress);
    if (parsed === null) good = false;
    else {
      ports = parsed.ports;
      l7 = parsed.l7;
    }
  } else if (icmpsRaw !== null && icmpsRaw.length > 0) {
    const parsed = parseIcmps(w, icmpsRaw, childPath(path, 'icmps'));
    if (parsed === null) good = false;
    else ports = parsed;
  }
  return good ? { peerMode, peers, ports, l7 } : null;
}

function parseRules(w: Walk, spec: Obj, path: string, field: 'ingress' | 'ingressDeny' | 'egress' | 'egressDeny'): CiliumRule[] {
  const at = childPath(path, field);
  const out: CiliumRule[] = [];
  (optionalList(w, spec[field], at) ?? []).forEach((r, i) => {
    const rule = parseRule(w, r, childPath(at, i), field.startsWith('ingress'), field.endsWith('Deny'));
    if (rule !== null) out.push(rule);
  });
  return out;
}

function parseSpec(w: Walk, raw: unknown, path: string, namespace: string): CiliumSpec | null {
  const spec = optionalObject(w, raw, path);
  if (spec === null) return null;
  if (spec['nodeSelector'] !== undefined && spec['nodeSelector'] !== null) {
    w.problems.push(problem(childPath(path, 'nodeSelector'), 'cannot be judged from a flow: host policies select nodes by node labels and are enforced by the host firewall'));
    return null;
  }
  if (spec['endpointSelector'] === undefined || spec['endpointSelector'] === null) {
    w.problems.push(problem(childPath(path, 'endpointSelector'), 'is required (use {} to select every endpoint)'));
    return null;
  }
  const endpointSelector = parseSelector(w, spec['endpointSelector'], childPath(path, 'endpointSelector'), checkCiliumKey);
  const nsMatch = endpointSelector?.matchLabels['k8s:io.kubernetes.pod.namespace'];
  if (namespace !== '' && nsMatch !== undefined && nsMatch !== namespace) {
    w.warnings.push(problem(childPath(childPath(childPath(path, 'endpointSelector'), 'matchLabels'), 'k8s:io.kubernetes.pod.namespace'), `names namespace ${nsMatch}, but a CiliumNetworkPolicy only selects endpoints of its own namespace ${namespace}: Cilium replaces it`));
  }
  const dd = optionalObject(w, spec['enableDefaultDeny'], childPath(path, 'enableDefaultDeny')) ?? {};
  const flag = (key: 'ingress' | 'egress'): boolean => {
    const v = dd[key];
    if (v === undefined || v === null) return true;
    if (typeof v !== 'boolean') {
      w.problems.push(problem(childPath(childPath(path, 'enableDefaultDeny'), key), `must be a boolean, got ${describe(v)}`));
      return true;
    }
    return v;
  };
  const result: CiliumSpec = {
    endpointSelector: endpointSelector ?? { matchLabels: {}, matchExpressions: [] },
    ingress: parseRules(w, spec, path, 'ingress'),
    ingressDeny: parseRules(w, spec, path, 'ingressDeny'),
    egress: parseRules(w, spec, path, 'egress'),
    egressDeny: parseRules(w, spec, path, 'egressDeny'),
    defaultDenyIngress: flag('ingress'),
    defaultDenyEgress: flag('egress'),
  };
  if (result.ingress.length + result.ingressDeny.length + result.egress.length + result.egressDeny.length === 0 && w.problems.length === 0) {
    // Cilium's Rule.Sanitize refuses a rule with no rules at all.
    w.problems.push(problem(path, 'must have at least one of ingress, ingressDeny, egress or egressDeny'));
    return null;
  }
  return endpointSelector === null ? null : result;
}

/** Whether a decoded manifest is a CNP or CCNP (by kind), so callers can dispatch. */
export const isCiliumManifest = (raw: unknown): boolean =>
  isObject(raw) && typeof raw['kind'] === 'string' && (CILIUM_KINDS as readonly string[]).includes(raw['kind']);

/**
 * Whether a manifest is a host policy only: a Cilium policy whose every spec selects nodes
 * (`nodeSelector`). It governs the nodes' host endpoints, never a pod's side, so as a policy
 * already in force it changes no verdict Rampart gives (traffic with nodes is allowed before
 * any rule); as a proposal it stays a problem (Rampart cannot ramp it).
 */
export function isHostPolicyManifest(raw: unknown): boolean {
  if (!isCiliumManifest(raw)) return false;
  const m = raw as Obj;
  const specs = [...(isObject(m['spec']) ? [m['spec']] : []), ...(Array.isArray(m['specs']) ? (m['specs'] as unknown[]) : [])];
  return specs.length > 0 && specs.every((s) => isObject(s) && s['nodeSelector'] !== undefined && s['nodeSelector'] !== null);
}

/**
 * Parses one CNP or CCNP manifest (already decoded). Problems carry field paths under `path`.
 */
export function parseCiliumPolicy(raw: unknown, path: string): Result<CiliumPolicy, Problem[]> {
  const w: Walk = { problems: [], warnings: [] };
  if (!isObject(raw)) return err([problem(path, `must be a CiliumNetworkPolicy object, got ${describe(raw)}`)]);
  const kind = raw['kind'];
  if (kind !== 'CiliumNetworkPolicy' && kind !== 'CiliumClusterwideNetworkPolicy') {
    return err([problem(childPath(path, 'kind'), `must be CiliumNetworkPolicy or CiliumClusterwideNetworkPolicy, got ${describe(kind)}`)]);
  }
  if (raw['apiVersion'] !== CILIUM_API_VERSION) {
    w.problems.push(problem(childPath(path, 'apiVersion'), `must be ${CILIUM_API_VERSION}, got ${describe(raw['apiVersion'])}`));
  }
  const metaPath = childPath(path, 'metadata');
  const metadata = optionalObject(w, raw['metadata'], metaPath) ?? {};
  const name = metadata['name'];
  if (typeof name !== 'string' || name === '') w.problems.push(problem(childPath(metaPath, 'name'), name === undefined ? 'is required' : `must be a non-empty string, got ${describe(name)}`));
  else {
    const bad = checkDnsSubdomain(name);
    if (bad !== null) w.problems.push(problem(childPath(metaPath, 'name'), bad));
  }
  let namespace = '';
  const ns = metadata['namespace'];
  if (kind === 'CiliumNetworkPolicy') {
    if (ns === undefined || ns === null || ns === '') {
      namespace = 'default';
      w.warnings.push(problem(childPath(metaPath, 'namespace'), 'not set; the policy is taken to be in namespace "default"'));
    } else if (typeof ns !== 'string') w.problems.push(problem(childPath(metaPath, 'namespace'), `must be a string, got ${describe(ns)}`));
    else {
      const bad = checkDnsLabel(ns);
      if (bad !== null) w.problems.push(problem(childPath(metaPath, 'namespace'), bad));
      namespace = ns;
    }
  } else if (ns !== undefined && ns !== null && ns !== '') {
    w.problems.push(problem(childPath(metaPath, 'namespace'), 'must not be set: a CiliumClusterwideNetworkPolicy is cluster-scoped'));
  }
  const specs: CiliumSpec[] = [];
  const hasSpec = raw['spec'] !== undefined && raw['spec'] !== null;
  const specsList = optionalList(w, raw['specs'], childPath(path, 'specs'));
  if (!hasSpec && (specsList === null || specsList.length === 0)) w.problems.push(problem(childPath(path, 'spec'), 'is required (or specs)'));
  if (hasSpec) {
    const s = parseSpec(w, raw['spec'], childPath(path, 'spec'), namespace);
    if (s !== null) specs.push(s);
  }
  (specsList ?? []).forEach((r, i) => {
    const s = parseSpec(w, r, childPath(childPath(path, 'specs'), i), namespace);
    if (s !== null) specs.push(s);
  });
  if (w.problems.length > 0) return err(w.problems);
  return ok({ kind, namespace, name: name as string, specs, warnings: w.warnings });
}
