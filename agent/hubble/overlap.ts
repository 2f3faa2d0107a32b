/**
 * Resuming without duplicates. The client resumes a broken stream with `since` = the newest
 * flow time it has yielded; the server then sends again the flows stamped exactly that time.
 * Those are recognised by `uuid` where the server sets one, else by the fields that identify
 * one observation (time, node, 5-tuple, observation point, verdict, event type, flags…),
 * and dropped. Only flows at the newest time are remembered, so memory stays bounded.
 */
import type { Flow } from '../../core/flow/index.js';
import { FastDecoder } from './fast-decode.js';

/** Flows sharing the newest timestamp that are remembered (more is only possible with coarse clocks). */
const MAX_AT_NEWEST = 4096;

export function flowIdentity(flow: Flow): string {
  if (flow.uuid !== null) return `u:${flow.uuid}`;
  const l4 = flow.l4;
  const f = l4?.flags;
  return [
    flow.time,
    flow.node,
    flow.ip?.source ?? '',
    flow.ip?.destination ?? '',
    l4?.protocol ?? '',
    l4?.sourcePort ?? '',
    l4?.destinationPort ?? '',
    l4?.icmpType ?? '',
    l4?.icmpCode ?? '',
    f ? `${+f.SYN}${+f.ACK}${+f.FIN}${+f.RST}` : '',
    flow.observationPoint ?? '',
    flow.observed,
    flow.eventType ?? '',
    flow.eventSubType ?? '',
    flow.direction,
    String(flow.isReply),
    flow.type,
    flow.source.identity,
    flow.destination.identity,
  ].join('|');
}

export class OverlapFilter {
  /** Decodes the skipped flows kept as bytes when a resume needs their identity. */
  readonly #decoder: FastDecoder;

  constructor(decoder: FastDecoder = new FastDecoder()) {
    this.#decoder = decoder;
  }

  private newestSeconds = -Infinity;
  private newestNanos = 0;
  /**
   * Flows at the newest time, or the message bytes of those the client skipped without
   * building them (their identity is only needed on a resume, so they are decoded then).
   */
  private atNewest: (Flow | Buffer)[] = [];
  private resumeKeys: Set<string> | null = null;

  /** `since` for the next request: the newest time yielded so far, or null before any flow. */
  resumeFrom(): { seconds: number; nanos: number } | null {
    return this.newestSeconds === -Infinity ? null : { seconds: this.newestSeconds, nanos: this.newestNanos };
  }

  /** Call when a new stream starts with `since = resumeFrom()`. */
  startResume(): void {
    if (this.atNewest.length === 0) {
      this.resumeKeys = null;
      return;
    }
    const keys = new Set<string>();
    for (const f of this.atNewest) {
      const flow = isBytes(f) ? decodedFlow(this.#decoder, f) : f;
      if (flow !== null) keys.add(flowIdentity(flow));
    }
    this.resumeKeys = keys;
  }

  /**
   * `seen` for a flow the client did not build (decodeOrSkip's SKIPPED): the bytes are kept
   * by reference while the flow is the newest, copied only when others share its time.
   */
  seenSkipped(bytes: Buffer, seconds: number, nanos: number): boolean {
    const cmp = seconds === this.newestSeconds ? nanos - this.newestNanos : seconds - this.newestSeconds;
    if (this.resumeKeys !== null) {
      if (cmp === 0) {
        const flow = decodedFlow(this.#decoder, bytes);
        if (flow !== null && this.resumeKeys.has(flowIdentity(flow))) return true;
      }
      if (cmp > 0) this.resumeKeys = null;
    }
    if (cmp > 0) {
      this.newestSeconds = seconds;
      this.newestNanos = nanos;
      this.atNewest.length = 0;
      this.atNewest.push(bytes);
      this.firstByReference = true;
    } else if (cmp === 0 && this.atNewest.length < MAX_AT_NEWEST) {
      this.keepCopies();
      this.atNewest.push(Buffer.from(bytes));
    }
    return false;
  }

  /** Several flows share the newest time: the bytes kept by reference, if any, are copied. */
  private keepCopies(): void {
    if (!this.firstByReference) return;
    this.atNewest[0] = Buffer.from(this.atNewest[0] as Buffer);
    this.firstByReference = false;
  }

  /** The first of `atNewest` is a message buffer of the stream's, not a copy. */
  private firstByReference = false;

  /** True when the flow was already yielded before the reconnect; otherwise records it. */
  seen(flow: Flow, seconds: number, nanos: number): boolean {
    const cmp = seconds === this.newestSeconds ? nanos - this.newestNanos : seconds - this.newestSeconds;
    if (this.resumeKeys !== null) {
      if (cmp === 0 && this.resumeKeys.has(flowIdentity(flow))) return true;
      if (cmp > 0) this.resumeKeys = null; // past the overlap
    }
    if (cmp > 0) {
      this.newestSeconds = seconds;
      this.newestNanos = nanos;
      this.atNewest.length = 0;
      this.atNewest.push(flow);
      this.firstByReference = false;
    } else if (cmp === 0 && this.atNewest.length < MAX_AT_NEWEST) {
      this.keepCopies();
      this.atNewest.push(flow);
    }
    return false;
  }
}

const isBytes = (f: Flow | Buffer): f is Buffer => Buffer.isBuffer(f);

/** The Flow in a GetFlowsResponse the client skipped earlier (it decoded then, so it does now). */
function decodedFlow(decoder: FastDecoder, bytes: Buffer): Flow | null {
  try {
    const d = decoder.decode(bytes);
    return d.kind === 'flow' ? d.flow : null;
  } catch {
    return null;
  }
}
