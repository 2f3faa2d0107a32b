/**
 * Every agent metric, bound to an injected Registry (style.md: each test builds its own).
 * Labels come only from bounded vocabularies: contract, stage, side, verdict, loss source.
 * Per-flow work never touches prom-client: counters advance from each closed window's
 * summary, and live values (connected, outbox size) are read at scrape time.
 */
import { Counter, Gauge, Registry } from 'prom-client';
import type { WindowSummary } from '../core/summary/index.js';

export interface LiveState {
  hubbleConnected(): boolean;
  controlplaneConnected(): boolean;
  outboxWindows(): number;
  outboxEntries(): number;
  contractsActive(): number;
  contractsGeneration(): number;
  /** Outbox counters since start (merges, acks, rejections). */
  outboxStats(): { readonly merges: number; readonly acked: number; readonly rejected: number; readonly resends: number };
}

export interface AgentMetrics {
  readonly registry: Registry;
  recordWindow(summary: WindowSummary): void;
  contractSetRejected(): void;
  contractSetInstalled(): void;
}

export function createAgentMetrics(registry: Registry, live: LiveState): AgentMetrics {
  const p = 'rampart_agent_';
  const flows = new Counter({ name: `${p}flows_total`, help: 'Flow events received from Hubble.', registers: [registry] });
  const connections = new Counter({ name: `${p}connections_total`, help: 'Connection starts evaluated (each once, whatever its sides).', registers: [registry] });
  const evaluations = new Counter({
    name: `${p}evaluations_total`,
    help: 'Evaluated connection-sides by contract, stage, side and verdict of the proposed policies (judged against the baseline when there is one: deny counts newly denied sides; already denied ones are in baseline_changes_total only).',
    labelNames: ['contract', 'stage', 'side', 'verdict'] as const,
    registers: [registry],
  });
  const baselineChanges = new Counter({
    name: `${p}baseline_changes_total`,
    help: 'Evaluated connection-sides judged against the baseline (the policies already in force) that were already denied by it, or that the contract newly allows (newly allowed sides are also counted as allow in evaluations_total; already denied ones are not counted there).',
    labelNames: ['contract', 'stage', 'side', 'change'] as const,
    registers: [registry],
  });
  const actualDenies = new Counter({
    name: `${p}actual_denies_total`,
    help: 'Real policy drops on pods the contract stage enforces.',
    labelNames: ['contract', 'stage'] as const,
    registers: [registry],
  });
  const edgeOverflow = new Counter({
    name: `${p}edge_overflow_total`,
    help: 'Would-deny evaluations that fell outside the top-K edges of their window.',
    labelNames: ['contract', 'stage'] as const,
    registers: [registry],
  });
  const lost = new Counter({ name: `${p}lost_events_total`, help: 'Events lost before evaluation, by source.', labelNames: ['source'] as const, registers: [registry] });
  const reconnects = new Counter({ name: `${p}hubble_reconnects_total`, help: 'Reconnections to Hubble.', registers: [registry] });
  const windows = new Counter({ name: `${p}windows_total`, help: 'Windows closed.', registers: [registry] });
  const setRejected = new Counter({ name: `${p}contract_sets_rejected_total`, help: 'Contract sets that failed to decode or compile (the previous set was kept).', registers: [registry] });
  const setInstalled = new Counter({ name: `${p}contract_sets_installed_total`, help: 'Contract sets compiled and installed.', registers: [registry] });
  // Outbox counters live in the outbox; these mirror them at scrape time.
  const mirror = (name: string, help: string, read: (s: ReturnType<LiveState['outboxStats']>) => number): void => {
    new Counter({
      name: `${p}${name}`,
      help,
      registers: [registry],
      collect() {
        this.reset();
        this.inc(read(live.outboxStats()));
      },
    });
  };
  mirror('reports_rejected_total', 'Window reports refused by the control plane (not retried).', (s) => s.rejected);
  mirror('outbox_merges_total', 'Times the full outbox merged its two oldest unsent windows.', (s) => s.merges);
  mirror('reports_acked_total', 'Window reports acknowledged by the control plane.', (s) => s.acked);
  mirror('reports_resent_total', 'Window reports sent again after a reconnect (same sequence number).', (s) => s.resends);
  new Gauge({
    name: `${p}hubble_connected`,
    help: '1 while the Hubble stream is up.',
    registers: [registry],
    collect() {
      this.set(live.hubbleConnected() ? 1 : 0);
    },
  });
  new Gauge({
    name: `${p}controlplane_connected`,
    help: '1 while the stream to some control-plane replica is up.',
    registers: [registry],
    collect() {
      this.set(live.controlplaneConnected() ? 1 : 0);
    },
  });
  new Gauge({
    name: `${p}outbox_windows`,
    help: 'Windows waiting for an acknowledgement, at the replica furthest behind (merged windows count for what they hold).',
    registers: [registry],
    collect() {
      this.set(live.outboxWindows());
    },
  });
  new Gauge({
    name: `${p}outbox_entries`,
    help: 'Reports held in the fullest replica outbox (bounded by its capacity).',
    registers: [registry],
    collect() {
      this.set(live.outboxEntries());
    },
  });
  new Gauge({
    name: `${p}contracts_active`,
    help: 'Contracts in the installed set.',
    registers: [registry],
    collect() {
      this.set(live.contractsActive());
    },
  });
  new Gauge({
    name: `${p}contracts_generation`,
    help: 'Generation of the installed contract set (0: none yet).',
    registers: [registry],
    collect() {
      this.set(live.contractsGeneration());
    },
  });

  return {
    registry,
    recordWindow(s) {
      windows.inc();
      flows.inc(s.hubble.flowsSeen);
      connections.inc(s.hubble.connections);
      if (s.hubble.reconnects > 0) reconnects.inc(s.hubble.reconnects);
      for (const [source, n] of Object.entries(s.hubble.lost)) lost.inc({ source }, n);
      for (const c of s.contracts) {
        const stage = c.stageName;
        for (const side of ['egress', 'ingress'] as const) {
          for (const verdict of ['allow', 'deny', 'indeterminate'] as const) {
            // inc(0) still creates the series, so dashboards see every contract from its first window.
            evaluations.inc({ contract: c.contract, stage, side, verdict }, c[side][verdict]);
          }
        }
        if (c.baseline !== undefined) {
          for (const side of ['egress', 'ingress'] as const) {
            baselineChanges.inc({ contract: c.contract, stage, side, change: 'already-denied' }, c.baseline[side].alreadyDenied);
            baselineChanges.inc({ contract: c.contract, stage, side, change: 'newly-allowed' }, c.baseline[side].newlyAllowed);
          }
        }
        actualDenies.inc({ contract: c.contract, stage }, c.actualDenies);
        edgeOverflow.inc({ contract: c.contract, stage }, c.wouldDenyEdgesOverflow);
      }
    },
    contractSetRejected: () => setRejected.inc(),
    contractSetInstalled: () => setInstalled.inc(),
  };
}

export { Registry };
