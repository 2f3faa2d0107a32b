/**
 * A simulated capture: the cluster's traffic over a span of simulated time, ending now, as
 * `hubble observe -o json` lines (the `{"flow":…,"node_name":…,"time":…}` envelope), produced
 * as fast as the CPU allows. Nothing is enforced: it is what monitor mode sees, which is what
 * `rampart evaluate` expects as input.
 */
import { systemClock, type Clock } from '../core/common/index.js';
import { formatResponseLine } from '../proto/codec/hubble-json.js';
import type { ClusterSpec } from './cluster-spec.js';
import { CorePolicyJudge } from './core-judge.js';
import { Simulator, type SimulatorStats } from './simulator.js';

export interface CaptureOptions {
  readonly spec: ClusterSpec;
  readonly durationMs: number;
  readonly nodes?: number;
  readonly rateScale?: number;
  readonly seed?: number;
  /** Start the scenario's late callers from the beginning. */
  readonly late?: boolean;
  /** Where the capture ends; default: the clock's now. */
  readonly endMs?: number;
  readonly clock?: Clock;
  readonly write: (line: string) => void;
}

const STEP_MS = 100;

export function writeCapture(opts: CaptureOptions): SimulatorStats {
  const sim = new Simulator({
    spec: opts.spec,
    nodes: opts.nodes,
    rateScale: opts.rateScale,
    seed: opts.seed,
    judge: (cluster) => new CorePolicyJudge(cluster),
    sink: {
      publish: (node, record) => {
        opts.write(`${formatResponseLine({ flow: record, node_name: node.name, time: record.time, response_types: 'flow' } as unknown as Record<string, unknown>)}\n`);
      },
    },
  });
  if (opts.late) sim.traffic.activateLate();
  const end = opts.endMs ?? (opts.clock ?? systemClock).nowMs();
  for (let t = end - opts.durationMs; t <= end; t += STEP_MS) sim.step(t);
  return sim.stats();
}
