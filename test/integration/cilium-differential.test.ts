/**
 * Differential test of the policy engine against Cilium's own (test/support/cilium-judge: the
 * pkg/policy repository of the pinned Cilium module, with the agent's NetworkPolicy and CNP
 * translation): hand cases for every rule of product.md "Cilium policies" and netpol.md
 * section 4, then seeded random worlds mixing NetworkPolicy, CNP and CCNP. Every connection
 * side must get the same verdict from both engines (docs/cilium-policies.md lists what is
 * deliberately outside the comparison).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCiliumJudge, type CiliumJudge } from '../support/cilium-judge.js';
import { HAND_CASES } from '../support/cilium-hand-cases.js';
import { randomWorld } from '../support/cilium-random.js';
import { compareWorld, judgeRequest, type World } from '../support/cilium-worlds.js';


let judge: CiliumJudge;

beforeAll(async () => {
  judge = await startCiliumJudge();
}, 30 * 60_000);

afterAll(async () => {
  await judge?.close();
});

function show(d: ReturnType<typeof compareWorld>['disagreements'][number]): string {
  return `${d.side}: rampart ${d.rampart}, cilium ${d.cilium} for case ${JSON.stringify(d.case)} (${d.reason})\npolicies: ${JSON.stringify(d.world.policies)}`;
}

describe('Rampart agrees with Cilium\'s policy engine', () => {
  it.each(HAND_CASES)('$name', async (hand) => {
    const world: World = { policies: hand.policies, endpoints: hand.endpoints, cases: [hand.case] };
    const cilium = await judge.judge(judgeRequest(world));
    // The hand case states what Cilium does; both engines must say it.
    expect(cilium[0]![hand.side], 'Cilium\'s engine').toBe(hand.expect);
    const { disagreements } = compareWorld(world, cilium);
    expect(disagreements.map(show)).toEqual([]);
  });

  it('on 6,000 seeded random connections (NetworkPolicy, CNP and CCNP mixed, deny rules included)', async () => {
    const seed = Number(process.env['CILIUM_DIFF_SEED'] ?? 20_260_101);
    const worlds = Array.from({ length: 400 }, (_, i) => randomWorld(seed + i, 15));
    let sides = 0;
    let cases = 0;
    const disagreements: string[] = [];
    // One request per world; the judge answers them in order on one process.
    const answers = await Promise.all(worlds.map((w) => judge.judge(judgeRequest(w))));
    worlds.forEach((world, i) => {
      const result = compareWorld(world, answers[i]!);
      sides += result.sides;
      cases += world.cases.length;
      disagreements.push(...result.disagreements.map(show));
    });
    console.log(`cilium differential: ${cases} connections, ${sides} sides, ${disagreements.length} disagreements (seed ${seed})`);
    expect(cases).toBeGreaterThanOrEqual(5000);
    expect(disagreements.slice(0, 5)).toEqual([]);
  }, 120_000);
});
