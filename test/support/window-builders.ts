/**
 * Builders for what agents report (core/summary WindowSummary) and for parsed contracts,
 * shared by the control plane's unit and integration tests.
 */
import { parseContract, type Contract } from '../../core/contract/index.js';
import type { ActiveContract, ContractWindow, Edge, ObservedEdge, SideCounts, WindowSummary } from '../../core/summary/index.js';

export interface ContractDocOptions {
  readonly name?: string;
  readonly advance?: 'auto' | 'manual';
  readonly minDuration?: string;
  readonly minFlows?: number;
  readonly maxWouldDeny?: number | null;
  readonly maxWouldDenyRatio?: number | null;
  readonly minNodeCoverage?: number;
  readonly maxLostEventsRatio?: number;
  readonly maxReportAge?: string;
  readonly maxActualDeniesPerMinute?: number | null;
  /** Extra ingress port allowed into payments/db (changes spec.policies: a new revision). */
  readonly allowPorts?: readonly number[];
}

/** A RampContract document: monitor → 10% → 50% → 100%. */
export function contractDoc(o: ContractDocOptions = {}): Record<string, unknown> {
  const d = o.minDuration ?? '1s';
  return {
    apiVersion: 'rampart.dev/v1alpha1',
    kind: 'RampContract',
    metadata: { name: o.name ?? 'shop-lockdown' },
    spec: {
      policies: [
        {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'NetworkPolicy',
          metadata: { name: 'db-ingress', namespace: 'payments' },
          spec: {
            podSelector: { matchLabels: { app: 'db' } },
            policyTypes: ['Ingress'],
            ingress: [{ from: [{ namespaceSelector: {} }], ports: (o.allowPorts ?? [5432]).map((port) => ({ port })) }],
          },
        },
      ],
      rollout: {
        strategy: 'percent',
        stages: [
          { name: 'monitor', minDuration: d },
          { name: 'canary', percent: 10, minDuration: d },
          { name: 'half', percent: 50, minDuration: d },
          { name: 'full', percent: 100, minDuration: d },
        ],
      },
      gates: {
        minFlows: o.minFlows ?? 10,
        maxWouldDeny: o.maxWouldDeny === undefined ? 0 : o.maxWouldDeny,
        maxWouldDenyRatio: o.maxWouldDenyRatio === undefined ? 0.001 : o.maxWouldDenyRatio,
        minNodeCoverage: o.minNodeCoverage ?? 1,
        maxLostEventsRatio: o.maxLostEventsRatio ?? 0.001,
        maxReportAge: o.maxReportAge ?? '30s',
      },
      rollback: { maxActualDeniesPerMinute: o.maxActualDeniesPerMinute === undefined ? 10 : o.maxActualDeniesPerMinute },
      advance: o.advance ?? 'auto',
    },
  };
}

export function aContract(o: ContractDocOptions = {}): Contract {
  const r = parseContract(contractDoc(o));
  if (!r.ok) throw new Error(`test contract invalid: ${JSON.stringify(r.error)}`);
  return r.value;
}

export function anEdge(o: Partial<Edge> = {}): Edge {
  return {
    fromNamespace: 'shop',
    fromWorkload: 'frontend',
    toNamespace: 'payments',
    toWorkload: 'db',
    port: 5432,
    protocol: 'TCP',
    side: 'ingress',
    count: 1,
    firstSeenMs: 0,
    lastSeenMs: 0,
    sampleFlowJson: '',
    ...o,
  };
}

export interface WindowOptions {
  readonly contract?: string;
  readonly revision?: number;
  readonly stageIndex?: number;
  readonly stageName?: string;
  /** Egress counts; default none. */
  readonly egress?: SideCounts;
  readonly allow?: number;
  readonly deny?: number;
  readonly indeterminate?: number;
  readonly actualDenies?: number;
  readonly wouldDenyEdges?: readonly Edge[];
  readonly actualDenyEdges?: readonly Edge[];
}

export function aContractWindow(o: WindowOptions = {}): ContractWindow {
  return {
    contract: o.contract ?? 'shop-lockdown',
    revision: o.revision ?? 1,
    stageIndex: o.stageIndex ?? 0,
    stageName: o.stageName ?? 'monitor',
    egress: o.egress ?? { allow: 0, deny: 0, indeterminate: 0 },
    ingress: { allow: o.allow ?? 100, deny: o.deny ?? 0, indeterminate: o.indeterminate ?? 0 },
    actualDenies: o.actualDenies ?? 0,
    wouldDenyEdges: o.wouldDenyEdges ?? [],
    wouldDenyEdgesOverflow: 0,
    actualDenyEdges: o.actualDenyEdges ?? [],
    actualDenyEdgesOverflow: 0,
  };
}

/**
 * The windows an agent reports for the contract set it holds: one per contract, at that
 * contract's revision and stage, each with the counts of `o`.
 */
export function contractWindowsFor(contracts: readonly Pick<ActiveContract, 'name' | 'revision' | 'stageIndex' | 'stageName'>[], o: Omit<WindowOptions, 'contract' | 'revision' | 'stageIndex' | 'stageName'> = {}): ContractWindow[] {
  return contracts.map((c) => aContractWindow({ ...o, contract: c.name, revision: c.revision, stageIndex: c.stageIndex, stageName: c.stageName }));
}

export interface SummaryOptions {
  readonly node?: string;
  readonly bootId?: string;
  readonly seq?: number;
  readonly windowEndMs?: number;
  readonly windowMs?: number;
  readonly flowsSeen?: number;
  readonly connections?: number;
  readonly lost?: Readonly<Record<string, number>>;
  readonly connected?: boolean;
  readonly contracts?: readonly ContractWindow[];
  /** The ContractSet generation the windows were judged under; default 1. */
  readonly contractsGeneration?: number;
  /** The traffic map's edges (with no overflow); absent: none sent. */
  readonly observedEdges?: readonly ObservedEdge[];
}

export function aSummary(o: SummaryOptions = {}): WindowSummary {
  const end = o.windowEndMs ?? Date.UTC(2026, 0, 1);
  return {
    node: o.node ?? 'node-a',
    bootId: o.bootId ?? 'boot-1',
    seq: o.seq ?? 1,
    windowStartMs: end - (o.windowMs ?? 10_000),
    windowEndMs: end,
    mergedWindows: 1,
    hubble: { flowsSeen: o.flowsSeen ?? 1000, connections: o.connections ?? 100, lost: o.lost ?? {}, reconnects: 0, connected: o.connected ?? true },
    contracts: o.contracts ?? [aContractWindow()],
    contractsGeneration: o.contractsGeneration ?? 1,
    ...(o.observedEdges === undefined ? {} : { observedEdges: o.observedEdges, observedEdgesOverflow: 0 }),
  };
}
