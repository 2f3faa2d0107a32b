/**
 * The CRD schema (deploy/crds/rampcontracts.yaml) mirrors the contract model: the same enums,
 * defaults and size limits as core/contract, and the sub-schemas a CRD has to repeat (no
 * $ref) are identical copies. The kube project checks behaviour on a real API server; this
 * catches drift without one.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseDurationMs } from '../../../../core/common/index.js';
import { CONTRACT_LIMITS, CONTRACT_PHASES, DEFAULT_ADVANCE, DEFAULT_GATES, DEFAULT_ROLLBACK, STATUS_LIMITS } from '../../../../core/contract/index.js';

interface Schema {
  type?: string;
  description?: string;
  enum?: unknown[];
  default?: unknown;
  maxItems?: number;
  maxProperties?: number;
  properties?: Record<string, Schema>;
  items?: Schema;
}

const crd = parse(readFileSync(fileURLToPath(new URL('../../../../deploy/crds/rampcontracts.yaml', import.meta.url)), 'utf8')) as {
  spec: { group: string; scope: string; names: { shortNames: string[] }; versions: { name: string; schema: { openAPIV3Schema: Schema } }[] };
};
const root = crd.spec.versions[0]!.schema.openAPIV3Schema;

/** Walks `a.b[].c` through properties (`[]` steps into items). */
function at(path: string): Schema {
  let s: Schema = root;
  for (const part of path.split('.')) {
    const list = part.endsWith('[]');
    const key = list ? part.slice(0, -2) : part;
    const next: Schema | undefined = s.properties?.[key];
    if (!next) throw new Error(`no ${key} in ${path}`);
    s = list ? next.items! : next;
  }
  return s;
}

function withoutDescriptions(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(withoutDescriptions);
  if (s === null || typeof s !== 'object') return s;
  return Object.fromEntries(Object.entries(s).filter(([k]) => k !== 'description').map(([k, v]) => [k, withoutDescriptions(v)]));
}

describe('CRD schema mirrors the contract model', () => {
  it('is rampcontracts.rampart.dev v1alpha1, cluster-scoped, short name ramp', () => {
    expect(crd.spec.group).toBe('rampart.dev');
    expect(crd.spec.scope).toBe('Cluster');
    expect(crd.spec.names.shortNames).toEqual(['ramp']);
    expect(crd.spec.versions.map((v) => v.name)).toEqual(['v1alpha1']);
  });

  it('has the enums of the model', () => {
    expect(at('spec.rollout.strategy').enum).toEqual(['percent', 'namespaces']);
    expect(at('spec.advance').enum).toEqual(['auto', 'manual']);
    expect(at('status.phase').enum).toEqual([...CONTRACT_PHASES]);
  });

  it('has the defaults of the parser', () => {
    const g = (k: string) => at(`spec.gates.${k}`).default;
    const reportAge = parseDurationMs(String(g('maxReportAge')));
    expect({
      minFlows: g('minFlows'),
      maxWouldDeny: g('maxWouldDeny'),
      maxWouldDenyRatio: g('maxWouldDenyRatio'),
      // No CRD default: omitted means no limit, as the parser's null.
      maxNewlyAllowed: g('maxNewlyAllowed') ?? null,
      minNodeCoverage: g('minNodeCoverage'),
      maxLostEventsRatio: g('maxLostEventsRatio'),
      maxReportAgeMs: reportAge.ok ? reportAge.value : NaN,
      // `7d`: days are not a Go duration unit; the schema's rule and the parser both take them.
      historyWindowMs: g('historyWindow') === '7d' ? 7 * 86_400_000 : NaN,
      minWorkloadCoverage: g('minWorkloadCoverage'),
      // No CRD default: omitted means no limit, as the parser's null.
      maxInconclusiveMs: g('maxInconclusive') ?? null,
    }).toEqual(DEFAULT_GATES);
    expect(at('spec.rollback.maxActualDeniesPerMinute').default).toBe(DEFAULT_ROLLBACK.maxActualDeniesPerMinute);
    expect(at('spec.advance').default).toBe(DEFAULT_ADVANCE);
  });

  it('has the size limits of the parser', () => {
    const np = 'spec.policies[].spec';
    expect(at('spec.policies').maxItems).toBe(CONTRACT_LIMITS.policies);
    expect(at('spec.rollout.stages').maxItems).toBe(CONTRACT_LIMITS.stages);
    expect(at('spec.rollout.stages[].namespaces').maxItems).toBe(CONTRACT_LIMITS.namespacesPerStage);
    for (const [dir, peers] of [['ingress', 'from'], ['egress', 'to']] as const) {
      expect(at(`${np}.${dir}`).maxItems).toBe(CONTRACT_LIMITS.rulesPerDirection);
      expect(at(`${np}.${dir}[].${peers}`).maxItems).toBe(CONTRACT_LIMITS.peersPerRule);
      expect(at(`${np}.${dir}[].ports`).maxItems).toBe(CONTRACT_LIMITS.portsPerRule);
      expect(at(`${np}.${dir}[].${peers}[].ipBlock.except`).maxItems).toBe(CONTRACT_LIMITS.exceptPerIpBlock);
    }
    expect(at(`${np}.podSelector.matchExpressions`).maxItems).toBe(CONTRACT_LIMITS.matchExpressionsPerSelector);
    expect(at(`${np}.podSelector.matchExpressions[].values`).maxItems).toBe(CONTRACT_LIMITS.valuesPerExpression);
    expect(at(`${np}.podSelector.matchLabels`).maxProperties).toBe(CONTRACT_LIMITS.matchLabelsPerSelector);
    expect(at('status.history').maxItems).toBe(STATUS_LIMITS.history);
    expect(at('status.problems').maxItems).toBe(STATUS_LIMITS.problems);
  });

  it('repeats sub-schemas as identical copies', () => {
    const np = 'spec.policies[].spec';
    expect(at(`${np}.egress[].to`)).toEqual(at(`${np}.ingress[].from`));
    expect(at(`${np}.egress[].ports`)).toEqual(at(`${np}.ingress[].ports`));
    const selector = withoutDescriptions(at(`${np}.podSelector`));
    expect(withoutDescriptions(at(`${np}.ingress[].from[].podSelector`))).toEqual(selector);
    expect(withoutDescriptions(at(`${np}.ingress[].from[].namespaceSelector`))).toEqual(selector);
    expect(at('status.history[].evidence')).toEqual(at('status.evidence'));
  });
});
