/**
 * What holds a contract besides its document, each problem once (core/rollout blockers): a
 * collision the change check names under a path is not listed again from the actuator's own
 * clash check; the actuator's other problems, and the enrollment ones, stay.
 */
import { describe, expect, it } from 'vitest';
import { actuationProblems } from '../../../../core/rollout/index.js';

describe('actuationProblems', () => {
  it('leaves out an actuator problem at a path the change check names, keeps the rest in order', () => {
    const change = [{ path: 'spec.policies[0]', message: "NetworkPolicy shop/web already exists and is not the contract's: name it in spec.replaces to rewrite it" }];
    const actuator = [
      { path: 'spec.policies[0]', message: 'NetworkPolicy shop/web already exists and is not managed by Rampart; it is never overwritten' },
      { path: 'spec.policies[1]', message: 'NetworkPolicy shop/api is managed by contract other; it is never overwritten' },
      { path: 'spec.removes[0]', message: 'CiliumClusterwideNetworkPolicy host selects nodes (spec.nodeSelector)' },
    ];
    const enrollment = [{ path: 'spec.rollout.stages[1]', message: 'the enrollment label does not reach the identities' }];
    expect(actuationProblems(change, actuator, enrollment)).toEqual([change[0], actuator[1], actuator[2], enrollment[0]]);
    // Without a change check (the baseline not known yet) the actuator's clash is the one reported.
    expect(actuationProblems([], actuator, [])).toEqual(actuator);
  });
});
