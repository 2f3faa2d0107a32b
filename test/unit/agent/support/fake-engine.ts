/**
 * A tiny policy engine for pipeline unit tests: a contract's "policies" are
 * `{ denyPorts: number[], unknownPorts?: number[] }`; anything else fails to compile.
 * Real policy semantics are core/policy's job and are exercised in the integration tests.
 */
import { err, ok, problem } from '../../../../core/common/index.js';
import type { Flow } from '../../../../core/flow/index.js';
import type { Classifier, PolicyEngine, SideResult } from '../../../../agent/monitor/ports.js';

export interface FakeSet {
  readonly deny: ReadonlySet<number>;
  readonly unknown: ReadonlySet<number>;
}

export const fakeEngine: PolicyEngine<FakeSet> & { compiles: number } = {
  compiles: 0,
  compile(policies) {
    this.compiles++;
    const deny = new Set<number>();
    const unknown = new Set<number>();
    const problems = [];
    for (const [i, p] of policies.entries()) {
      const rec = p as { denyPorts?: unknown; unknownPorts?: unknown };
      if (!Array.isArray(rec.denyPorts)) problems.push(problem(`[${i}].denyPorts`, 'expected a list of ports'));
      else for (const n of rec.denyPorts) deny.add(Number(n));
      if (Array.isArray(rec.unknownPorts)) for (const n of rec.unknownPorts) unknown.add(Number(n));
    }
    return problems.length > 0 ? err(problems) : ok({ deny, unknown });
  },
  evaluate(set, flow, sides) {
    const port = flow.l4?.destinationPort ?? 0;
    const v: SideResult = set.deny.has(port) ? 'deny' : set.unknown.has(port) ? 'indeterminate' : 'allow';
    return { egress: sides.egress ? v : 'none', ingress: sides.ingress ? v : 'none' };
  },
};

/** Every flow a connection; sides from the endpoint IDs, as core/flow's tracker decides them. */
export const everyFlowClassifier: Classifier = {
  classify(flow: Flow) {
    const egress = flow.source.id !== null;
    const ingress = flow.destination.id !== null;
    return egress || ingress ? { kind: 'connection', egress, ingress } : { kind: 'skip', reason: 'no-local-endpoint' };
  },
};
