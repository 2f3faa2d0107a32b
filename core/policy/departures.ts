/**
 * Where Cilium enforces a NetworkPolicy differently from the upstream text (netpol.md section
 * 4, docs/cilium-policies.md): the engine follows Cilium, and each policy whose verdicts the
 * difference can change gets a warning naming it, so the user knows why a prediction is not
 * what the text says.
 */
import { childPath, problem, type Problem } from '../common/index.js';
import { isCiliumPolicy, policyRef, type Policy } from './policy.js';

/** Warnings for the policies of `policies` whose enforcement by Cilium departs from the upstream text. `path` prefixes each policy's index. */
export function ciliumDepartures(policies: readonly Policy[], path: (index: number) => string = (i) => `policies[${i}]`): Problem[] {
  const out: Problem[] = [];
  policies.forEach((p, i) => {
    if (isCiliumPolicy(p)) return;
    const at = path(i);
    const ref = policyRef(p);
    if ((p.unlistedIngress?.length ?? 0) > 0) {
      out.push(problem(childPath(childPath(at, 'spec'), 'ingress'), `${ref}: policyTypes does not list Ingress, but Cilium enforces these ingress rules anyway (and isolates ingress); verdicts follow Cilium`));
    }
    if ((p.unlistedEgress?.length ?? 0) > 0) {
      out.push(problem(childPath(childPath(at, 'spec'), 'egress'), `${ref}: policyTypes does not list Egress, but Cilium enforces these egress rules anyway (and isolates egress); verdicts follow Cilium`));
    }
    const ingress = [...p.ingress, ...(p.unlistedIngress ?? [])];
    ingress.forEach((r, j) => {
      if (r.peers.some((peer) => peer.kind === 'ipBlock')) {
        out.push(problem(childPath(childPath(childPath(at, 'spec'), 'ingress'), j), `${ref}: Cilium also admits every pod of namespace ${p.namespace} through this rule's ipBlock peer (policy-default-local-cluster); verdicts follow Cilium`));
      }
    });
    const egress = [...p.egress, ...(p.unlistedEgress ?? [])];
    egress.forEach((r, j) => {
      const named = r.ports.filter((port) => typeof port.port === 'string').map((port) => port.port as string);
      if (named.length > 0) {
        out.push(
          problem(
            childPath(childPath(childPath(at, 'spec'), 'egress'), j),
            `${ref}: Cilium resolves egress named port${named.length > 1 ? 's' : ''} ${named.join(', ')} over every pod of the cluster, not on the destination (one number opens it toward every peer of the rule; several numbers open nothing); verdicts follow Cilium`,
          ),
        );
      }
    });
  });
  return out;
}
