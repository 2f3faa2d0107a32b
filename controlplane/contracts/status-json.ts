/**
 * The RampContract `status` the control plane writes (product.md "Kubernetes mode"), built
 * from what the reconciler shows and the history it recorded, and the way back: a new leader
 * turns the status it reads into the history and ramp state it continues from. Pure.
 *
 * Besides core/contract/status.ts's fields, the status carries what a successor needs to
 * continue exactly where this replica stopped: `revisionNumber` and `pausedFrom`, and per
 * history item its `revisionNumber`, `kind` and the full evidence snapshot.
 */
import { formatHistoryEdge } from '../../core/sufficiency/index.js';
import { canonicalJson, type Problem } from '../../core/common/index.js';
import type { Contract, EvidenceTotalsJson, LastActionJson, RampContractStatusJson } from '../../core/contract/index.js';
import { ACTION_ANNOTATION, CONTRACT_PHASES, STATUS_LIMITS } from '../../core/contract/index.js';
import { evidenceNumbers, type ActionKind, type ContractView, type EvidenceSnapshot, type Phase, type RampState } from '../../core/rollout/index.js';
import type { HistoryEntry } from '../state/journal.js';

/** The CRD's evidence totals, with the counts the status adds (the same names as EvidenceCounts). */
export interface EvidenceStatus extends EvidenceTotalsJson {
  windows: number;
  flowsSeen: number;
  actualDeniesLastMinute: number;
  /** Brownfield: sides the baseline alone already denies, and sides the contract newly allows. */
  alreadyDenied: number;
  newlyAllowed: number;
  /** The baseline revision the evidence was judged against (null: no baseline). */
  baselineRevision: string | null;
  /** History first: the revision judged on the traffic map before it started, apart from the live counts above. */
  history?: { from: string; to: string; edges: number; connections: number; wouldDeny: number; wouldDenyEdges: number; topEdge: string | null };
  /** The CronJobs the monitor stage waits for, and the selected workloads with no traffic seen. */
  waitingFor?: string[];
  silentWorkloads?: string[];
}

export interface HistoryItemStatus {
  at: string;
  from?: string;
  to: string;
  phase: Phase;
  decision: 'advance' | 'hold' | 'rollback';
  reasons: string[];
  actor: string;
  revision: string;
  revisionNumber: number;
  kind: ActionKind;
  evidence?: Record<string, unknown>;
}

export interface ConditionStatus {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration: number;
}

export type ContractStatus = Omit<RampContractStatusJson, 'history' | 'conditions' | 'evidence'> & {
  revisionNumber?: number;
  pausedFrom?: Phase;
  evidence?: EvidenceStatus;
  history?: HistoryItemStatus[];
  conditions?: ConditionStatus[];
  lastAction?: LastActionJson;
};

/** Whether the contract's current stage is in force, as the actuator reported it. */
export type ApplyState =
  | { readonly state: 'applied'; readonly stage: string; readonly revision: number }
  | { readonly state: 'pending'; readonly stage: string; readonly revision: number }
  | { readonly state: 'failed'; readonly stage: string; readonly revision: number; readonly message: string };

const iso = (ms: number): string => new Date(ms).toISOString();
const MESSAGE_MAX = 1000;
const clip = (s: string, n = MESSAGE_MAX): string => (s.length <= n ? s : `${s.slice(0, n - 1)}…`);

export function historyItemStatus(e: HistoryEntry): HistoryItemStatus {
  return {
    at: iso(e.atMs),
    ...(e.from ? { from: e.from.stageName } : {}),
    to: e.to.stageName,
    phase: e.to.phase,
    decision: e.decision,
    reasons: e.reasons.slice(0, STATUS_LIMITS.reasons).map((r) => clip(r)),
    actor: e.actor,
    revision: e.policiesHash,
    revisionNumber: e.revision,
    kind: e.kind,
    ...(e.evidence ? { evidence: { ...e.evidence } as unknown as Record<string, unknown> } : {}),
  };
}

export interface StatusInputs {
  readonly view: ContractView;
  readonly history: readonly HistoryEntry[];
  /** metadata.generation this status describes. */
  readonly generation: number;
  /** When the current decision (kind and reasons) was first taken. */
  readonly decisionAtMs: number;
  readonly apply: ApplyState | null;
  /** The status as it is now (conditions keep their lastTransitionTime while unchanged). */
  readonly previous: ContractStatus | null;
  /** The last action asked for by annotation, as this leader handled it (else the status keeps what it had). */
  readonly lastAction?: LastActionJson | null;
  readonly nowMs: number;
}

/** The status subresource for one contract. */
export function statusOf(i: StatusInputs): ContractStatus {
  const { view, history } = i;
  const state = view.state;
  const contract = view.contract;
  const e = view.evidence;
  const status: ContractStatus = {
    observedGeneration: i.generation,
    ...(state ? { revision: state.policiesHash, revisionNumber: state.revision } : {}),
    ...(state && contract ? { stage: { index: state.stageIndex, name: contract.spec.stages[state.stageIndex]?.name ?? '' }, stageEnteredAt: iso(state.stageEnteredAtMs), phase: state.phase } : {}),
    ...(state?.pausedFrom ? { pausedFrom: state.pausedFrom } : {}),
    decision: { kind: view.decision.kind, reasons: view.decision.reasons.slice(0, STATUS_LIMITS.reasons).map((r) => clip(r)), at: iso(i.decisionAtMs) },
    evidence: {
      ...evidenceNumbers(e),
      ...sufficiencyStatus(view),
    },
    problems: view.problems.slice(0, STATUS_LIMITS.problems).map((p: Problem) => ({ path: p.path, message: clip(p.message) })),
    history: history.slice(-STATUS_LIMITS.history).map(historyItemStatus),
  };
  const lastAction = i.lastAction ?? i.previous?.lastAction;
  if (lastAction) {
    status.lastAction = lastAction;
    // A refused action is a problem of the object until the next action replaces it.
    if (lastAction.result === 'Refused') status.problems = [...(status.problems ?? []), { path: `metadata.annotations[${ACTION_ANNOTATION}]`, message: clip(lastAction.message ?? 'refused') }].slice(0, STATUS_LIMITS.problems);
  }
  status.conditions = conditionsOf(view, i);
  return status;
}

function sufficiencyStatus(view: ContractView): Pick<EvidenceStatus, 'history' | 'waitingFor' | 'silentWorkloads'> {
  const s = view.sufficiency;
  if (s === undefined) return {};
  const h = s.history;
  const top = h?.top[0];
  return {
    ...(h === null ? {} : { history: { from: iso(h.fromMs), to: iso(h.toMs), edges: h.edges, connections: h.connections, wouldDeny: h.wouldDeny, wouldDenyEdges: h.wouldDenyEdges, topEdge: top ? clip(formatHistoryEdge(top)) : null } }),
    ...(s.waitingFor.length > 0 ? { waitingFor: s.waitingFor.slice(0, 10).map((m) => clip(m)) } : {}),
    ...(s.silentWorkloads.length > 0 ? { silentWorkloads: s.silentWorkloads.slice(0, 50) } : {}),
  };
}

function conditionsOf(view: ContractView, i: StatusInputs): ConditionStatus[] {
  const prev = new Map((i.previous?.conditions ?? []).map((c) => [c.type, c]));
  const make = (type: string, s: ConditionStatus['status'], reason: string, message: string): ConditionStatus => {
    const before = prev.get(type);
    // As meta.SetStatusCondition: the transition time moves only when the status does.
    const lastTransitionTime = before && before.status === s ? before.lastTransitionTime : iso(i.nowMs);
    return { type, status: s, reason, message: clip(message), lastTransitionTime, observedGeneration: i.generation };
  };
  const state = view.state;
  const stageName = state && view.contract ? (view.contract.spec.stages[state.stageIndex]?.name ?? '') : '';
  const first = view.decision.reasons[0] ?? '';
  let progressing: ConditionStatus;
  if (view.problems.length > 0) progressing = make('Progressing', 'False', 'InvalidSpec', `${view.problems.length} problem(s): ${view.problems[0]!.path}: ${view.problems[0]!.message}`);
  else if (!state) progressing = make('Progressing', 'Unknown', 'Pending', 'not reconciled yet');
  else if (state.phase === 'Observing') progressing = make('Progressing', 'True', 'Observing', `stage ${stageName}: ${first}`);
  else progressing = make('Progressing', 'False', state.phase, `stage ${stageName}: ${first}`);

  let applied: ConditionStatus;
  const a = i.apply;
  if (!state || !a || a.revision !== state.revision || a.stage !== stageName) applied = make('Applied', 'Unknown', 'Applying', `applying stage ${stageName}`);
  else if (a.state === 'applied') applied = make('Applied', 'True', 'StageApplied', `stage ${stageName} of revision ${state.revision} is in force`);
  else if (a.state === 'pending') applied = make('Applied', 'Unknown', 'Applying', `applying stage ${stageName} of revision ${state.revision}`);
  else applied = make('Applied', 'False', 'ApplyFailed', `stage ${stageName}: ${a.message}`);
  return [progressing, applied, ...kstatusConditions(view, stageName, first, make)];
}

/**
 * The kstatus conditions (sigs.k8s.io/cli-utils kstatus, as Flux and `kubectl wait` read
 * them): Ready only at Complete; Stalled when the ramp cannot go on by itself (Blocked,
 * RolledBack, an invalid spec); Reconciling while it moves or waits to (Observing, awaiting
 * approval, paused, not reconciled yet). Exactly one of Ready, Reconciling and Stalled is
 * True, so kstatus says Current, InProgress or Failed, never nothing.
 */
function kstatusConditions(
  view: ContractView,
  stageName: string,
  firstReason: string,
  make: (type: string, s: ConditionStatus['status'], reason: string, message: string) => ConditionStatus,
): ConditionStatus[] {
  const state = view.state;
  const at = `stage ${stageName}: ${firstReason}`;
  let reconciling: [boolean, string, string];
  let stalled: [boolean, string, string];
  if (view.problems.length > 0) {
    const p = view.problems[0]!;
    reconciling = [false, 'InvalidSpec', 'the spec cannot be used'];
    stalled = [true, 'InvalidSpec', `${view.problems.length} problem(s): ${p.path}: ${p.message}`];
  } else if (!state) {
    reconciling = [true, 'Pending', 'not reconciled yet'];
    stalled = [false, 'Pending', ''];
  } else if (state.phase === 'Blocked' || state.phase === 'RolledBack') {
    reconciling = [false, state.phase, at];
    stalled = [true, state.phase, at];
  } else if (state.phase === 'Complete') {
    reconciling = [false, 'Complete', 'every policy is in force'];
    stalled = [false, 'Complete', ''];
  } else {
    // Observing, AwaitingApproval, Paused: not finished and not failed. A paused or waiting
    // ramp is "in progress" to kstatus, so a GitOps health check keeps waiting, not passing.
    reconciling = [true, state.phase, at];
    stalled = [false, state.phase, ''];
  }
  const complete = !!state && state.phase === 'Complete' && view.problems.length === 0;
  const tf = (b: boolean): ConditionStatus['status'] => (b ? 'True' : 'False');
  return [
    make('Ready', tf(complete), complete ? 'Complete' : (stalled[0] ? stalled[1] : reconciling[1]), complete ? 'every policy is in force as written' : (stalled[0] ? stalled[2] : reconciling[2])),
    make('Reconciling', tf(reconciling[0]), reconciling[1], reconciling[0] ? reconciling[2] : ''),
    make('Stalled', tf(stalled[0]), stalled[1], stalled[0] ? stalled[2] : ''),
  ];
}

/** Canonical text of a status without its evidence counters (they change with every report). */
export function statusKey(s: ContractStatus | null, withEvidence: boolean): string {
  if (s === null) return '';
  if (withEvidence) return canonicalJson(s);
  const { evidence: _evidence, ...rest } = s;
  return canonicalJson(rest);
}

function num(v: unknown, fallback = 0): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : fallback;
}

function phaseOf(v: unknown): Phase | null {
  return typeof v === 'string' && (CONTRACT_PHASES as readonly string[]).includes(v) ? (v as Phase) : null;
}

function snapshotOf(v: unknown): EvidenceSnapshot | null {
  if (typeof v !== 'object' || v === null) return null;
  const o = v as Record<string, unknown>;
  const nodes = (typeof o['nodes'] === 'object' && o['nodes'] !== null ? o['nodes'] : {}) as Record<string, unknown>;
  return {
    windows: num(o['windows']),
    flows: num(o['flows']),
    allow: num(o['allow']),
    deny: num(o['deny']),
    indeterminate: num(o['indeterminate']),
    actualDenies: num(o['actualDenies']),
    actualDeniesLastMinute: num(o['actualDeniesLastMinute']),
    lostEvents: num(o['lostEvents']),
    flowsSeen: num(o['flowsSeen']),
    // Brownfield counts only where they were written (entries from before them have none).
    ...(typeof o['alreadyDenied'] === 'number' ? { alreadyDenied: o['alreadyDenied'] } : {}),
    ...(typeof o['newlyAllowed'] === 'number' ? { newlyAllowed: o['newlyAllowed'] } : {}),
    ...(typeof o['baselineRevision'] === 'string' || o['baselineRevision'] === null ? { baselineRevision: o['baselineRevision'] as string | null } : {}),
    nodes: { expected: num(nodes['expected']), reporting: num(nodes['reporting']) },
    topEdges: Array.isArray(o['topEdges']) ? o['topEdges'].filter((x): x is string => typeof x === 'string') : [],
    gates: Array.isArray(o['gates'])
      ? o['gates']
          .filter((g): g is Record<string, unknown> => typeof g === 'object' && g !== null)
          .map((g) => ({ gate: String(g['gate'] ?? ''), phase: String(g['phase'] ?? ''), message: String(g['message'] ?? '') }))
      : [],
  };
}

const KINDS: readonly ActionKind[] = ['revision', 'reconcile', 'approve', 'pause', 'resume', 'rollback'];

/**
 * The history and ramp state a status describes, as journal entries to replay (oldest
 * first); the last entry carries the exact current state. Empty when the status holds no
 * state (a contract no leader has reconciled yet).
 */
export function entriesFromStatus(name: string, raw: unknown, contract: Contract | null): Omit<HistoryEntry, 'id'>[] {
  if (typeof raw !== 'object' || raw === null) return [];
  const s = raw as Record<string, unknown>;
  const stage = (typeof s['stage'] === 'object' && s['stage'] !== null ? s['stage'] : null) as Record<string, unknown> | null;
  const phase = phaseOf(s['phase']);
  const hash = typeof s['revision'] === 'string' ? s['revision'] : null;
  const revision = num(s['revisionNumber'], NaN);
  if (!stage || phase === null || hash === null || !Number.isInteger(revision) || revision < 1) return [];
  const stageIndex = num(stage['index'], 0);
  const stageName = typeof stage['name'] === 'string' ? stage['name'] : '';
  const enteredMs = Date.parse(typeof s['stageEnteredAt'] === 'string' ? s['stageEnteredAt'] : '');
  const stageEnteredAtMs = Number.isFinite(enteredMs) ? enteredMs : 0;
  const indexOf = (n: string): number => Math.max(0, contract?.spec.stages.findIndex((x) => x.name === n) ?? 0);
  const items = Array.isArray(s['history']) ? s['history'].filter((x): x is Record<string, unknown> => typeof x === 'object' && x !== null) : [];
  const out: Omit<HistoryEntry, 'id'>[] = [];
  let prev: { stageIndex: number; stageName: string; phase: Phase } | null = null;
  for (const item of items) {
    const at = Date.parse(typeof item['at'] === 'string' ? item['at'] : '');
    const to = typeof item['to'] === 'string' ? item['to'] : '';
    const itemPhase = phaseOf(item['phase']) ?? 'Observing';
    const fromName = typeof item['from'] === 'string' ? item['from'] : null;
    const decision = item['decision'] === 'advance' || item['decision'] === 'rollback' ? item['decision'] : 'hold';
    const kind = KINDS.find((k) => k === item['kind']) ?? 'reconcile';
    const point = { stageIndex: indexOf(to), stageName: to, phase: itemPhase };
    out.push({
      atMs: Number.isFinite(at) ? at : 0,
      contract: name,
      revision: num(item['revisionNumber'], revision),
      policiesHash: typeof item['revision'] === 'string' ? item['revision'] : hash,
      kind,
      from: fromName === null ? null : prev && prev.stageName === fromName ? prev : { stageIndex: indexOf(fromName), stageName: fromName, phase: itemPhase },
      to: point,
      stageEnteredAtMs: Number.isFinite(at) ? at : 0,
      pausedFrom: null,
      decision,
      reasons: Array.isArray(item['reasons']) ? item['reasons'].filter((r): r is string => typeof r === 'string') : [],
      evidence: snapshotOf(item['evidence']),
      actor: typeof item['actor'] === 'string' ? item['actor'] : 'auto',
    });
    prev = point;
  }
  const current: RampState = { contract: name, revision, policiesHash: hash, stageIndex, phase, stageEnteredAtMs, pausedFrom: phaseOf(s['pausedFrom']) };
  const last = out.at(-1);
  const exact = {
    revision: current.revision,
    policiesHash: current.policiesHash,
    to: { stageIndex: current.stageIndex, stageName, phase: current.phase },
    stageEnteredAtMs: current.stageEnteredAtMs,
    pausedFrom: current.pausedFrom,
  };
  if (last) out[out.length - 1] = { ...last, ...exact };
  else out.push({ atMs: current.stageEnteredAtMs, contract: name, kind: 'revision', from: null, decision: 'hold', reasons: ['state read from status'], evidence: null, actor: 'auto', ...exact });
  return out;
}
