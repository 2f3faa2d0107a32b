/**
 * What the agent reads from Hubble: a stream of domain events. `lost` carries Hubble's own
 * account of events it dropped (HUBBLE_RING_BUFFER when this client was too slow), which
 * gates must see so that lossy evidence never advances a ramp.
 */
import type { Flow } from '../../core/flow/index.js';

export type HubbleEvent =
  | { readonly kind: 'flow'; readonly flow: Flow }
  /**
   * A flow the client recognised on the wire as one core's ConnectionTracker skips before
   * its table lookup (a reply, not a connection start, not L3/L4, no local endpoint), only
   * with the client's `earlySkip`: counted as seen, never built into a Flow.
   */
  | { readonly kind: 'flow-skipped' }
  | { readonly kind: 'lost'; readonly source: string; readonly count: number; readonly node: string }
  | { readonly kind: 'node-status'; readonly state: string; readonly nodes: readonly string[]; readonly message: string };

/** Counters the agent exports as metrics. Updated in place by the client. */
export interface HubbleClientStats {
  /** Flows yielded (after overlap removal). */
  flows: number;
  /** Lost events reported by the server, by source (e.g. HUBBLE_RING_BUFFER). */
  readonly lostEvents: Record<string, number>;
  /** Streams re-opened after a failure or end. */
  reconnects: number;
  /** Messages that could not be decoded or mapped; skipped. */
  malformed: number;
  /** Messages larger than `maxMessageBytes`; skipped. */
  oversized: number;
  /** Flows dropped because a resumed stream sent them again. */
  duplicatesDropped: number;
  /** True while a stream is open and has delivered at least one message. */
  connected: boolean;
}

export function newStats(): HubbleClientStats {
  return { flows: 0, lostEvents: {}, reconnects: 0, malformed: 0, oversized: 0, duplicatesDropped: 0, connected: false };
}
