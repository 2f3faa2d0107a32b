/**
 * Builds a domain Endpoint from a Hubble `flow.Endpoint` record (proto field names), reading
 * the identity labels as product.md "Evaluating a flow" 3 says. On the hot path: the label
 * facts are memoised per security identity (verified on every hit), and a miss is one pass over
 * the labels with startsWith/indexOf, no regexes.
 */
import type { Problem } from '../common/index.js';
import type { Endpoint, ReservedName, Workload } from './flow.js';

const K8S = 'k8s:';
const RESERVED = 'reserved:';
const CIDR = 'cidr:';
const FQDN = 'fqdn:';
const POD_NAMESPACE_KEY = 'io.kubernetes.pod.namespace';
const NAMESPACE_LABEL_PREFIX = 'io.cilium.k8s.namespace.labels.';
const CILIUM_K8S_PREFIX = 'io.cilium.k8s.';

/**
 * Reserved identity numbers that mean the same thing in every cluster (hubble.md 4.2); used
 * only when a record carries no labels at all (field-masked exports), so nothing is guessed.
 */
const RESERVED_IDENTITIES: Readonly<Record<number, ReservedName | 'world'>> = {
  1: 'host',
  2: 'world',
  3: 'unmanaged',
  4: 'health',
  5: 'init',
  6: 'remote-node',
  7: 'kube-apiserver',
  8: 'ingress',
  9: 'world',
  10: 'world',
};

const EMPTY_LABELS: readonly string[] = Object.freeze([]);
const EMPTY_RECORD: Readonly<Record<string, string>> = Object.freeze({});
const EMPTY_WORKLOADS: readonly Workload[] = Object.freeze([]);

const MAX_SHOWN_CHARS = 80;

/** A short, never-throwing rendering of a bad value for a problem message (JSON, cut to 80 characters). */
export function showValue(value: unknown): string {
  let text: string;
  try {
    text = typeof value === 'bigint' ? `${value}n` : (JSON.stringify(value) ?? String(value));
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > MAX_SHOWN_CHARS ? `${text.slice(0, MAX_SHOWN_CHARS)}…` : text;
}

function addProblem(problems: Problem[], path: string, message: string): void {
  problems.push({ path, message });
}

/** A uint32 from protojson (number) or from a client that keeps them as strings. */
export function readUint(value: unknown, path: string, problems: Problem[]): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'bigint' && value >= 0n && value <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(value);
  if (typeof value === 'string' && value.length > 0) {
    const n = Number(value);
    if (Number.isInteger(n) && n >= 0) return n;
  }
  addProblem(problems, path, `expected a non-negative integer, got ${showValue(value)}`);
  return null;
}

function readString(value: unknown, path: string, problems: Problem[]): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  addProblem(problems, path, `expected a string, got ${showValue(value)}`);
  return '';
}

function readWorkloads(value: unknown, path: string, problems: Problem[]): readonly Workload[] {
  if (value === undefined || value === null) return EMPTY_WORKLOADS;
  if (!Array.isArray(value)) {
    addProblem(problems, path, 'expected a list of {name, kind}');
    return EMPTY_WORKLOADS;
  }
  if (value.length === 0) return EMPTY_WORKLOADS;
  const out: Workload[] = [];
  for (let i = 0; i < value.length; i++) {
    const w: unknown = value[i];
    if (typeof w !== 'object' || w === null) {
      addProblem(problems, `${path}[${i}]`, 'expected {name, kind}');
      continue;
    }
    const rec = w as Record<string, unknown>;
    out.push({
      name: readString(rec['name'], `${path}[${i}].name`, problems),
      kind: readString(rec['kind'], `${path}[${i}].kind`, problems),
    });
  }
  return out;
}

/** What an identity's labels say, independent of the flow: shared by every flow of that identity. */
interface LabelFacts {
  /** The first label array seen for this identity; flows of the identity share it. */
  readonly labels: readonly string[];
  readonly podLabels: Readonly<Record<string, string>>;
  readonly namespaceLabels: Readonly<Record<string, string>>;
  readonly namespaceLabel: string;
  readonly hasK8s: boolean;
  readonly external: boolean;
  readonly unknown: boolean;
  readonly reserved: ReservedName | null;
  readonly kubeApiserver: boolean;
}

/** Bound on remembered identities; the table is cleared when full (recomputation, never growth). */
export const MAX_CACHED_IDENTITIES = 4096;

/**
 * NOTE: a module-level memo of label facts by security identity. One identity stands for one
 * label set, so splitting `k8s:key=value` strings into records is done once per identity, not
 * once per flow (it is most of the mapping cost). Every hit is verified against the flow's own
 * labels, so a reused or synthetic identity number can never return another label set's facts;
 * results are therefore identical with or without the memo.
 */
const labelFactsByIdentity = new Map<number, LabelFacts>();

function sameLabels(a: readonly unknown[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function labelFactsFor(identity: number, labels: readonly string[], path: string, problems: Problem[]): LabelFacts {
  if (identity > 0 && labels.length > 0) {
    const cached = labelFactsByIdentity.get(identity);
    if (cached !== undefined && sameLabels(labels, cached.labels)) return cached;
  }
  const before = problems.length;
  const facts = computeLabelFacts(labels, path, problems);
  if (identity > 0 && labels.length > 0 && problems.length === before) {
    if (labelFactsByIdentity.size >= MAX_CACHED_IDENTITIES) labelFactsByIdentity.clear();
    labelFactsByIdentity.set(identity, facts);
  }
  return facts;
}

function computeLabelFacts(labels: readonly string[], path: string, problems: Problem[]): LabelFacts {
  let podLabels: Record<string, string> | null = null;
  let namespaceLabels: Record<string, string> | null = null;
  let namespaceLabel = '';
  let hasK8s = false;
  let external = false;
  let unknown = false;
  let reserved: ReservedName | null = null;
  let kubeApiserver = false;

  for (let i = 0; i < labels.length; i++) {
    const label: unknown = labels[i];
    if (typeof label !== 'string') {
      addProblem(problems, `${path}.labels[${i}]`, `expected a "source:key=value" string, got ${showValue(label)}`);
      continue;
    }
    if (label.startsWith(K8S)) {
      hasK8s = true;
      const eq = label.indexOf('=', K8S.length);
      const key = eq < 0 ? label.slice(K8S.length) : label.slice(K8S.length, eq);
      const val = eq < 0 ? '' : label.slice(eq + 1);
      if (key.startsWith(CILIUM_K8S_PREFIX)) {
        if (key.startsWith(NAMESPACE_LABEL_PREFIX)) {
          (namespaceLabels ??= {})[key.slice(NAMESPACE_LABEL_PREFIX.length)] = val;
        }
        // other io.cilium.k8s.* keys (policy.cluster, policy.serviceaccount) are not pod labels
      } else if (key === POD_NAMESPACE_KEY) {
        namespaceLabel = val;
      } else {
        (podLabels ??= {})[key] = val;
      }
    } else if (label.startsWith(RESERVED)) {
      const name = label.slice(RESERVED.length);
      switch (name) {
        case 'unknown':
          unknown = true;
          break;
        case 'world':
        case 'world-ipv4':
        case 'world-ipv6':
          external = true;
          break;
        case 'kube-apiserver':
          kubeApiserver = true;
          break;
        case 'host':
          reserved = 'host'; // identity 1 may also carry reserved:remote-node; host wins
          break;
        case 'remote-node':
          if (reserved !== 'host') reserved = 'remote-node';
          break;
        case 'health':
        case 'init':
        case 'ingress':
        case 'unmanaged':
          reserved ??= name;
          break;
        default:
          // e.g. reserved:io.cilium.policy.* or names newer than this code: ignored
          break;
      }
    } else if (label.startsWith(CIDR) || label.startsWith(FQDN)) {
      external = true;
    }
  }
  return {
    labels: labels.length === 0 ? EMPTY_LABELS : Object.freeze(labels.slice()),
    podLabels: podLabels === null ? EMPTY_RECORD : Object.freeze(podLabels),
    namespaceLabels: namespaceLabels === null ? EMPTY_RECORD : Object.freeze(namespaceLabels),
    namespaceLabel,
    hasK8s,
    external,
    unknown,
    reserved,
    kubeApiserver,
  };
}

/**
 * Maps one `flow.Endpoint` record (`{ID, identity, namespace, labels, pod_name, workloads}`)
 * to an Endpoint. Problems (wrong types) are appended to `problems` with paths under `path`;
 * the returned endpoint is then only a placeholder.
 *
 * Decision order: `reserved:unknown` → unknown; `reserved:world*`, `cidr:` or `fqdn:` →
 * external (also when `reserved:kube-apiserver` is next to them); `reserved:host` and the
 * other reserved names → reserved; `k8s:` labels with a namespace → pod; anything else
 * (no labels, pod labels without a namespace) → unknown, so the verdict is indeterminate.
 */
export function endpointFromRecord(value: unknown, path: string, problems: Problem[]): Endpoint {
  if (value === undefined || value === null) {
    return { kind: 'unknown', id: null, identity: 0, labels: EMPTY_LABELS, namespace: null, podName: '' };
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    addProblem(problems, path, 'expected an endpoint object');
    return { kind: 'unknown', id: null, identity: 0, labels: EMPTY_LABELS, namespace: null, podName: '' };
  }
  const rec = value as Record<string, unknown>;
  const rawId = readUint(rec['ID'], `${path}.ID`, problems);
  // ID 0 is proto3's "unset": only a non-zero ID marks a local endpoint.
  const id = rawId === 0 ? null : rawId;
  const identity = readUint(rec['identity'], `${path}.identity`, problems) ?? 0;
  const podName = readString(rec['pod_name'], `${path}.pod_name`, problems);
  const namespaceField = readString(rec['namespace'], `${path}.namespace`, problems);

  const rawLabels = rec['labels'];
  let labels: readonly string[] = EMPTY_LABELS;
  if (rawLabels !== undefined && rawLabels !== null) {
    if (Array.isArray(rawLabels)) labels = rawLabels as string[];
    else addProblem(problems, `${path}.labels`, 'expected a list of "source:key=value" strings');
  }

  const facts = labelFactsFor(identity, labels, path, problems);
  labels = facts.labels;
  const { podLabels, namespaceLabels, namespaceLabel, hasK8s, external, unknown, reserved, kubeApiserver } = facts;

  const namespace = namespaceField !== '' ? namespaceField : namespaceLabel;
  if (unknown) return { kind: 'unknown', id, identity, labels, namespace: namespace || null, podName };
  if (external) return { kind: 'external', id, identity, labels };
  if (reserved !== null) return { kind: 'reserved', id, identity, labels, name: reserved };
  if (kubeApiserver) return { kind: 'reserved', id, identity, labels, name: 'kube-apiserver' };
  if (hasK8s && namespace !== '') {
    return {
      kind: 'pod',
      id,
      identity,
      labels,
      namespace,
      podName,
      podLabels,
      namespaceLabels,
      workloads: readWorkloads(rec['workloads'], `${path}.workloads`, problems),
    };
  }
  if (labels.length === 0) {
    const fixed = RESERVED_IDENTITIES[identity];
    if (fixed === 'world') return { kind: 'external', id, identity, labels };
    if (fixed !== undefined) return { kind: 'reserved', id, identity, labels, name: fixed };
  }
  return { kind: 'unknown', id, identity, labels, namespace: namespace || null, podName };
}
