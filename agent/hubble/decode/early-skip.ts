/**
 * The early skip: a flow that core's ConnectionTracker would skip without consulting its
 * table, known from the scan alone. The rule is core's (core/flow/connection-start.ts); this
 * file only reads its facts off the wire numbers.
 */
import { icmpKind, startSkipReason, TRACE_CONTINUATION, TRACE_OTHER, TRACE_REPLY, TRACE_START, type StartFacts, type TraceClass } from '../../../core/flow/index.js';
import { acceptable } from './flow-of-scan.js';
import { L4_ICMPV4, L4_ICMPV6, L4_TCP, type FlowScan, type TimeSlot } from './flow-scan.js';
import { BOOL_TRUE, type Rec } from './shared-records.js';

// Enum numbers of flow.proto.
const TYPE_UNKNOWN = 0;
const TYPE_L3_L4 = 1;
const VERDICT_DROPPED = 2;
const isPolicyReason = (n: number): boolean => n === 133 || n === 181; // POLICY_DENIED, POLICY_DENY

/** flow.TraceReason numbers: NEW 1, ESTABLISHED 2, REPLY 3, RELATED 4, REOPENED 5. */
const TRACE_CLASSES: readonly TraceClass[] = [TRACE_OTHER, TRACE_START, TRACE_CONTINUATION, TRACE_REPLY, TRACE_CONTINUATION, TRACE_START];

const hasLocalId = (e: Rec | undefined): boolean => e !== undefined && e['ID'] !== undefined && e['ID'] !== 0;

/** The scan's StartFacts, into `out`. */
function startFactsOfScan(f: FlowScan, out: StartFacts): StartFacts {
  const eventType = f.eventType === undefined ? null : ((f.eventType['type'] as number | undefined) ?? 0);
  const type = f.hasType ? f.type : TYPE_UNKNOWN;
  const hasL4 = f.hasL4 && f.l4 !== 0;
  out.l3l4 = type === TYPE_L3_L4 || (type === TYPE_UNKNOWN && hasL4 && eventType !== 129 && eventType !== 7);
  out.fiveTuple = hasL4 && f.hasIp;
  out.dropped = f.hasVerdict && f.verdict === VERDICT_DROPPED;
  out.policyDrop = out.dropped && (f.hasDropDesc ? isPolicyReason(f.dropDesc) : f.hasDropReason && isPolicyReason(f.dropReason));
  out.isReply = f.isReply !== undefined ? f.isReply === BOOL_TRUE : f.hasReply && f.reply;
  const reason = f.hasTraceReason ? f.traceReason : 0;
  out.trace = TRACE_CLASSES[reason] ?? TRACE_OTHER;
  const flags = f.l4 === L4_TCP ? f.flags : undefined;
  out.tcpFlags = flags !== undefined;
  out.syn = flags !== undefined && flags['SYN'] === true;
  out.ack = flags !== undefined && flags['ACK'] === true;
  out.icmp = f.l4 === L4_ICMPV4 || f.l4 === L4_ICMPV6 ? icmpKind(f.l4 === L4_ICMPV6, f.hasP1 ? f.p1 : 0) : null;
  out.localSource = hasLocalId(f.source);
  out.localDestination = hasLocalId(f.destination);
  return out;
}

/** True when the scanned flow is not a connection start whatever the tracker has seen before. */
export function skippable(f: FlowScan, envelopeTime: TimeSlot, facts: StartFacts): boolean {
  // What flowFromRecord would refuse is not ours to skip.
  if (!acceptable(f, envelopeTime)) return false;
  return startSkipReason(startFactsOfScan(f, facts)) !== null;
}
