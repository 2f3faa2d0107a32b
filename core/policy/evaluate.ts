/**
 * Evaluates one connection against a compiled policy set: NetworkPolicies with
 * networking.k8s.io/v1 semantics as Cilium enforces them (../shared/docs/netpol.md sections 1
 * and 4), CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies with Cilium's (deny rules
 * first; docs/cilium-policies.md). For NetworkPolicies (product.md "Evaluating a flow" 3–4):
 * isolation per direction and per pod, allows are a union (no order, no deny rules), a side
 * is allowed iff it is not isolated or some rule of an isolating policy admits the peer on
 * the port. Both evaluated sides must allow.
 *
 * Choices where Kubernetes leaves room (netpol.md section 3), all visible in reasons:
 * - ipBlock matches external peers only, never pod IPs (Cilium's behaviour).
 * - Traffic between a pod and `reserved:host` / `reserved:remote-node` is always allowed.
 * - `reserved:kube-apiserver` is treated as an external peer (matched by ipBlock on its IP):
 *   the API server is outside the pod network, and ipBlock is how policies name it.
 * - `reserved:health` and `reserved:ingress` (Cilium's health endpoint and ingress proxy) are
 *   cluster endpoints that are not pods: no selector and no ipBlock matches them, only rules
 *   that admit every peer do. They have no side of their own (`none`).
 * - `reserved:init` and `reserved:unmanaged` are pods whose labels Cilium does not know, and
 *   `reserved:unknown` / missing labels tell us nothing: whatever depends on their labels is
 *   indeterminate, never guessed. Where the answer does not depend on them (no policy could
 *   isolate, a rule admits every peer) the verdict is still exact.
 * - ICMP and other protocols without ports are admitted only by rules without `ports`.
 * - A pod reaching itself is evaluated like any other connection.
 */
import type { Flow } from '../flow/index.js';
import type { Direction, MatchContext } from './match.js';
import { evaluateSide } from './side.js';
import type { EvaluateOptions, EvaluatedSides, Evaluation, SideResult, SideVerdict } from './verdict.js';

const freeze = (e: Evaluation): Evaluation => Object.freeze(e);

const NO_SIDE: Evaluation = freeze({
  verdict: 'allow',
  egress: 'none',
  ingress: 'none',
  policies: Object.freeze([]) as readonly string[],
  reason: 'no side evaluated: no requested side belongs to a pod',
});

function alone(r: SideResult, dir: Direction): Evaluation {
  return (r.alone ??= freeze({
    verdict: r.verdict,
    egress: dir === 'egress' ? r.verdict : 'none',
    ingress: dir === 'ingress' ? r.verdict : 'none',
    policies: r.policies,
    reason: r.reason,
  }));
}

const PAIRS_PER_RESULT_MAX = 1024;

function combine(C: MatchContext, e: SideResult, i: SideResult): Evaluation {
  let pairs = C.caches.pairs.get(e);
  const hit = pairs?.get(i);
  if (hit !== undefined) return hit;
  const verdict: SideVerdict =
    e.verdict === 'deny' || i.verdict === 'deny' ? 'deny' : e.verdict === 'indeterminate' || i.verdict === 'indeterminate' ? 'indeterminate' : 'allow';
  const policies: string[] = [];
  for (const side of [e, i]) {
    // Allowed: who admitted it on both sides. Otherwise: the policies of the side(s) that decided.
    if (verdict !== 'allow' && side.verdict !== verdict) continue;
    for (const ref of side.policies) if (!policies.includes(ref)) policies.push(ref);
  }
  const result = freeze({ verdict, egress: e.verdict, ingress: i.verdict, policies, reason: C.reasons ? `${e.reason}; ${i.reason}` : '' });
  if (pairs === undefined) {
    pairs = new Map();
    C.caches.pairs.set(e, pairs);
  } else if (pairs.size >= PAIRS_PER_RESULT_MAX) pairs.clear();
  pairs.set(i, result);
  return result;
}

/**
 * Evaluates a connection start in an evaluator's context (evaluator.ts owns it). `sides` says which sides this node decides (egress where
 * `source.ID` is set, ingress where `destination.ID` is set); a side is `none` when not
 * requested or when its endpoint is not a pod. Returned objects are frozen and may be shared
 * between calls.
 */
export function evaluateWith(C: MatchContext, flow: Flow, sides: EvaluatedSides, options?: EvaluateOptions): Evaluation {
  C.resolver = options?.namedPorts;
  C.clusterPorts = options?.clusterNamedPorts;
  C.destination = flow.destination;
  const l4 = flow.l4;
  C.proto = l4 === null ? null : l4.protocol;
  // ICMP rules match the ICMP type where other rules match the destination port.
  C.port = l4 === null ? 0 : l4.icmpType !== null ? l4.icmpType : l4.destinationPort;
  C.explain = false;
  C.flow = flow;
  C.baseSide = null;
  const e = sides.egress ? evaluateSide(C, 'egress', flow.source, flow.destination, flow) : null;
  // Change sets: evaluateSide leaves *before*'s verdict of a side in baseSide (null where the
  // side is decided without policies: the same under both sets); it returns *after*'s.
  const eBase = C.baseSide ?? e;
  C.baseSide = null;
  const i = sides.ingress ? evaluateSide(C, 'ingress', flow.destination, flow.source, flow) : null;
  const iBase = C.baseSide ?? i;
  const combined = assemble(C, e, i);
  if (C.set.brownfield) C.baseEvaluation = eBase === e && iBase === i ? combined : assemble(C, eBase, iBase);
  return combined;
}

function assemble(C: MatchContext, e: SideResult | null, i: SideResult | null): Evaluation {
  if (e === null) return i === null ? NO_SIDE : alone(i, 'ingress');
  if (i === null) return alone(e, 'egress');
  return combine(C, e, i);
}
