import { describe, expect, it } from 'vitest';
import { appliedStageOf, enforcementOf } from '../../../core/rollout/applied-stage.js';
import { LocalActuator } from '../../../controlplane/actuation/local-actuator.js';
import { enrollmentBucket, parseContract } from '../../../core/contract/index.js';
import { aContract, contractDoc } from '../../support/window-builders.js';

function namespacesContract() {
  const doc = contractDoc({ name: 'by-ns' }) as { spec: { rollout: unknown } };
  doc.spec.rollout = {
    strategy: 'namespaces',
    stages: [
      { name: 'monitor', minDuration: '1s' },
      { name: 'dev', namespaces: ['dev'], minDuration: '1s' },
      { name: 'prod', namespaces: ['payments', 'shop'], minDuration: '1s' },
    ],
  };
  const r = parseContract(doc);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

describe('enforcementOf', () => {
  it('namespace stages enforce their namespaces and every earlier stage’s', () => {
    const c = namespacesContract();
    expect(enforcementOf(c.spec.stages, 0)).toEqual({ mode: 'monitor' });
    expect(enforcementOf(c.spec.stages, 1)).toEqual({ mode: 'namespaces', namespaces: ['dev'] });
    expect(enforcementOf(c.spec.stages, 2)).toEqual({ mode: 'namespaces', namespaces: ['dev', 'payments', 'shop'] });
  });

  it('percent stages carry their percentage; out of range is monitor', () => {
    const c = aContract();
    expect(enforcementOf(c.spec.stages, 2)).toEqual({ mode: 'percent', percent: 50 });
    expect(enforcementOf(c.spec.stages, 9)).toEqual({ mode: 'monitor' });
  });
});

describe('LocalActuator', () => {
  it('records what each stage enforces, pods by the monotonic enrollment hash', async () => {
    const a = new LocalActuator();
    const c = aContract();
    const pods = Array.from({ length: 200 }, (_, i) => `pod-${i}`);
    const enforced = async (stage: number) => {
      await a.apply(appliedStageOf(c, 1, stage));
      return pods.filter((p) => a.enforces(c.name, 'shop', p));
    };
    expect(await enforced(0)).toEqual([]);
    const ten = await enforced(1);
    const fifty = await enforced(2);
    const all = await enforced(3);
    expect(all).toHaveLength(200);
    expect(ten.every((p) => fifty.includes(p))).toBe(true);
    expect(ten.every((p) => enrollmentBucket(c.name, 'shop', p) < 10)).toBe(true);
    expect(ten.length).toBeGreaterThan(5);
    expect(ten.length).toBeLessThan(40);
    expect(a.applied(c.name)).toMatchObject({ stageIndex: 3, stageName: 'full', mode: 'percent', percent: 100, policies: c.spec.rawPolicies });
    await a.remove(c.name);
    expect(a.applied(c.name)).toBeNull();
    expect(a.enforces(c.name, 'shop', 'pod-1')).toBe(false);
  });

  it('namespace stages enforce by namespace', async () => {
    const a = new LocalActuator();
    const c = namespacesContract();
    await a.apply(appliedStageOf(c, 1, 2));
    expect(a.enforces('by-ns', 'dev', 'x')).toBe(true);
    expect(a.enforces('by-ns', 'shop', 'x')).toBe(true);
    expect(a.enforces('by-ns', 'kube-system', 'x')).toBe(false);
  });
});
