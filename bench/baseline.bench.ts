/**
 * Change evaluation throughput (issues 12 and 19): a baseline B of 200 policies already in
 * force and 20 contracts, each judged as a change of it (createChangeEvaluator, compiled once
 * per (baseline, contract) pair): adding its policies, and replacing 5 policies of B that
 * decide the capture's sides (*before* = B, *after* = (B − R) ∪ P, both verdicts from one
 * pass per side), over the real 400-TCP capture the way the agent calls the
 * engine (every flow × every contract; egress where source.ID is set, ingress where
 * destination.ID is set). Printed beside today's contract-only figure (createEvaluator over the
 * contract alone) on the same flows, in one process on one core. Target: ≥ 1,000,000 side
 * evaluations per second. Prints a table; asserts nothing.
 *
 * The baseline locks bookinfo down and admits the capture's real edges (so it selects the
 * flows' pods and decides their sides), plus 190 policies for other namespaces and apps.
 * "fresh objects" rotates through separately parsed copies of the capture, as in the agent
 * where every flow is a new object.
 */
import { createChangeEvaluator, createEvaluator, identityOf, type ChangeEvaluator, type EvaluatedSides, type NetworkPolicy } from '../core/policy/index.js';
import type { Flow } from '../core/flow/index.js';
import { CAPTURE, bookinfoLockdown, captureCopies, captureLines, contracts, elsewhere, fmt, measureSides, type ObjectMode } from './policy-fixtures.js';

const BASELINE_POLICIES = 200;
const CONTRACTS = 20;
const REPLACED = 5;
const SECONDS_PER_RUN = 1.5;
const COPIES = 8;

function baselinePolicies(): NetworkPolicy[] {
  const out = bookinfoLockdown(9000);
  for (let i = 1000; out.length < BASELINE_POLICIES; i++) out.push(...elsewhere(i));
  return out.slice(0, BASELINE_POLICIES);
}

interface Run {
  readonly evaluations: number;
  readonly sides: number;
  readonly seconds: number;
}

/** measureSides over SECONDS_PER_RUN, with the connection evaluations it made (`perFlow` evaluators per flow). */
function measure(copies: readonly (readonly Flow[])[], sides: readonly EvaluatedSides[], mode: ObjectMode, evaluate: (flow: Flow, sides: EvaluatedSides) => number, perFlow: number): Run {
  const run = measureSides(copies, sides, mode, SECONDS_PER_RUN, evaluate);
  return { evaluations: run.passes * copies[0]!.length * perFlow, sides: run.sides, seconds: run.seconds };
}

function main(): void {
  const lines = captureLines();
  const { copies, sides } = captureCopies(lines, COPIES);
  const flows = copies[0]!;
  const baseline = baselinePolicies();
  const proposals = contracts(CONTRACTS);

  let started = performance.now();
  const plain = proposals.map((ps) => createEvaluator(ps));
  const plainMs = performance.now() - started;
  started = performance.now();
  const paired = proposals.map((ps) => createChangeEvaluator({ baseline, proposed: ps }));
  const pairedMs = performance.now() - started;
  // Each contract also rewrites 5 of the bookinfo policies that decide the capture's sides.
  const replaced = baseline.filter((p) => p.namespace === 'bookinfo').slice(0, REPLACED);
  const replacing = proposals.map((ps) => createChangeEvaluator({ baseline, proposed: [...ps, ...replaced.map((p) => ({ ...p }))], removed: replaced.map(identityOf) }));

  process.stdout.write(`capture: ${CAPTURE} (${flows.length} flows); baseline: ${baseline.length} policies; contracts: ${proposals.length} (${proposals.reduce((n, p) => n + p.length, 0)} policies)\n`);
  process.stdout.write(`compile: contract-only ${plainMs.toFixed(1)} ms, baseline pairs ${pairedMs.toFixed(1)} ms (${CONTRACTS} pairs)\n`);
  process.stdout.write(`replacing: ${replaced.length} baseline policies (${replaced.map((p) => p.name).join(', ')})\n\n`);
  const header = 'evaluator                   | mode           | connection evals | side evals  | side evals/s | ns/side\n';
  process.stdout.write(header + '-'.repeat(header.length - 1) + '\n');

  let newlyDenied = 0;
  let alreadyDenied = 0;
  const changeSides = (evaluators: readonly ChangeEvaluator[], f: Flow, sd: EvaluatedSides): number => {
    let n = 0;
    for (let c = 0; c < evaluators.length; c++) {
      const r = evaluators[c]!.evaluate(f, sd);
      if (r.egress !== 'none') n++;
      if (r.ingress !== 'none') n++;
      if (r.egress === 'newly-denied') newlyDenied++;
      else if (r.egress === 'already-denied') alreadyDenied++;
      if (r.ingress === 'newly-denied') newlyDenied++;
      else if (r.ingress === 'already-denied') alreadyDenied++;
    }
    return n;
  };
  for (const mode of ['same objects', 'fresh objects'] as const) {
    const rows: [string, Run][] = [
      [
        'contract only (today)',
        measure(
          copies,
          sides,
          mode,
          (f, sd) => {
            let n = 0;
            for (let c = 0; c < plain.length; c++) {
              const e = plain[c]!.evaluate(f, sd);
              if (e.egress !== 'none') n++;
              if (e.ingress !== 'none') n++;
            }
            return n;
          },
          plain.length,
        ),
      ],
      ['change: B ∪ P', measure(copies, sides, mode, (f, sd) => changeSides(paired, f, sd), paired.length)],
      [`change: (B − ${REPLACED}) ∪ P`, measure(copies, sides, mode, (f, sd) => changeSides(replacing, f, sd), replacing.length)],
    ];
    for (const [name, run] of rows) {
      process.stdout.write(
        `${name.padEnd(27)} | ${mode.padEnd(14)} | ${fmt(run.evaluations).padStart(16)} | ${fmt(run.sides).padStart(11)} | ${fmt(run.sides / run.seconds).padStart(12)} | ${((run.seconds / run.sides) * 1e9).toFixed(0).padStart(7)}\n`,
      );
    }
  }
  process.stdout.write(`\n(sides seen newly denied: ${fmt(newlyDenied)}, already denied: ${fmt(alreadyDenied)}; target ≥ 1,000,000 side evals/s on one core)\n`);
}

main();
