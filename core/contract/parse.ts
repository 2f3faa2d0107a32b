/**
 * Parses and validates a RampContract document (rampart.dev/v1alpha1, already loaded from
 * YAML or JSON) into the defaulted Contract model. Every problem is reported with its field
 * path, not just the first. The rules match the CRD schema in deploy/crds/rampcontracts.yaml;
 * test/kube checks that the API server and this parser agree on accept/reject.
 */
import {
  childPath,
  contentHash,
  err,
  ok,
  parseDurationMs,
  ProblemSink,
  dns1123LabelError,
  dns1123SubdomainError,
  readNumber,
  readObject,
  readOneOf,
  readString,
  rejectUnknownKeys,
  type RawObject,
  type Result,
  type Problem,
} from '../common/index.js';
import { ciliumDepartures, parsePolicy, policyKey, policyRef, type Policy } from '../policy/index.js';
import type { AdvanceMode, Contract, ContractSpec, Gates, Rollback, RollbackTarget, RolloutStrategy, Stage } from './contract.js';
import { ROLLBACK_TARGETS } from './contract.js';
import { readSpecChanges } from './changes.js';
import { CONTRACT_API_VERSION, CONTRACT_KIND, DEFAULT_ADVANCE, DEFAULT_GATES, DEFAULT_ROLLBACK } from './defaults.js';
import { CONTRACT_LIMITS, checkPolicyLimits } from './limits.js';
import { unknownNetworkPolicyFields } from './unknown-fields.js';

const STRATEGIES: readonly RolloutStrategy[] = ['percent', 'namespaces'];
const ADVANCE_MODES: readonly AdvanceMode[] = ['auto', 'manual'];
const TOP_KEYS = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];
const SPEC_KEYS = ['policies', 'replaces', 'removes', 'rollout', 'gates', 'rollback', 'advance'];
const ROLLOUT_KEYS = ['strategy', 'stages'];
const STAGE_KEYS = ['name', 'minDuration', 'percent', 'namespaces'];
const GATE_KEYS = ['minFlows', 'maxWouldDeny', 'maxWouldDenyRatio', 'maxNewlyAllowed', 'minNodeCoverage', 'maxLostEventsRatio', 'maxReportAge', 'historyWindow', 'minWorkloadCoverage', 'maxInconclusive'];
const ROLLBACK_KEYS = ['maxActualDeniesPerMinute', 'to'];

/** Parses a RampContract object (as loaded from YAML/JSON or read from the API server). */
export function parseContract(raw: unknown): Result<Contract, Problem[]> {
  const sink = new ProblemSink();
  const doc = readObject(sink, raw, '', true);
  if (!doc) return err(sink.problems.map((p) => (p.path === '' ? { path: '(document)', message: p.message } : p)));
  rejectUnknownKeys(sink, doc, '', TOP_KEYS);

  const apiVersion = readString(sink, doc['apiVersion'], 'apiVersion');
  if (apiVersion !== undefined && apiVersion !== CONTRACT_API_VERSION) {
    sink.add('apiVersion', `must be ${JSON.stringify(CONTRACT_API_VERSION)}, got ${JSON.stringify(apiVersion)}`);
  }
  const kind = readString(sink, doc['kind'], 'kind');
  if (kind !== undefined && kind !== CONTRACT_KIND) {
    sink.add('kind', `must be ${JSON.stringify(CONTRACT_KIND)}, got ${JSON.stringify(kind)}`);
  }
  const name = readName(sink, doc['metadata']);
  const spec = readSpec(sink, doc['spec']);

  if (sink.problems.length > 0 || name === undefined || spec === undefined) return err(sink.problems);
  const warnings = spec.policies.flatMap((p) => p.warnings ?? []);
  // Where Cilium enforces a NetworkPolicy other than its text says, the contract says so (netpol.md 4).
  const departures = ciliumDepartures(spec.policies, (i) => `spec.policies[${i}]`);
  return ok({ name, spec, policiesHash: revisionHash(spec), ...(warnings.length > 0 ? { warnings } : {}), ...(departures.length > 0 ? { departures } : {}) });
}

/**
 * The content hash of what the contract changes: spec.policies, and replaces/removes when set
 * (a change to any is a new revision; a contract without them keeps the hash it always had).
 */
function revisionHash(spec: ContractSpec): string {
  if (spec.replaces.length === 0 && spec.removes.length === 0) return contentHash(spec.rawPolicies);
  return contentHash({ policies: spec.rawPolicies, replaces: spec.replaces, removes: spec.removes });
}

function readName(sink: ProblemSink, value: unknown): string | undefined {
  // Other metadata (labels, uid, resourceVersion, ...) is the API server's business.
  const metadata = readObject(sink, value, 'metadata', true);
  if (!metadata) return undefined;
  const name = readString(sink, metadata['name'], 'metadata.name');
  if (name === undefined) return undefined;
  const bad = dns1123SubdomainError(name);
  if (bad !== undefined) {
    sink.add('metadata.name', bad);
    return undefined;
  }
  return name;
}

function readSpec(sink: ProblemSink, value: unknown): ContractSpec | undefined {
  const spec = readObject(sink, value, 'spec', true);
  if (!spec) return undefined;
  rejectUnknownKeys(sink, spec, 'spec', SPEC_KEYS);
  const before = sink.problems.length;
  const policies = readPolicies(sink, spec['policies']);
  const changes = readSpecChanges(sink, spec, sink.problems.length > before ? undefined : policies?.parsed);
  const rollout = readRollout(sink, spec['rollout']);
  const gates = readGates(sink, spec['gates']);
  const rollback = readRollback(sink, spec['rollback']);
  const advance = spec['advance'] == null ? DEFAULT_ADVANCE : readOneOf(sink, spec['advance'], 'spec.advance', ADVANCE_MODES);
  if (sink.problems.length > before || !policies || !changes || !rollout || !gates || !rollback || !advance) return undefined;
  return {
    rawPolicies: policies.raw,
    policies: policies.parsed,
    replaces: changes.replaces,
    removes: changes.removes,
    strategy: rollout.strategy,
    stages: rollout.stages,
    gates,
    rollback,
    advance,
  };
}

function readPolicies(
  sink: ProblemSink,
  value: unknown,
): { raw: readonly unknown[]; parsed: readonly Policy[] } | undefined {
  const path = 'spec.policies';
  if (value === undefined || value === null) {
    sink.add(path, 'required: the NetworkPolicies (or CiliumNetworkPolicies) this contract rolls out');
    return undefined;
  }
  if (!Array.isArray(value)) {
    sink.add(path, 'expected a list of NetworkPolicy manifests');
    return undefined;
  }
  if (value.length === 0) {
    sink.add(path, 'must contain at least one NetworkPolicy');
    return undefined;
  }
  if (value.length > CONTRACT_LIMITS.policies) {
    sink.add(path, `must contain at most ${CONTRACT_LIMITS.policies} NetworkPolicies, got ${value.length}`, 'over-limit');
  }
  const parsed: Policy[] = [];
  const seen = new Map<string, number>();
  value.forEach((item: unknown, i) => {
    const itemPath = childPath(path, i);
    checkPolicyLimits(sink, item, itemPath);
    const result = parsePolicy(item, itemPath);
    if (!result.ok) {
      sink.addAll(result.error);
      return;
    }
    // Identity is kind/namespace/name: a NetworkPolicy and a CNP may share a name.
    const ref = policyRef(result.value);
    const first = seen.get(policyKey(result.value));
    if (first !== undefined) {
      sink.add(childPath(itemPath, 'metadata'), `duplicate policy ${ref} (also ${childPath(path, first)})`);
      return;
    }
    seen.set(policyKey(result.value), i);
    // Unknown fields warn (the API server drops them): a misspelt field changes the policy's meaning.
    // Cilium policies are checked by their own parser, which knows their fields.
    const unknown = result.value.kind === undefined || result.value.kind === 'NetworkPolicy' ? unknownNetworkPolicyFields(item, itemPath) : [];
    parsed.push(unknown.length === 0 ? result.value : { ...result.value, warnings: [...(result.value.warnings ?? []), ...unknown] });
  });
  return { raw: value as readonly unknown[], parsed };
}

function readRollout(
  sink: ProblemSink,
  value: unknown,
): { strategy: RolloutStrategy; stages: readonly Stage[] } | undefined {
  const rollout = readObject(sink, value, 'spec.rollout', true);
  if (!rollout) return undefined;
  rejectUnknownKeys(sink, rollout, 'spec.rollout', ROLLOUT_KEYS);
  const strategy = readOneOf(sink, rollout['strategy'], 'spec.rollout.strategy', STRATEGIES);
  const stagesPath = 'spec.rollout.stages';
  const rawStages = rollout['stages'];
  if (rawStages === undefined || rawStages === null) {
    sink.add(stagesPath, 'required');
    return undefined;
  }
  if (!Array.isArray(rawStages)) {
    sink.add(stagesPath, 'expected a list of stages');
    return undefined;
  }
  if (rawStages.length < 2) {
    sink.add(stagesPath, `must have a monitor stage and at least one enforcing stage, got ${rawStages.length} stage(s)`);
    return undefined;
  }
  if (rawStages.length > CONTRACT_LIMITS.stages) {
    sink.add(stagesPath, `must have at most ${CONTRACT_LIMITS.stages} stages, got ${rawStages.length}`, 'over-limit');
    return undefined;
  }
  const before = sink.problems.length;
  const stages = readStages(sink, rawStages as readonly unknown[], strategy);
  if (sink.problems.length > before || strategy === undefined || stages === undefined) return undefined;
  return { strategy, stages };
}

/**
 * Stage rules: the first stage is a monitor stage (no percent, no namespaces); every later
 * stage enforces, by strategy. Percents are integers 1..100, strictly increasing, the last
 * one 100 (a ramp completes when the whole selection is enforced). Namespace stages list
 * namespaces not listed by any earlier stage (each stage adds to the earlier ones).
 */
function readStages(sink: ProblemSink, rawStages: readonly unknown[], strategy: RolloutStrategy | undefined): Stage[] | undefined {
  const stages: Stage[] = [];
  const names = new Map<string, number>();
  const namespaceOwner = new Map<string, string>();
  let previousPercent: number | undefined;
  let failed = false;

  rawStages.forEach((value, i) => {
    const path = childPath('spec.rollout.stages', i);
    const stage = readObject(sink, value, path, true);
    if (!stage) {
      failed = true;
      return;
    }
    rejectUnknownKeys(sink, stage, path, STAGE_KEYS);
    const name = readStageName(sink, stage, path, names, i);
    const minDurationMs = readDuration(sink, stage['minDuration'], childPath(path, 'minDuration'), true);
    const hasPercent = stage['percent'] != null;
    const hasNamespaces = stage['namespaces'] != null;

    if (i === 0) {
      if (hasPercent || hasNamespaces) {
        sink.add(path, 'the first stage must be a monitor stage (no percent or namespaces): nothing is enforced before evidence is gathered');
        failed = true;
        return;
      }
      if (name === undefined || minDurationMs === undefined) failed = true;
      else stages.push({ kind: 'monitor', name, minDurationMs });
      return;
    }

    if (strategy === 'percent') {
      if (hasNamespaces) sink.add(childPath(path, 'namespaces'), 'not allowed with strategy "percent"');
      const percent = readStagePercent(sink, stage['percent'], childPath(path, 'percent'), previousPercent, i === rawStages.length - 1);
      if (percent !== undefined) previousPercent = percent;
      if (name === undefined || minDurationMs === undefined || percent === undefined || hasNamespaces) failed = true;
      else stages.push({ kind: 'percent', name, percent, minDurationMs });
    } else if (strategy === 'namespaces') {
      if (hasPercent) sink.add(childPath(path, 'percent'), 'not allowed with strategy "namespaces"');
      const namespaces = readStageNamespaces(sink, stage['namespaces'], childPath(path, 'namespaces'), namespaceOwner, name ?? `#${i}`);
      if (name === undefined || minDurationMs === undefined || namespaces === undefined || hasPercent) failed = true;
      else stages.push({ kind: 'namespaces', name, namespaces, minDurationMs });
    } else {
      failed = true; // the strategy itself was reported
    }
  });
  return failed ? undefined : stages;
}

function readStageName(sink: ProblemSink, stage: RawObject, path: string, names: Map<string, number>, i: number): string | undefined {
  const namePath = childPath(path, 'name');
  const name = readString(sink, stage['name'], namePath);
  if (name === undefined) return undefined;
  const bad = dns1123LabelError(name);
  if (bad !== undefined) {
    sink.add(namePath, bad);
    return undefined;
  }
  const first = names.get(name);
  if (first !== undefined) {
    sink.add(namePath, `duplicate stage name ${JSON.stringify(name)} (also spec.rollout.stages[${first}])`);
    return undefined;
  }
  names.set(name, i);
  return name;
}

function readStagePercent(
  sink: ProblemSink,
  value: unknown,
  path: string,
  previous: number | undefined,
  isLast: boolean,
): number | undefined {
  if (value === undefined || value === null) {
    sink.add(path, 'required: an enforcing stage of strategy "percent" needs a percent (1..100)');
    return undefined;
  }
  const percent = readNumber(sink, value, path, { min: 1, max: 100, integer: true });
  if (percent === undefined) return undefined;
  if (previous !== undefined && percent <= previous) {
    sink.add(path, `must be greater than the previous stage's percent ${previous}, got ${percent}`);
    return undefined;
  }
  if (isLast && percent !== 100) {
    sink.add(path, `the last stage must enforce on 100 percent of the selected pods, got ${percent}`);
    return undefined;
  }
  return percent;
}

function readStageNamespaces(
  sink: ProblemSink,
  value: unknown,
  path: string,
  owner: Map<string, string>,
  stageName: string,
): string[] | undefined {
  if (value === undefined || value === null) {
    sink.add(path, 'required: an enforcing stage of strategy "namespaces" lists the namespaces it adds');
    return undefined;
  }
  if (!Array.isArray(value)) {
    sink.add(path, 'expected a list of namespace names');
    return undefined;
  }
  if (value.length === 0) {
    sink.add(path, 'must list at least one namespace');
    return undefined;
  }
  if (value.length > CONTRACT_LIMITS.namespacesPerStage) {
    sink.add(path, `must list at most ${CONTRACT_LIMITS.namespacesPerStage} namespaces, got ${value.length}`, 'over-limit');
    return undefined;
  }
  const namespaces: string[] = [];
  let failed = false;
  (value as readonly unknown[]).forEach((item, j) => {
    const itemPath = childPath(path, j);
    const ns = readString(sink, item, itemPath);
    if (ns === undefined) {
      failed = true;
      return;
    }
    const bad = dns1123LabelError(ns);
    if (bad !== undefined) {
      sink.add(itemPath, bad);
      failed = true;
      return;
    }
    const earlier = owner.get(ns);
    if (earlier !== undefined) {
      sink.add(itemPath, `namespace ${JSON.stringify(ns)} is already listed by stage ${JSON.stringify(earlier)}`);
      failed = true;
      return;
    }
    owner.set(ns, stageName);
    namespaces.push(ns);
  });
  return failed ? undefined : namespaces;
}

function readDuration(sink: ProblemSink, value: unknown, path: string, required: boolean): number | undefined {
  if ((value === undefined || value === null) && !required) return undefined;
  const text = readString(sink, value, path);
  if (text === undefined) return undefined;
  const parsed = parseDurationMs(text);
  if (!parsed.ok) {
    sink.add(path, parsed.error);
    return undefined;
  }
  return parsed.value;
}

const DAYS = /^(\d+)d(.*)$/;

/**
 * A duration that may start with whole days (`7d`, `1d12h`): the history window and the
 * inconclusive budget are counted in days, which Go-style durations cannot say.
 */
function readDaysDuration(sink: ProblemSink, value: unknown, path: string): number | undefined {
  const text = readString(sink, value, path);
  if (text === undefined) return undefined;
  const m = DAYS.exec(text);
  const rest = m ? m[2]! : text;
  const days = m ? Number(m[1]) * 86_400_000 : 0;
  if (m && rest === '') return days;
  const parsed = parseDurationMs(rest);
  if (!parsed.ok || (m !== null && rest === '0')) {
    sink.add(path, `expected a duration such as 7d, 36h or 90m, got ${JSON.stringify(text)}`);
    return undefined;
  }
  return days + parsed.value;
}

function readGates(sink: ProblemSink, value: unknown): Gates | undefined {
  if (value === undefined || value === null) return DEFAULT_GATES;
  const path = 'spec.gates';
  const gates = readObject(sink, value, path, false);
  if (!gates) return undefined;
  rejectUnknownKeys(sink, gates, path, GATE_KEYS);
  const before = sink.problems.length;
  const at = (key: string) => childPath(path, key);
  const count = { min: 0, integer: true } as const;
  const ratio = { min: 0, max: 1, integer: false } as const;
  const result: Gates = {
    minFlows: orDefault(gates['minFlows'], DEFAULT_GATES.minFlows, (v) => readNumber(sink, v, at('minFlows'), count)),
    maxWouldDeny: orDefaultNullable(gates['maxWouldDeny'], DEFAULT_GATES.maxWouldDeny, (v) =>
      readNumber(sink, v, at('maxWouldDeny'), count),
    ),
    maxWouldDenyRatio: orDefaultNullable(gates['maxWouldDenyRatio'], DEFAULT_GATES.maxWouldDenyRatio, (v) =>
      readNumber(sink, v, at('maxWouldDenyRatio'), ratio),
    ),
    maxNewlyAllowed: orDefaultNullable(gates['maxNewlyAllowed'], DEFAULT_GATES.maxNewlyAllowed, (v) =>
      readNumber(sink, v, at('maxNewlyAllowed'), count),
    ),
    minNodeCoverage: orDefault(gates['minNodeCoverage'], DEFAULT_GATES.minNodeCoverage, (v) =>
      readNumber(sink, v, at('minNodeCoverage'), ratio),
    ),
    maxLostEventsRatio: orDefault(gates['maxLostEventsRatio'], DEFAULT_GATES.maxLostEventsRatio, (v) =>
      readNumber(sink, v, at('maxLostEventsRatio'), ratio),
    ),
    maxReportAgeMs: orDefault(gates['maxReportAge'], DEFAULT_GATES.maxReportAgeMs, (v) => {
      const ms = readDuration(sink, v, at('maxReportAge'), true);
      if (ms === 0) {
        sink.add(at('maxReportAge'), 'must be greater than 0');
        return undefined;
      }
      return ms;
    }),
    historyWindowMs: orDefault(gates['historyWindow'], DEFAULT_GATES.historyWindowMs, (v) => readDaysDuration(sink, v, at('historyWindow'))),
    minWorkloadCoverage: orDefault(gates['minWorkloadCoverage'], DEFAULT_GATES.minWorkloadCoverage, (v) => readNumber(sink, v, at('minWorkloadCoverage'), ratio)),
    maxInconclusiveMs: orDefaultNullable(gates['maxInconclusive'], DEFAULT_GATES.maxInconclusiveMs, (v) => {
      const ms = readDaysDuration(sink, v, at('maxInconclusive'));
      if (ms === 0) {
        sink.add(at('maxInconclusive'), 'must be greater than 0 (leave it out, or null, for no limit)');
        return undefined;
      }
      return ms;
    }),
  };
  return sink.problems.length > before ? undefined : result;
}

function readRollback(sink: ProblemSink, value: unknown): Rollback | undefined {
  if (value === undefined || value === null) return DEFAULT_ROLLBACK;
  const path = 'spec.rollback';
  const rollback = readObject(sink, value, path, false);
  if (!rollback) return undefined;
  rejectUnknownKeys(sink, rollback, path, ROLLBACK_KEYS);
  const before = sink.problems.length;
  const result: Rollback = {
    maxActualDeniesPerMinute: orDefaultNullable(rollback['maxActualDeniesPerMinute'], DEFAULT_ROLLBACK.maxActualDeniesPerMinute, (v) =>
      readNumber(sink, v, childPath(path, 'maxActualDeniesPerMinute'), { min: 0, integer: false }),
    ),
    to: readRollbackTarget(sink, rollback['to'], childPath(path, 'to')),
  };
  return sink.problems.length > before ? undefined : result;
}

function readRollbackTarget(sink: ProblemSink, value: unknown, path: string): RollbackTarget {
  if (value === undefined || value === null) return DEFAULT_ROLLBACK.to;
  const found = ROLLBACK_TARGETS.find((t) => t === value);
  if (found === undefined) sink.add(path, `expected one of ${ROLLBACK_TARGETS.join(', ')}, got ${JSON.stringify(value)}`);
  return found ?? DEFAULT_ROLLBACK.to;
}

// A field left out (or null) takes its default. A bad value has been reported by `read`;
// returning the default keeps the walk going, and the caller discards the result because
// problems grew.
function orDefault(value: unknown, fallback: number, read: (v: unknown) => number | undefined): number {
  if (value === undefined || value === null) return fallback;
  return read(value) ?? fallback;
}

/** As orDefault, but an explicit `null` means "no limit" (these fields are `nullable` in the CRD). */
function orDefaultNullable(value: unknown, fallback: number | null, read: (v: unknown) => number | undefined): number | null {
  if (value === null) return null;
  if (value === undefined) return fallback;
  return read(value) ?? fallback;
}
