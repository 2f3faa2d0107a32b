/**
 * A RampContract document around generated policies: monitor, then 10 % → 50 % → 100 %, with
 * gates that hold on any would-be deny. The monitor stage is long on purpose: a suggestion
 * only knows the traffic it was shown, and rare traffic (nightly jobs) shows up late
 * (authoring.md §0.1). Advance is manual: a machine-written draft waits for a person.
 */
import { RAMPCONTRACT } from '../contract/index.js';
import type { Manifest } from './manifests.js';

export interface ContractDocOptions {
  readonly name: string;
  readonly monitor?: string;
}

export function contractDocument(policies: readonly Manifest[], options: ContractDocOptions): Manifest {
  return {
    apiVersion: RAMPCONTRACT.apiVersion,
    kind: RAMPCONTRACT.kind,
    metadata: { name: options.name },
    spec: {
      policies: [...policies],
      rollout: {
        strategy: 'percent',
        stages: [
          { name: 'monitor', minDuration: options.monitor ?? '24h' },
          { name: 'canary', percent: 10, minDuration: '1h' },
          { name: 'half', percent: 50, minDuration: '2h' },
          { name: 'full', percent: 100, minDuration: '2h' },
        ],
      },
      gates: {
        minFlows: 1000,
        maxWouldDeny: 0,
        maxWouldDenyRatio: 0,
        minNodeCoverage: 1,
        maxLostEventsRatio: 0.001,
        maxReportAge: '2m',
      },
      rollback: { maxActualDeniesPerMinute: 5 },
      advance: 'manual',
    },
  };
}
