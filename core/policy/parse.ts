/**
 * Parses and validates one networking.k8s.io/v1 NetworkPolicy manifest the way the API server
 * would (netpol.md section 1 rule 22 and the validation rules of kubernetes/pkg/apis/networking),
 * collecting every problem with its field path, then applies the defaults (effective
 * policyTypes, protocol TCP) so later stages never have to remember them.
 *
 * NOTE: CIDRs with host bits set (`10.0.0.1/24`) are ACCEPTED AND MASKED, as older API servers
 * do (netpol.md 3.3), with a warning naming the masked network. Rejecting them would refuse
 * policies that clusters still hold; silently masking would hide a likely typo.
 */
import { childPath, err, isObject, isStrictSubrange, ok, parseCidr, problem, type IpRange, type Problem, type Result } from '../common/index.js';
import { checkDnsLabel, checkDnsSubdomain, checkLabelKey, checkLabelValue, checkPortName } from './names.js';
import type {
  LabelSelector,
  NetworkPolicy,
  Peer,
  PolicyProtocol,
  PolicyRule,
  PolicyType,
  PortMatch,
  SelectorOperator,
  SelectorRequirement,
} from './policy.js';

export const NETWORK_POLICY_API_VERSION = 'networking.k8s.io/v1';
export const DEFAULT_NAMESPACE = 'default';

const PROTOCOLS: readonly PolicyProtocol[] = ['TCP', 'UDP', 'SCTP'];
const OPERATORS: readonly SelectorOperator[] = ['In', 'NotIn', 'Exists', 'DoesNotExist'];
const POLICY_TYPES: readonly PolicyType[] = ['Ingress', 'Egress'];

const EMPTY_SELECTOR: LabelSelector = { matchLabels: {}, matchExpressions: [] };

/** Collects problems and warnings while walking one manifest. */
export interface Walk {
  readonly problems: Problem[];
  readonly warnings: Problem[];
}

export type Obj = Readonly<Record<string, unknown>>;

export const describe = (v: unknown): string =>
  v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'string' ? JSON.stringify(v) : typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`;

/** Reads an optional object field: undefined/null → null; anything but an object is a problem. */
export function optionalObject(w: Walk, v: unknown, path: string): Obj | null {
  if (v === undefined || v === null) return null;
  if (!isObject(v)) {
    w.problems.push(problem(path, `must be an object, got ${describe(v)}`));
    return null;
  }
  return v;
}

/** Reads an optional list field: undefined/null → null. */
export function optionalList(w: Walk, v: unknown, path: string): readonly unknown[] | null {
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v)) {
    w.problems.push(problem(path, `must be a list, got ${describe(v)}`));
    return null;
  }
  return v;
}

/** A label selector; `checkKey` is the key grammar (Kubernetes' by default; Cilium's allows a source prefix). */
export function parseSelector(w: Walk, raw: unknown, path: string, checkKey: (key: string) => string | null = checkLabelKey): LabelSelector | null {
  const obj = optionalObject(w, raw, path);
  if (obj === null) return null;
  const matchLabels: Record<string, string> = {};
  const labelsRaw = optionalObject(w, obj['matchLabels'], childPath(path, 'matchLabels'));
  if (labelsRaw !== null) {
    for (const [key, value] of Object.entries(labelsRaw)) {
      const at = childPath(childPath(path, 'matchLabels'), key);
      const badKey = checkKey(key);
      if (badKey !== null) w.problems.push(problem(at, badKey));
      if (typeof value !== 'string') {
        w.problems.push(problem(at, `must be a string, got ${describe(value)}`));
        continue;
      }
      const badValue = checkLabelValue(value);
      if (badValue !== null) w.problems.push(problem(at, badValue));
      matchLabels[key] = value;
    }
  }
  const matchExpressions: SelectorRequirement[] = [];
  const exprs = optionalList(w, obj['matchExpressions'], childPath(path, 'matchExpressions')) ?? [];
  exprs.forEach((rawExpr, i) => {
    const at = childPath(childPath(path, 'matchExpressions'), i);
    const req = parseRequirement(w, rawExpr, at, checkKey);
    if (req !== null) matchExpressions.push(req);
  });
  return { matchLabels, matchExpressions };
}

function parseRequirement(w: Walk, raw: unknown, path: string, checkKey: (key: string) => string | null): SelectorRequirement | null {
  if (!isObject(raw)) {
    w.problems.push(problem(path, `must be an object, got ${describe(raw)}`));
    return null;
  }
  let ok = true;
  const key = raw['key'];
  if (typeof key !== 'string') {
    w.problems.push(problem(childPath(path, 'key'), key === undefined ? 'is required' : `must be a string, got ${describe(key)}`));
    ok = false;
  } else {
    const bad = checkKey(key);
    if (bad !== null) {
      w.problems.push(problem(childPath(path, 'key'), bad));
      ok = false;
    }
  }
  const operator = raw['operator'];
  if (typeof operator !== 'string' || !(OPERATORS as readonly string[]).includes(operator)) {
    w.problems.push(
      problem(
        childPath(path, 'operator'),
        operator === undefined ? 'is required (one of In, NotIn, Exists, DoesNotExist)' : `must be one of In, NotIn, Exists, DoesNotExist, got ${describe(operator)}`,
      ),
    );
    ok = false;
  }
  const valuesPath = childPath(path, 'values');
  const valuesRaw = optionalList(w, raw['values'], valuesPath);
  const values: string[] = [];
  (valuesRaw ?? []).forEach((v, i) => {
    if (typeof v !== 'string') {
      w.problems.push(problem(childPath(valuesPath, i), `must be a string, got ${describe(v)}`));
      ok = false;
      return;
    }
    const bad = checkLabelValue(v);
    if (bad !== null) {
      w.problems.push(problem(childPath(valuesPath, i), bad));
      ok = false;
    }
    values.push(v);
  });
  if (operator === 'In' || operator === 'NotIn') {
    if (values.length === 0 && (valuesRaw === null || valuesRaw.length === 0)) {
      w.problems.push(problem(valuesPath, `must be specified and non-empty when operator is ${operator}`));
      ok = false;
    }
  } else if (operator === 'Exists' || operator === 'DoesNotExist') {
    if (valuesRaw !== null && valuesRaw.length > 0) {
      w.problems.push(problem(valuesPath, `must be empty when operator is ${operator}`));
      ok = false;
    }
  }
  if (!ok) return null;
  return { key: key as string, operator: operator as SelectorOperator, values };
}

export function parseCidrField(w: Walk, raw: unknown, path: string): { text: string; range: IpRange } | null {
  if (typeof raw !== 'string') {
    w.problems.push(problem(path, raw === undefined ? 'is required' : `must be a string, got ${describe(raw)}`));
    return null;
  }
  const parsed = parseCidr(raw);
  if (typeof parsed === 'string') {
    w.problems.push(problem(path, parsed));
    return null;
  }
  if (parsed.hostBitsSet) {
    w.warnings.push(
      problem(
        path,
        `${raw} has host bits set; taken as the network ${parsed.canonical} (older API servers accept and mask this; newer ones reject it for new objects)`,
      ),
    );
  }
  return { text: parsed.canonical, range: parsed.range };
}

function parsePeer(w: Walk, raw: unknown, path: string): Peer | null {
  if (!isObject(raw)) {
    w.problems.push(problem(path, `must be an object, got ${describe(raw)}`));
    return null;
  }
  const hasPod = raw['podSelector'] !== undefined && raw['podSelector'] !== null;
  const hasNs = raw['namespaceSelector'] !== undefined && raw['namespaceSelector'] !== null;
  const hasBlock = raw['ipBlock'] !== undefined && raw['ipBlock'] !== null;
  if (!hasPod && !hasNs && !hasBlock) {
    w.problems.push(problem(path, 'must specify a peer: one of podSelector, namespaceSelector or ipBlock'));
    return null;
  }
  const combined = hasBlock && (hasPod || hasNs);
  if (combined) w.problems.push(problem(path, 'may not combine ipBlock with podSelector or namespaceSelector (use separate peers)'));
  if (hasBlock) {
    const blockPath = childPath(path, 'ipBlock');
    const block = optionalObject(w, raw['ipBlock'], blockPath);
    if (block === null) return null;
    const cidr = parseCidrField(w, block['cidr'], childPath(blockPath, 'cidr'));
    const exceptPath = childPath(blockPath, 'except');
    const except: string[] = [];
    let good = cidr !== null;
    (optionalList(w, block['except'], exceptPath) ?? []).forEach((e, i) => {
      const at = childPath(exceptPath, i);
      const parsed = parseCidrField(w, e, at);
      if (parsed === null) {
        good = false;
        return;
      }
      if (cidr !== null && !isStrictSubrange(parsed.range, cidr.range)) {
        w.problems.push(problem(at, `must be a strict subset of cidr ${cidr.text}, got ${String(e)}`));
        good = false;
      }
      except.push(parsed.text);
    });
    // The ipBlock is still checked when combined with a selector, so every problem is reported.
    return good && !combined && cidr !== null ? { kind: 'ipBlock', cidr: cidr.text, except } : null;
  }
  const podSelector = hasPod ? parseSelector(w, raw['podSelector'], childPath(path, 'podSelector')) : null;
  const namespaceSelector = hasNs ? parseSelector(w, raw['namespaceSelector'], childPath(path, 'namespaceSelector')) : null;
  if ((hasPod && podSelector === null) || (hasNs && namespaceSelector === null)) return null;
  return { kind: 'selector', podSelector, namespaceSelector };
}

export function parsePortNumber(w: Walk, raw: unknown, path: string): number | null {
  if (typeof raw !== 'number' || !Number.isInteger(raw)) {
    w.problems.push(problem(path, `must be an integer between 1 and 65535, got ${describe(raw)}`));
    return null;
  }
  if (raw < 1 || raw > 65535) {
    w.problems.push(problem(path, `must be between 1 and 65535, inclusive, got ${raw}`));
    return null;
  }
  return raw;
}

function parsePort(w: Walk, raw: unknown, path: string): PortMatch | null {
  if (!isObject(raw)) {
    w.problems.push(problem(path, `must be an object, got ${describe(raw)}`));
    return null;
  }
  let good = true;
  let protocol: PolicyProtocol = 'TCP';
  const protoRaw = raw['protocol'];
  if (protoRaw !== undefined && protoRaw !== null) {
    if (typeof protoRaw === 'string' && (PROTOCOLS as readonly string[]).includes(protoRaw)) {
      protocol = protoRaw as PolicyProtocol;
    } else {
      w.problems.push(problem(childPath(path, 'protocol'), `must be one of TCP, UDP, SCTP, got ${describe(protoRaw)}`));
      good = false;
    }
  }
  let port: number | string | null = null;
  const portRaw = raw['port'];
  const portPath = childPath(path, 'port');
  if (portRaw !== undefined && portRaw !== null) {
    if (typeof portRaw === 'string') {
      const bad = checkPortName(portRaw);
      if (bad !== null) {
        w.problems.push(problem(portPath, bad));
        good = false;
      }
      port = portRaw;
    } else {
      port = parsePortNumber(w, portRaw, portPath);
      if (port === null) good = false;
    }
  }
  let endPort: number | null = null;
  const endRaw = raw['endPort'];
  const endPath = childPath(path, 'endPort');
  if (endRaw !== undefined && endRaw !== null) {
    if (portRaw === undefined || portRaw === null) {
      w.problems.push(problem(endPath, 'may not be specified when port is not specified'));
      good = false;
    } else if (typeof portRaw === 'string') {
      w.problems.push(problem(endPath, 'may not be specified when port is a named port'));
      good = false;
    } else {
      endPort = parsePortNumber(w, endRaw, endPath);
      if (endPort === null) good = false;
      else if (typeof port === 'number' && endPort < port) {
        w.problems.push(problem(endPath, 'must be greater than or equal to port'));
        good = false;
      }
    }
  }
  return good ? { protocol, port, endPort } : null;
}

function parseRule(w: Walk, raw: unknown, path: string, peersKey: 'from' | 'to'): PolicyRule | null {
  if (!isObject(raw)) {
    w.problems.push(problem(path, `must be an object, got ${describe(raw)}`));
    return null;
  }
  const peers: Peer[] = [];
  const ports: PortMatch[] = [];
  let good = true;
  const peersPath = childPath(path, peersKey);
  (optionalList(w, raw[peersKey], peersPath) ?? []).forEach((p, i) => {
    const peer = parsePeer(w, p, childPath(peersPath, i));
    if (peer === null) good = false;
    else peers.push(peer);
  });
  const portsPath = childPath(path, 'ports');
  (optionalList(w, raw['ports'], portsPath) ?? []).forEach((p, i) => {
    const port = parsePort(w, p, childPath(portsPath, i));
    if (port === null) good = false;
    else ports.push(port);
  });
  return good ? { peers, ports } : null;
}

function parseRules(w: Walk, raw: unknown, path: string, peersKey: 'from' | 'to'): { rules: PolicyRule[]; present: number } {
  const list = optionalList(w, raw, path) ?? [];
  const rules: PolicyRule[] = [];
  list.forEach((r, i) => {
    const rule = parseRule(w, r, childPath(path, i), peersKey);
    if (rule !== null) rules.push(rule);
  });
  return { rules, present: list.length };
}

function parsePolicyTypes(w: Walk, raw: unknown, path: string, egressCount: number): PolicyType[] {
  const list = optionalList(w, raw, path);
  // netpol.md rule 2: a missing OR empty list defaults; `egress: []` does not imply Egress.
  if (list === null || list.length === 0) return egressCount > 0 ? ['Ingress', 'Egress'] : ['Ingress'];
  if (list.length > 2) w.problems.push(problem(path, `may not have more than two entries, got ${list.length}`));
  const types: PolicyType[] = [];
  list.forEach((t, i) => {
    if (typeof t !== 'string' || !(POLICY_TYPES as readonly string[]).includes(t)) {
      w.problems.push(problem(childPath(path, i), `must be Ingress or Egress, got ${describe(t)}`));
      return;
    }
    if (!types.includes(t as PolicyType)) types.push(t as PolicyType);
  });
  return types;
}

/**
 * Parses one NetworkPolicy manifest (already decoded from YAML/JSON). Problems carry field
 * paths under `path` (`''` for a top-level document, `spec.policies[1]` inside a contract).
 * On success the policy is fully defaulted; `warnings` lists non-fatal findings and
 * `namespaceDefaulted` says whether `default` was taken for a missing namespace.
 */
export function parseNetworkPolicy(raw: unknown, path: string): Result<NetworkPolicy, Problem[]> {
  const w: Walk = { problems: [], warnings: [] };
  if (!isObject(raw)) return err([problem(path, `must be a NetworkPolicy object, got ${describe(raw)}`)]);

  const apiVersion = raw['apiVersion'];
  if (apiVersion !== NETWORK_POLICY_API_VERSION) {
    w.problems.push(
      problem(childPath(path, 'apiVersion'), apiVersion === undefined ? `is required (${NETWORK_POLICY_API_VERSION})` : `must be ${NETWORK_POLICY_API_VERSION}, got ${describe(apiVersion)}`),
    );
  }
  const kind = raw['kind'];
  if (kind !== 'NetworkPolicy') {
    w.problems.push(problem(childPath(path, 'kind'), kind === undefined ? 'is required (NetworkPolicy)' : `must be NetworkPolicy, got ${describe(kind)}`));
  }

  const metaPath = childPath(path, 'metadata');
  const metadata = optionalObject(w, raw['metadata'], metaPath);
  let name = '';
  let namespace = DEFAULT_NAMESPACE;
  let namespaceDefaulted = false;
  if (metadata === null) {
    if (raw['metadata'] === undefined || raw['metadata'] === null) w.problems.push(problem(childPath(metaPath, 'name'), 'is required'));
  } else {
    const n = metadata['name'];
    if (typeof n !== 'string') {
      w.problems.push(problem(childPath(metaPath, 'name'), n === undefined ? 'is required' : `must be a string, got ${describe(n)}`));
    } else {
      const bad = checkDnsSubdomain(n);
      if (bad !== null) w.problems.push(problem(childPath(metaPath, 'name'), bad));
      name = n;
    }
    const ns = metadata['namespace'];
    if (ns === undefined || ns === null || ns === '') {
      namespaceDefaulted = true;
    } else if (typeof ns !== 'string') {
      w.problems.push(problem(childPath(metaPath, 'namespace'), `must be a string, got ${describe(ns)}`));
    } else {
      const bad = checkDnsLabel(ns);
      if (bad !== null) w.problems.push(problem(childPath(metaPath, 'namespace'), bad));
      namespace = ns;
    }
  }
  if (namespaceDefaulted) {
    w.warnings.push(problem(childPath(metaPath, 'namespace'), `not set; the policy is taken to be in namespace "${DEFAULT_NAMESPACE}"`));
  }

  const specPath = childPath(path, 'spec');
  const spec = optionalObject(w, raw['spec'], specPath) ?? {};
  // An omitted podSelector decodes as the empty selector: every pod of the namespace (rule 1).
  const podSelector = parseSelector(w, spec['podSelector'], childPath(specPath, 'podSelector')) ?? EMPTY_SELECTOR;
  const ingress = parseRules(w, spec['ingress'], childPath(specPath, 'ingress'), 'from');
  const egress = parseRules(w, spec['egress'], childPath(specPath, 'egress'), 'to');
  const policyTypes = parsePolicyTypes(w, spec['policyTypes'], childPath(specPath, 'policyTypes'), egress.present);

  if (w.problems.length > 0) return err(w.problems);
  return ok({
    namespace,
    name,
    podSelector,
    policyTypes,
    // NOTE: rules of a type that is not in the effective policyTypes are ignored (netpol.md
    // pitfall 3), so they are dropped here and nothing later can enforce them by mistake.
    ingress: policyTypes.includes('Ingress') ? ingress.rules : [],
    egress: policyTypes.includes('Egress') ? egress.rules : [],
    namespaceDefaulted,
    warnings: w.warnings,
    // Cilium enforces them anyway (netpol.md 4.1): kept apart so the compiler can follow Cilium.
    ...(policyTypes.includes('Ingress') || ingress.rules.length === 0 ? {} : { unlistedIngress: ingress.rules }),
    ...(policyTypes.includes('Egress') || egress.rules.length === 0 ? {} : { unlistedEgress: egress.rules }),
  });
}
