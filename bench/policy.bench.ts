/**
 * Policy-engine throughput (issue 2 item 8): evaluations per second over the real 400-TCP
 * capture, repeated, against 1, 10, 20 and 100 contracts of 10 policies each, the way the agent
 * calls the engine (every flow × every contract; egress where source.ID is set, ingress where
 * destination.ID is set). Parse cost is measured separately. Prints tables; asserts nothing.
 *
 * Contracts are generated over the capture's namespaces and labels: every fifth one locks
 * bookinfo down (its policies select the capture's pods); the others hold policies for other
 * namespaces or for bookinfo apps absent from the capture, so they cannot select the flows'
 * pods. "fresh objects" rotates through separately parsed copies of the capture, so identity
 * memo hits must compare labels by content, as in the agent where every flow is a new object.
 */
import { createEvaluator, type PolicyEvaluator } from '../core/policy/index.js';
import { CAPTURE, captureCopies, captureLines, contracts, fmt, parseCapture, POLICIES_PER_CONTRACT } from './policy-fixtures.js';

const CONTRACT_COUNTS = [1, 10, 20, 100];
const SECONDS_PER_RUN = 1.5;
const COPIES = 8;

function main(): void {
  const lines = captureLines();

  // Parse cost, on its own.
  let parsed = 0;
  const parseStart = performance.now();
  while (performance.now() - parseStart < 1000) {
    parseCapture(lines);
    parsed += lines.length;
  }
  const parseSeconds = (performance.now() - parseStart) / 1000;
  const { copies, sides } = captureCopies(lines, COPIES);
  const flows = copies[0]!;
  process.stdout.write(`capture: ${CAPTURE} (${lines.length} lines, ${flows.length} flows)\n`);
  process.stdout.write(`parse (parseHubbleLine): ${fmt(parsed / parseSeconds)} lines/s, ${((parseSeconds / parsed) * 1e6).toFixed(2)} µs/line\n\n`);

  const header = 'contracts | policies | compile ms | mode           | evaluations | evals/s    | ns/eval | ns/flow (all contracts)\n';
  process.stdout.write(header);
  process.stdout.write('-'.repeat(header.length - 1) + '\n');
  for (const count of CONTRACT_COUNTS) {
    const manifests = contracts(count);
    const compileStart = performance.now();
    const sets: PolicyEvaluator[] = manifests.map((ps) => createEvaluator(ps));
    const compileMs = performance.now() - compileStart;
    // Cold: a freshly compiled set per pass, so every identity and edge is a first sighting
    // (the compile itself is not timed). This is the cost before the memo tables fill.
    {
      let evaluations = 0;
      let seconds = 0;
      let passes = 0;
      while (seconds < SECONDS_PER_RUN / 3) {
        const fresh = manifests.map((ps) => createEvaluator(ps));
        const batch = copies[passes % COPIES]!;
        const start = performance.now();
        for (let i = 0; i < batch.length; i++) for (let c = 0; c < fresh.length; c++) fresh[c]!.evaluate(batch[i]!, sides[i]!);
        seconds += (performance.now() - start) / 1000;
        evaluations += batch.length * fresh.length;
        passes++;
      }
      const perEval = (seconds / evaluations) * 1e9;
      process.stdout.write(
        `${String(count).padStart(9)} | ${String(count * POLICIES_PER_CONTRACT).padStart(8)} | ${compileMs.toFixed(1).padStart(10)} | ${'cold memo'.padEnd(14)} | ${fmt(evaluations).padStart(11)} | ${fmt(evaluations / seconds).padStart(10)} | ${perEval.toFixed(0).padStart(7)} | ${(perEval * count).toFixed(0).padStart(6)}\n`,
      );
    }
    for (const mode of ['same objects', 'fresh objects'] as const) {
      // Warm up (JIT, memo tables), then measure whole passes over the capture for ~SECONDS_PER_RUN.
      for (const s of sets) for (let i = 0; i < flows.length; i++) s.evaluate(flows[i]!, sides[i]!);
      globalThis.gc?.();
      let evaluations = 0;
      let passes = 0;
      let sink = 0;
      const start = performance.now();
      while (performance.now() - start < SECONDS_PER_RUN * 1000) {
        const batch = mode === 'same objects' ? flows : copies[passes % COPIES]!;
        for (let i = 0; i < batch.length; i++) {
          const f = batch[i]!;
          const sd = sides[i]!;
          for (let c = 0; c < sets.length; c++) {
            if (sets[c]!.evaluate(f, sd).verdict === 'deny') sink++;
          }
        }
        evaluations += batch.length * sets.length;
        passes++;
      }
      const seconds = (performance.now() - start) / 1000;
      const perEval = (seconds / evaluations) * 1e9;
      process.stdout.write(
        `${String(count).padStart(9)} | ${String(count * POLICIES_PER_CONTRACT).padStart(8)} | ${compileMs.toFixed(1).padStart(10)} | ${mode.padEnd(14)} | ${fmt(evaluations).padStart(11)} | ${fmt(evaluations / seconds).padStart(10)} | ${perEval.toFixed(0).padStart(7)} | ${(perEval * count).toFixed(0).padStart(6)}   (denies seen: ${fmt(sink / passes)}/pass)\n`,
      );
    }
  }
}

main();
