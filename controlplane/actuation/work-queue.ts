/**
 * The Kubernetes actuator's single worker: contracts to sync (deduplicated) and pods to
 * enroll (key → when the watch reported it), drained one job at a time so no two writes for
 * the cluster race. Pods go first: a new pod of an enforced stage should get its label fast.
 */
export interface WorkHandlers {
  sync(contract: string): Promise<void>;
  enrollPods(batch: readonly [string, number][]): Promise<void>;
}

export class WorkQueue {
  private readonly handlers: WorkHandlers;
  private readonly dirty = new Set<string>();
  private readonly pods = new Map<string, number>();
  private running: Promise<void> | null = null;
  private stopped = false;

  constructor(handlers: WorkHandlers) {
    this.handlers = handlers;
  }

  /** Syncs the contract soon (once, however often it is asked before the pass). */
  schedule(contract: string): void {
    this.dirty.add(contract);
    this.kick();
  }

  /** Marks the contract for the next pass without starting one. */
  mark(contract: string): void {
    this.dirty.add(contract);
  }

  /** A pod the watch reported, with when (a later report of the same pod replaces it). */
  pod(key: string, seenAtMs: number): void {
    this.pods.set(key, seenAtMs);
    this.kick();
  }

  stop(): void {
    this.stopped = true;
  }

  /** Resolves when no pass is queued or running. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  kick(): void {
    if (this.running || this.stopped) return;
    this.running = (async () => {
      // Yield first, so `running` is assigned before the loop (and its `finally`) can run.
      await null;
      try {
        while (!this.stopped && (this.dirty.size > 0 || this.pods.size > 0)) {
          if (this.pods.size > 0) {
            const batch = [...this.pods];
            this.pods.clear();
            await this.handlers.enrollPods(batch);
            continue;
          }
          const [contract] = this.dirty;
          this.dirty.delete(contract!);
          await this.handlers.sync(contract!);
        }
      } finally {
        this.running = null;
      }
    })();
  }
}
