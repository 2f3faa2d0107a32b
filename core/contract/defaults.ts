/**
 * Defaults for the optional parts of a RampContract, in one table (style.md 2.8). They lean
 * towards holding a ramp: with the defaults a stage advances only on plenty of evidence,
 * no would-be denies, every expected node reporting, and almost no lost Hubble events.
 * The CRD schema (deploy/crds/rampcontracts.yaml) documents the same values.
 */
import type { AdvanceMode, Gates, Rollback } from './contract.js';
import { RAMPCONTRACT } from './resource.js';

export const CONTRACT_API_VERSION = RAMPCONTRACT.apiVersion;
export const CONTRACT_KIND = RAMPCONTRACT.kind;

export const DEFAULT_GATES: Gates = Object.freeze({
  /** Enough connection-sides that "no would-deny" means something. */
  minFlows: 100,
  /** Any would-be-denied connection holds the ramp. */
  maxWouldDeny: 0,
  maxWouldDenyRatio: 0,
  /** Broadening access is reported, not held, unless the contract caps it. */
  maxNewlyAllowed: null,
  /** Every expected node must report: a silent node is missing evidence, not good news. */
  minNodeCoverage: 1,
  /** Above 1% lost events the sample is too lossy to trust. */
  maxLostEventsRatio: 0.01,
  /** Two minutes is twelve default 10 s windows. */
  maxReportAgeMs: 120_000,
  /** The map's default retention: a week of traffic judges a new revision from its first second. */
  historyWindowMs: 7 * 24 * 3_600_000,
  /** Reported only: workloads that are silent for good (a spare, a retired caller) would hold every ramp. */
  minWorkloadCoverage: 0,
  /** Waiting is the safe default; a contract that should not wait forever says how long. */
  maxInconclusiveMs: null,
});

export const DEFAULT_ROLLBACK: Rollback = Object.freeze({
  /** A handful of real drops per minute can be an attacker or a stale client; a spike rolls back. */
  maxActualDeniesPerMinute: 10,
  /** As Argo Rollouts and Flagger abort to stable: real denies stop all enforcement at once. */
  to: 'monitor',
});

export const DEFAULT_ADVANCE: AdvanceMode = 'auto';
