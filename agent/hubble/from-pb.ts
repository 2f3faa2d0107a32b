/**
 * The only file that knows both vocabularies: a decoded `observer.GetFlowsResponse` (the
 * proto-loader record) becomes a domain event. Flows map through core's `flowFromRecord`.
 */
import { formatProblems, isObject } from '../../core/common/index.js';
import { flowFromRecord } from '../../core/flow/index.js';
import type { Flow } from '../../core/flow/index.js';

/** One received message, decoded: an event, or why it was skipped. */
export type Decoded =
  | { readonly kind: 'flow'; readonly flow: Flow; readonly seconds: number; readonly nanos: number }
  | { readonly kind: 'lost'; readonly source: string; readonly count: number; readonly node: string }
  | { readonly kind: 'node-status'; readonly state: string; readonly nodes: readonly string[]; readonly message: string }
  | { readonly kind: 'malformed'; readonly reason: string }
  | { readonly kind: 'oversized'; readonly bytes: number };

type Rec = Record<string, unknown>;

const NO_TIME: Rec = Object.freeze({});

function timeRecord(flow: Rec, response: Rec): Rec {
  const own = flow['time'];
  if (isObject(own)) return own;
  const envelope = response['time'];
  return isObject(envelope) ? envelope : NO_TIME;
}

export function decodedFromRecord(response: Rec): Decoded {
  const flow = response['flow'];
  if (isObject(flow)) {
    // The envelope is only a fallback for what the flow lacks: most flows need none.
    const needsEnvelope = flow['time'] === undefined || flow['node_name'] === undefined;
    const r = flowFromRecord(flow, needsEnvelope ? { time: response['time'], node_name: response['node_name'] } : undefined);
    if (!r.ok) return { kind: 'malformed', reason: formatProblems(r.error) };
    const t = timeRecord(flow, response);
    const seconds = t['seconds'];
    const nanos = t['nanos'];
    return { kind: 'flow', flow: r.value, seconds: typeof seconds === 'number' ? seconds : 0, nanos: typeof nanos === 'number' ? nanos : 0 };
  }
  const lost = response['lost_events'];
  if (isObject(lost)) {
    const count = typeof lost['num_events_lost'] === 'number' ? lost['num_events_lost'] : 0;
    const source = typeof lost['source'] === 'string' ? lost['source'] : 'UNKNOWN_LOST_EVENT_SOURCE';
    const node = typeof response['node_name'] === 'string' ? response['node_name'] : '';
    return { kind: 'lost', source, count, node };
  }
  const status = response['node_status'];
  if (isObject(status)) {
    return {
      kind: 'node-status',
      state: typeof status['state_change'] === 'string' ? status['state_change'] : 'UNKNOWN_NODE_STATE',
      nodes: Array.isArray(status['node_names']) ? (status['node_names'] as string[]) : [],
      message: typeof status['message'] === 'string' ? status['message'] : '',
    };
  }
  return { kind: 'malformed', reason: 'response carries neither a flow, lost events nor a node status' };
}
