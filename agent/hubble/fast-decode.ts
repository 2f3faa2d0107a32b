/**
 * A direct wire decoder for `observer.GetFlowsResponse`, for the agent's hot path. It reads
 * only the fields the domain Flow needs and skips the rest (Ethernet, L7 records, Summary,
 * policy correlation…), building the same proto-loader-shaped record proto-loader would
 * build for those fields; `decodedFromRecord` then maps it. So its output equals the
 * reference path (proto-loader decode → flowFromRecord) by construction, which
 * test/unit/agent/hubble/fast-decode.test.ts checks over every capture.
 *
 * All its state (the scan of the message being read, the caches of repeated sub-messages,
 * node names and addresses) lives in one `FastDecoder`; one stream uses one decoder, so two
 * streams never share a cache. The pieces are in decode/: the wire reader, the flow scan,
 * the shared records, the records and the Flow built from a scan, and the early skip.
 *
 * Field numbers: Cilium v1.19.4 flow.proto / observer.proto (proto/hubble/).
 */
import { newStartFacts } from '../../core/flow/index.js';
import { decodedFromRecord, type Decoded } from './from-pb.js';
import { skippable } from './decode/early-skip.js';
import { acceptable, buildFlow, IpTexts, type Envelope } from './decode/flow-of-scan.js';
import { FlowScan, flowInto, newTimeSlot, timestampInto } from './decode/flow-scan.js';
import { enumNamesOfSchema, flowRecord, lostEvent, nodeStatus, timeRecord, type EnumNames } from './decode/records.js';
import { SharedRecords, type Rec } from './decode/shared-records.js';
import { D_FLOW, D_RESPONSE, WireReader } from './decode/wire-reader.js';

/**
 * A flow the connection tracker would skip whatever it has seen before, known from the scan
 * alone: `decodeOrSkip` returns this instead of building a Flow. Its time is in `skippedAt`.
 */
export const SKIPPED: unique symbol = Symbol('skipped flow');

/** Stands in for an envelope time that is never read (the flow has its own). */
const FLOW_HAS_TIME: Rec = Object.freeze({});

export class FastDecoder {
  /** The wire time of the flow `decodeOrSkip` last returned SKIPPED for. */
  readonly skippedAt = { seconds: 0, nanos: 0 };
  readonly #reader = new WireReader();
  readonly #scan = new FlowScan();
  readonly #shared = new SharedRecords();
  readonly #ips = new IpTexts();
  #names: EnumNames | undefined;
  /** The facts of a scanned flow that decide an early skip (filled in place). */
  readonly #facts = newStartFacts();
  /** The envelope of the message last scanned: which oneof members were present, its own node name and time. */
  readonly #envelope: Envelope = { time: newTimeSlot(), node: undefined };
  #hasFlow = false;
  #lost: Rec | undefined;
  #status: Rec | undefined;

  /** Decodes one GetFlowsResponse message. Throws RangeError on malformed bytes. */
  decode(bytes: Buffer): Decoded {
    this.#scanResponse(bytes);
    return this.#decodedOfScan(bytes);
  }

  /**
   * Like `decode`, but a flow that core's ConnectionTracker would skip without consulting its
   * table (not L3/L4, no 5-tuple, a non-policy drop, a reply, not a connection start, no local
   * endpoint: core/flow/connection-start.ts) is not built at all: SKIPPED comes back, and
   * nothing is allocated for it. A flow the reference mapping would refuse (a problem
   * flowFromRecord reports) is never skipped: it goes the full way and comes back malformed,
   * as it would there. test/unit/agent/hubble checks both.
   */
  decodeOrSkip(bytes: Buffer): Decoded | typeof SKIPPED {
    this.#scanResponse(bytes);
    const scan = this.#scan;
    const envelopeTime = this.#envelope.time;
    if (this.#hasFlow && skippable(scan, envelopeTime, this.#facts)) {
      const t = scan.time.has ? scan.time : envelopeTime;
      this.skippedAt.seconds = t.hasSeconds ? t.seconds : 0;
      this.skippedAt.nanos = t.hasNanos ? t.nanos : 0;
      return SKIPPED;
    }
    return this.#decodedOfScan(bytes);
  }

  /** The partial proto-loader-shaped record (only the fields the domain Flow reads). */
  record(bytes: Buffer): Rec {
    this.#scanResponse(bytes);
    return this.#responseRecord(bytes);
  }

  get #enumNames(): EnumNames {
    return (this.#names ??= enumNamesOfSchema());
  }

  /** Reads one GetFlowsResponse into this decoder's scan state. Throws RangeError on malformed bytes. */
  #scanResponse(bytes: Buffer): void {
    const r = this.#reader;
    const envelope = this.#envelope;
    r.begin(bytes);
    this.#hasFlow = false;
    this.#lost = undefined;
    this.#status = undefined;
    envelope.node = undefined;
    envelope.time.has = false;
    while (r.pos < r.end) {
      const tag = r.u32();
      switch (tag >>> 3) {
        case 1: {
          const outer = r.enter();
          flowInto(r, this.#scan, this.#shared);
          r.leave(outer);
          this.#hasFlow = true;
          break;
        }
        case 2: {
          const outer = r.enter();
          this.#status = nodeStatus(r, this.#enumNames);
          r.leave(outer);
          break;
        }
        case 3: {
          const outer = r.enter();
          this.#lost = lostEvent(r, this.#enumNames);
          r.leave(outer);
          break;
        }
        case 1000:
          envelope.node = r.nodeName();
          break;
        case 1001: {
          const outer = r.enter();
          timestampInto(r, envelope.time, D_FLOW);
          r.leave(outer);
          break;
        }
        default:
          r.unknown(tag, D_RESPONSE);
      }
    }
    r.release();
  }

  /** The scanned response as the partial proto-loader record (only the fields the domain Flow reads). */
  #responseRecord(bytes: Buffer): Rec {
    const out: Rec = {};
    const scan = this.#scan;
    const envelope = this.#envelope;
    // decodedFromRecord looks at the flow first, then lost events, then node status, as it
    // does with protobufjs's record (which keeps every oneof member it read).
    if (this.#hasFlow) out['flow'] = flowRecord(bytes, scan, this.#enumNames);
    if (this.#lost !== undefined) out['lost_events'] = this.#lost;
    if (this.#status !== undefined) out['node_status'] = this.#status;
    if (envelope.node !== undefined) out['node_name'] = envelope.node;
    if (envelope.time.has) out['time'] = this.#hasFlow && scan.time.has ? FLOW_HAS_TIME : timeRecord(envelope.time);
    return out;
  }

  /**
   * The Decoded of the scanned response. A flow flowFromRecord would accept is built straight
   * from the scan (the same Flow, field by field, without the intermediate record); anything
   * else goes through the record and decodedFromRecord, so problems read exactly as there.
   */
  #decodedOfScan(bytes: Buffer): Decoded {
    const scan = this.#scan;
    const envelope = this.#envelope;
    if (this.#hasFlow && acceptable(scan, envelope.time)) {
      const t = scan.time.has ? scan.time : envelope.time;
      const flow = buildFlow(bytes, scan, envelope, this.#enumNames, this.#shared, this.#ips);
      return { kind: 'flow', flow, seconds: t.hasSeconds ? t.seconds : 0, nanos: t.hasNanos ? t.nanos : 0 };
    }
    return decodedFromRecord(this.#responseRecord(bytes));
  }
}
