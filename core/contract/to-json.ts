/**
 * The normalized document form of a parsed contract: every default filled in, durations as
 * Go-style strings, policies as written. `parseContract(contractToJson(c))` gives back `c`.
 * Useful for showing users the effective spec, and for pushing contracts to agents.
 */
import { assertNever, formatDurationMs } from '../common/index.js';
import { NETWORK_POLICY_KIND, type PolicyIdentity } from '../policy/index.js';
import type { Contract, ContractSpec, Stage } from './contract.js';
import { CONTRACT_API_VERSION, CONTRACT_KIND } from './defaults.js';

export interface StageJson {
  name: string;
  minDuration: string;
  percent?: number;
  namespaces?: string[];
}

/** A `replaces`/`removes` entry: kind omitted for a NetworkPolicy, namespace for a cluster-wide kind. */
export interface PolicyRefJson {
  kind?: string;
  namespace?: string;
  name: string;
}

const refToJson = (id: PolicyIdentity): PolicyRefJson => ({
  ...(id.kind === NETWORK_POLICY_KIND ? {} : { kind: id.kind }),
  ...(id.namespace === '' ? {} : { namespace: id.namespace }),
  name: id.name,
});

export interface ContractSpecJson {
  policies: unknown[];
  /** Present only when set, so a contract without them keeps its document form. */
  replaces?: PolicyRefJson[];
  removes?: PolicyRefJson[];
  rollout: { strategy: ContractSpec['strategy']; stages: StageJson[] };
  gates: {
    minFlows: number;
    maxWouldDeny: number | null;
    maxWouldDenyRatio: number | null;
    maxNewlyAllowed: number | null;
    minNodeCoverage: number;
    maxLostEventsRatio: number;
    maxReportAge: string;
    historyWindow: string;
    minWorkloadCoverage: number;
    maxInconclusive: string | null;
  };
  rollback: { maxActualDeniesPerMinute: number | null; to: ContractSpec['rollback']['to'] };
  advance: ContractSpec['advance'];
}

export interface ContractJson {
  apiVersion: typeof CONTRACT_API_VERSION;
  kind: typeof CONTRACT_KIND;
  metadata: { name: string };
  spec: ContractSpecJson;
}

function stageToJson(stage: Stage): StageJson {
  const base = { name: stage.name, minDuration: formatDurationMs(stage.minDurationMs) };
  switch (stage.kind) {
    case 'monitor':
      return base;
    case 'percent':
      return { ...base, percent: stage.percent };
    case 'namespaces':
      return { ...base, namespaces: [...stage.namespaces] };
    default:
      return assertNever(stage, 'stage');
  }
}

export function contractSpecToJson(spec: ContractSpec): ContractSpecJson {
  return {
    policies: [...spec.rawPolicies],
    ...(spec.replaces.length > 0 ? { replaces: spec.replaces.map(refToJson) } : {}),
    ...(spec.removes.length > 0 ? { removes: spec.removes.map(refToJson) } : {}),
    rollout: { strategy: spec.strategy, stages: spec.stages.map(stageToJson) },
    gates: {
      minFlows: spec.gates.minFlows,
      maxWouldDeny: spec.gates.maxWouldDeny,
      maxWouldDenyRatio: spec.gates.maxWouldDenyRatio,
      maxNewlyAllowed: spec.gates.maxNewlyAllowed,
      minNodeCoverage: spec.gates.minNodeCoverage,
      maxLostEventsRatio: spec.gates.maxLostEventsRatio,
      maxReportAge: formatDurationMs(spec.gates.maxReportAgeMs),
      historyWindow: formatDaysDurationMs(spec.gates.historyWindowMs),
      minWorkloadCoverage: spec.gates.minWorkloadCoverage,
      maxInconclusive: spec.gates.maxInconclusiveMs === null ? null : formatDaysDurationMs(spec.gates.maxInconclusiveMs),
    },
    rollback: { maxActualDeniesPerMinute: spec.rollback.maxActualDeniesPerMinute, to: spec.rollback.to },
    advance: spec.advance,
  };
}

export function contractToJson(contract: Contract): ContractJson {
  return {
    apiVersion: CONTRACT_API_VERSION,
    kind: CONTRACT_KIND,
    metadata: { name: contract.name },
    spec: contractSpecToJson(contract.spec),
  };
}

/** `7d`, `1d12h`, `90m`: whole days first, as parse.ts reads them. */
function formatDaysDurationMs(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const rest = ms - days * 86_400_000;
  if (days === 0) return formatDurationMs(rest);
  return rest === 0 ? `${days}d` : `${days}d${formatDurationMs(rest)}`;
}
