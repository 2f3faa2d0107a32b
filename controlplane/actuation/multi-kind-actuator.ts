/**
 * One Kubernetes actuator per policy kind, behind the one actuator interface: NetworkPolicies
 * (which also writes the enrollment labels), and CiliumNetworkPolicies and
 * CiliumClusterwideNetworkPolicies where Cilium's CRDs are installed (product.md "Cilium
 * policies"). A stage is applied when every kind's part of it is; a contract holding a Cilium
 * policy on a cluster without the CRD is blocked with a problem naming it, and the kind is
 * asked for again (at most every `probeMs`) while a stage needs it, so a CRD installed after
 * the control plane started is used from then on.
 */
import { problem, type Logger, type Problem } from '../../core/common/index.js';
import type { AppliedStage } from '../../core/rollout/index.js';
import { CILIUM_POLICY_APIS, policyApiAvailable, type PolicyKindApi } from '../../io/kube/policy-kinds.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { policyRefs } from './desired-state.js';
import type { ActuationStatus, ActuatorStats, KubernetesActuator } from './kubernetes-actuator.js';

export interface KindActuator {
  readonly api: PolicyKindApi;
  readonly actuator: KubernetesActuator;
}

/** How often a kind a stage needs, and the cluster did not serve, is asked for again. */
export const KIND_PROBE_MS = 5_000;

export function createMultiKindActuator(kc: KubeConfig, log: Logger, networkPolicies: KubernetesActuator, cilium: readonly KindActuator[], probeMs = KIND_PROBE_MS): KubernetesActuator {
  /** The Cilium kinds this cluster serves (known after start). */
  const available = new Set<PolicyKindApi>();
  const lastProbeMs = new Map<PolicyKindApi, number>();
  let started: AbortSignal | null = null;
  const missing = new Map<string, readonly Problem[]>();
  const active = (): KubernetesActuator[] => [networkPolicies, ...cilium.filter((c) => available.has(c.api)).map((c) => c.actuator)];
  const listeners: (() => void)[] = [];

  function missingKinds(stage: AppliedStage): Problem[] {
    const out: Problem[] = [];
    for (const { api } of cilium) {
      if (available.has(api)) continue;
      for (const ref of policyRefs(stage, api.kind)) {
        out.push(problem(`spec.policies[${ref.index}]`, `${api.kind} ${ref.name} cannot be applied: the cluster does not serve ${api.plural}.${api.group} (Cilium's CRDs are not installed)`));
      }
    }
    return out;
  }

  async function served(api: PolicyKindApi): Promise<boolean> {
    lastProbeMs.set(api, Date.now());
    try {
      return await policyApiAvailable(kc, api);
    } catch (e) {
      log.warn('cannot tell whether a Cilium policy kind is served; treating it as absent', { kind: api.kind, err: { message: e instanceof Error ? e.message : String(e) } });
      return false;
    }
  }

  /** Asks again for the kinds this stage needs that were absent; starts the actuator of each that is served now. */
  async function probeNeeded(stage: AppliedStage): Promise<void> {
    for (const c of cilium) {
      if (available.has(c.api) || started === null || started.aborted || policyRefs(stage, c.api.kind).length === 0) continue;
      if (Date.now() - (lastProbeMs.get(c.api) ?? 0) < probeMs || !(await served(c.api))) continue;
      await c.actuator.start(started);
      available.add(c.api);
      log.info('the cluster serves a Cilium policy kind now; applying it', { kind: c.api.kind });
    }
  }

  return {
    async start(signal: AbortSignal): Promise<void> {
      started = signal;
      for (const c of CILIUM_POLICY_APIS) if (await served(c)) available.add(c);
      await Promise.all(active().map((a) => a.start(signal)));
    },
    async apply(stage: AppliedStage): Promise<void> {
      if (missingKinds(stage).length > 0) await probeNeeded(stage);
      const problems = missingKinds(stage);
      if (problems.length > 0) {
        missing.set(stage.contract, problems);
        for (const l of listeners) l();
        throw new Error(problems.map((p) => p.message).join('; '));
      }
      if (missing.delete(stage.contract)) for (const l of listeners) l();
      await Promise.all(active().map((a) => a.apply(stage)));
    },
    async remove(contract: string): Promise<void> {
      missing.delete(contract);
      await Promise.all(active().map((a) => a.remove(contract)));
    },
    problems(contract: string): readonly Problem[] {
      return [...(missing.get(contract) ?? []), ...active().flatMap((a) => a.problems(contract))];
    },
    enrollLabel(contract: string): string {
      return networkPolicies.enrollLabel(contract);
    },
    onChange(listener: () => void): void {
      listeners.push(listener);
      for (const a of [networkPolicies, ...cilium.map((c) => c.actuator)]) a.onChange(listener);
    },
    status(contract: string): ActuationStatus {
      const all = active().map((a) => a.status(contract));
      const first = all[0]!;
      // Applied only when every kind has applied the same stage.
      const appliedKey = all.every((s) => s.appliedKey === first.appliedKey) ? first.appliedKey : null;
      return {
        appliedKey,
        wantedKey: first.wantedKey,
        policies: all.reduce((n, s) => n + s.policies, 0),
        enrolledPods: first.enrolledPods,
        lastError: all.map((s) => s.lastError).find((e) => e !== null) ?? null,
      };
    },
    stats(): ActuatorStats {
      const all = active().map((a) => a.stats());
      return {
        policyWrites: all.reduce((n, s) => n + s.policyWrites, 0),
        policyDeletes: all.reduce((n, s) => n + s.policyDeletes, 0),
        labelWrites: all.reduce((n, s) => n + s.labelWrites, 0),
        driftCorrections: all.reduce((n, s) => n + s.driftCorrections, 0),
        syncs: all.reduce((n, s) => n + s.syncs, 0),
        podEnrollLatenciesMs: all[0]!.podEnrollLatenciesMs,
      };
    },
    resyncAll(): void {
      for (const a of active()) a.resyncAll();
    },
    async idle(): Promise<void> {
      for (const a of active()) await a.idle();
    },
    originals: {
      selectors: (stage) => active().flatMap((a) => a.originals.selectors(stage)),
      excluded: (contract) => active().some((a) => a.originals.excluded(contract)),
      onChange: (listener) => {
        for (const a of [networkPolicies, ...cilium.map((c) => c.actuator)]) a.originals.onChange(listener);
      },
    },
  };
}
