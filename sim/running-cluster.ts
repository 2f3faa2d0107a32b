/**
 * A simulated cluster serving Hubble: the Simulator driven by a clock on a short tick, one
 * Hubble Observer server per node (replay/server.ts), and optionally a follower that keeps
 * the datapath in step with what the control plane applies. What `rampart simulate` and
 * `rampart demo` run; tests start it in-process on 127.0.0.1:0.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { systemClock, type Clock, type Logger } from '../core/common/index.js';
import { HubbleServer } from '../replay/server.js';
import { AppliedFollower } from './applied-follower.js';
import type { ClusterSpec } from './cluster-spec.js';
import type { SimNode } from './cluster.js';
import { CorePolicyJudge } from './core-judge.js';
import { KubeDatapath } from './kube-datapath.js';
import type { AppliedStage } from '../core/rollout/index.js';
import type { FlowRecord } from './records.js';
import { Simulator } from './simulator.js';

export interface RunningClusterOptions {
  readonly spec: ClusterSpec;
  readonly nodes?: number;
  readonly rateScale?: number;
  readonly seed?: number;
  /** Where each node's Hubble listens: `127.0.0.1:0` (default) or a function of the node. */
  readonly listen?: (node: SimNode) => string;
  /** Follow the control plane's `applied` contracts (base URL of its HTTP API). */
  readonly controlplaneHttp?: string;
  readonly token?: string | null;
  readonly tickMs?: number;
  readonly clock?: Clock;
  /** Hubble ring size per node (default: Hubble's 4095). */
  readonly ringCapacity?: number;
  readonly onAppliedChange?: (applied: readonly AppliedStage[]) => void;
  readonly onFollowError?: (message: string) => void;
  /**
   * Kubernetes mode: the cluster's namespaces, pods and pre-existing policies are created in
   * this API server, and the datapath enforces the NetworkPolicies and pod labels it holds
   * (kube-datapath.ts) instead of following the control plane's `applied` records.
   */
  readonly kube?: { readonly kc: KubeConfig; readonly log: Logger; readonly dropIdentityLabel?: (key: string) => boolean };
}

export interface NodeHubble {
  readonly node: string;
  readonly address: string;
}

export class RunningCluster {
  readonly simulator: Simulator;
  private readonly servers = new Map<string, HubbleServer>();
  private readonly opts: RunningClusterOptions;
  private readonly clock: Clock;
  private readonly abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private follower: AppliedFollower | null = null;
  /** Kubernetes mode's datapath, once started. */
  kube: KubeDatapath | null = null;
  addresses: NodeHubble[] = [];

  constructor(opts: RunningClusterOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    const servers = this.servers;
    this.simulator = new Simulator({
      spec: opts.spec,
      nodes: opts.nodes,
      rateScale: opts.rateScale,
      seed: opts.seed,
      judge: (cluster) => new CorePolicyJudge(cluster),
      sink: {
        publish(node: SimNode, record: FlowRecord): void {
          servers.get(node.name)?.publish(record as unknown as Record<string, unknown>);
        },
      },
    });
    for (const node of this.simulator.cluster.nodes) {
      this.servers.set(node.name, new HubbleServer({ nodeName: node.name, version: 'rampart-sim (Cilium 1.19 flow semantics)', ringCapacity: opts.ringCapacity }));
    }
  }

  /**
   * Kubernetes mode: creates the simulated cluster's objects on the API server (namespaces,
   * pods, its policies and the Cilium policy kinds they need), once; `start` does it if not done.
   */
  async provision(): Promise<void> {
    if (!this.opts.kube || this.kube !== null) return;
    const kube = new KubeDatapath({ ...this.opts.kube, simulator: this.simulator, spec: this.opts.spec });
    await kube.provision();
    this.kube = kube;
  }

  async start(): Promise<NodeHubble[]> {
    const out: NodeHubble[] = [];
    for (const node of this.simulator.cluster.nodes) {
      const server = this.servers.get(node.name)!;
      const { address } = await server.listen(this.opts.listen?.(node) ?? '127.0.0.1:0');
      out.push({ node: node.name, address });
    }
    this.addresses = out;
    if (this.opts.kube) {
      await this.provision();
      await this.kube!.start(this.abort.signal);
    } else if (this.opts.controlplaneHttp) {
      this.follower = new AppliedFollower({
        baseUrl: this.opts.controlplaneHttp.replace(/\/+$/, ''),
        token: this.opts.token ?? null,
        intervalMs: 500,
        signal: this.abort.signal,
        onApplied: (applied) => {
          this.simulator.enforcement.setApplied(applied);
          this.opts.onAppliedChange?.(applied);
        },
        onError: this.opts.onFollowError,
      });
      this.follower.start();
    }
    this.simulator.step(this.clock.nowMs());
    this.timer = setInterval(() => this.simulator.step(this.clock.nowMs()), this.opts.tickMs ?? 100);
    return out;
  }

  /** The demo's "new caller": starts the workloads marked `late`. */
  activateLate(): void {
    this.simulator.traffic.activateLate();
  }

  async stop(): Promise<void> {
    this.abort.abort();
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.servers.values()].map((s) => s.close()));
  }
}
