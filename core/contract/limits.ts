/**
 * Size limits of a contract. The API server prices every CEL rule of a CRD by the largest
 * input the schema allows and refuses the CRD when the estimate exceeds its budget, so the
 * schema bounds every list (deploy/crds/rampcontracts.yaml: maxItems, maxProperties). The
 * parser enforces the same bounds so that a contract accepted from a file would also be
 * accepted as a custom resource. They are far above what hand-written policies use.
 */
import { childPath, isObject, type ProblemSink, type RawObject } from '../common/index.js';

export const CONTRACT_LIMITS = Object.freeze({
  policies: 100,
  /** Entries of spec.replaces, and of spec.removes. */
  changes: 100,
  stages: 12,
  namespacesPerStage: 100,
  /** Per policy, per direction (ingress or egress). */
  rulesPerDirection: 8,
  /** `from` / `to` entries of one rule. */
  peersPerRule: 20,
  portsPerRule: 16,
  exceptPerIpBlock: 5,
  matchExpressionsPerSelector: 8,
  valuesPerExpression: 32,
  matchLabelsPerSelector: 32,
});

const WHY = "the CRD's bound, which keeps its validation cost bounded";

function checkList(sink: ProblemSink, value: unknown, path: string, max: number, what: string): readonly unknown[] {
  if (!Array.isArray(value)) return [];
  if (value.length > max) sink.add(path, `must have at most ${max} ${what} (${WHY}), got ${value.length}`, 'over-limit');
  return value as readonly unknown[];
}

function checkSelector(sink: ProblemSink, value: unknown, path: string): void {
  if (!isObject(value)) return;
  const labels = value['matchLabels'];
  if (isObject(labels) && Object.keys(labels).length > CONTRACT_LIMITS.matchLabelsPerSelector) {
    sink.add(
      childPath(path, 'matchLabels'),
      `must have at most ${CONTRACT_LIMITS.matchLabelsPerSelector} labels (${WHY}), got ${Object.keys(labels).length}`,
      'over-limit',
    );
  }
  const exprPath = childPath(path, 'matchExpressions');
  checkList(sink, value['matchExpressions'], exprPath, CONTRACT_LIMITS.matchExpressionsPerSelector, 'expressions').forEach((e, i) => {
    if (isObject(e)) checkList(sink, e['values'], childPath(childPath(exprPath, i), 'values'), CONTRACT_LIMITS.valuesPerExpression, 'values');
  });
}

function checkRules(sink: ProblemSink, spec: RawObject, specPath: string, direction: 'ingress' | 'egress'): void {
  const peersKey = direction === 'ingress' ? 'from' : 'to';
  const rulesPath = childPath(specPath, direction);
  checkList(sink, spec[direction], rulesPath, CONTRACT_LIMITS.rulesPerDirection, 'rules').forEach((rule, i) => {
    if (!isObject(rule)) return;
    const rulePath = childPath(rulesPath, i);
    checkList(sink, rule['ports'], childPath(rulePath, 'ports'), CONTRACT_LIMITS.portsPerRule, 'ports');
    const peersPath = childPath(rulePath, peersKey);
    checkList(sink, rule[peersKey], peersPath, CONTRACT_LIMITS.peersPerRule, 'peers').forEach((peer, j) => {
      if (!isObject(peer)) return;
      const peerPath = childPath(peersPath, j);
      checkSelector(sink, peer['podSelector'], childPath(peerPath, 'podSelector'));
      checkSelector(sink, peer['namespaceSelector'], childPath(peerPath, 'namespaceSelector'));
      const ipBlock = peer['ipBlock'];
      if (isObject(ipBlock)) {
        checkList(sink, ipBlock['except'], childPath(childPath(peerPath, 'ipBlock'), 'except'), CONTRACT_LIMITS.exceptPerIpBlock, 'except entries');
      }
    });
  });
}

/** Reports every list of an embedded policy that is longer than the CRD allows. */
export function checkPolicyLimits(sink: ProblemSink, raw: unknown, path: string): void {
  if (!isObject(raw) || !isObject(raw['spec'])) return;
  const spec = raw['spec'];
  const specPath = childPath(path, 'spec');
  checkSelector(sink, spec['podSelector'], childPath(specPath, 'podSelector'));
  checkRules(sink, spec, specPath, 'ingress');
  checkRules(sink, spec, specPath, 'egress');
}
