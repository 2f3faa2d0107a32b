/**
 * `rampart evaluate --policies <file|dir> --flows <file|-> [--pods <file>] [--baseline <file|dir>] [--format jsonl|table]`
 * (product.md "Interfaces"): what the proposed policies would do to recorded Hubble flows.
 *
 * `--baseline`: the policies already in force (product.md "What is already enforced", "Changes
 * to what is enforced"). Each connection is judged as a change of the enforced set: *before*
 * = the baseline B, every policy of it; *after* = (B − R) ∪ policies, R being what contract
 * files name in `replaces`/`removes` and every baseline policy a proposed one has the
 * namespace/name of (a replacement, said on stderr: core/contract/file-change.ts). Every jsonl line
 * also carries `change` (same | newly-denied | newly-allowed) and `baseline` (each side's
 * verdict under *before*), the other fields give *after*'s verdict, and exit 1 means some
 * side is newly denied (already-denied sides never fail). When R is not empty every line
 * also names the replaced and removed policies that decided one of its sides under *before*
 * (`replaced`, `removed`) and the table lists R. Without `--baseline` the output is exactly as before.
 *
 * Output (jsonl, the default): one line per input line, in order, `index` counting input
 * lines from 0. Lines that are not counted connection starts (replies, duplicates, L7, lost
 * events, node status, blank lines) print `"verdict":"skip"` with the reason. Flows are
 * classified exactly as the agent classifies them (core/flow ConnectionTracker), so the two
 * give one answer for one capture: sides follow the node rule (egress where `source.ID` is
 * set, ingress where `destination.ID` is), and a flow with neither is `skip` with reason
 * `no-local-endpoint` (visible in the output, never silently dropped).
 *
 * Exit codes: 0 nothing denied; 1 some flow denied; 2 bad input. A malformed flow line is
 * reported on stderr as `file:line: what was expected`, printed as a skip line, counted, and
 * processing CONTINUES (one bad line in a long capture should not hide the verdicts of the
 * rest); the exit code is then 2, whatever the verdicts. Bad policies or pods files stop
 * before any flow is read (exit 2): evaluating against a partial policy set would mislead.
 * Exit 2 also when the output cannot be written (EPIPE from `| head` exits 2 silently).
 */
import { once } from 'node:events';
import { stderr, stdout } from 'node:process';
import { err, formatProblems, ok, type Problem, type Result } from '../../core/common/index.js';
import { changeFromFiles, type FileChange } from '../../core/contract/index.js';
import { ConnectionTracker, parseHubbleLine, type Flow } from '../../core/flow/index.js';
import { createChangeEvaluator, createEvaluator, type ChangeEvaluator, type EvaluatedSides, type EvaluateOptions, type PolicyEvaluator } from '../../core/policy/index.js';
import { formatFlagProblems, parseFlags, readOneOf, readRequired } from '../../io/flags.js';
import { openLineSource } from '../../io/line-source.js';
import { loadPolicyManifests } from '../../io/manifest-files.js';
import { loadPodPorts } from '../../io/pod-ports.js';
import { formatJsonl, skipResult, TableReport, type LineResult } from './evaluate-report.js';

const USAGE = `usage: rampart evaluate --policies <file|dir> --flows <file|-> [--pods <file>] [--baseline <file|dir>] [--format jsonl|table]

  --policies  NetworkPolicies (YAML/JSON, multi-document, a List, or a RampContract with its replaces/removes), or a folder of them
  --flows     hubble observe -o json lines; - reads stdin
  --pods      kubectl get pods -A -o json, to resolve named ports
  --baseline  NetworkPolicies already in force (same formats); verdicts become changes against them, a
              same-named policy of --policies replacing the baseline's
  --format    jsonl (default: one line per input line) or table (a summary for people)
  --namespace the namespace of policies that name none (default: default)
  --strict    unknown fields in the policies are errors, not warnings (as kubectl --validate=strict)

exit: 0 nothing denied, 1 some flow denied (with --baseline: some side newly denied), 2 bad input
`;

/** Output is written in chunks of about this many characters (and waits for 'drain'). */
const WRITE_CHUNK_CHARS = 64 * 1024;
/** After this many malformed lines, stop echoing each to stderr (they are still counted). */
const MAX_REPORTED_BAD_LINES = 20;

interface Options {
  readonly policies: string;
  readonly flows: string;
  readonly pods: string | null;
  readonly baseline: string | null;
  readonly format: 'jsonl' | 'table';
  readonly load: { readonly namespace: string | null; readonly strict: boolean };
}

const FLAGS = {
  policies: { type: 'string' },
  flows: { type: 'string' },
  pods: { type: 'string' },
  baseline: { type: 'string' },
  format: { type: 'string', default: 'jsonl' },
  namespace: { type: 'string' },
  strict: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The options, null for --help, or the usage problems. */
function parseOptions(args: readonly string[]): Result<Options | null, readonly Problem[]> {
  const { values, problems } = parseFlags(args, FLAGS);
  if (problems.length > 0) return err(problems);
  if (values.help === true) return ok(null);
  const policies = readRequired(values.policies, '--policies');
  const flows = readRequired(values.flows, '--flows');
  const format = readOneOf(values.format, '--format', ['jsonl', 'table']);
  const bad = [policies, flows, format].flatMap((r) => (r.ok ? [] : [r.error]));
  if (!policies.ok || !flows.ok || !format.ok) return err(bad);
  return ok({ policies: policies.value, flows: flows.value, pods: values.pods ?? null, baseline: values.baseline ?? null, format: format.value, load: { namespace: values.namespace ?? null, strict: values.strict === true } });
}

const EGRESS_ONLY = { egress: true, ingress: false } as const;
const INGRESS_ONLY = { egress: false, ingress: true } as const;

/**
 * The replaced and removed policies that decided some side of a connection under *before*
 * (admitted it, or isolated it where it is denied). Each side is asked on its own, as an
 * evaluation names only the deciding side's policies when the sides disagree; only runs
 * when the change takes policies out of the baseline.
 */
function takenOutOf(changed: FileChange, evaluator: ChangeEvaluator, flow: Flow, sides: EvaluatedSides, options: EvaluateOptions): { replaced: string[]; removed: string[] } {
  const decided = new Set<string>();
  for (const only of [EGRESS_ONLY, INGRESS_ONLY]) {
    if ((only.egress && !sides.egress) || (only.ingress && !sides.ingress)) continue;
    for (const ref of evaluator.evaluate(flow, only, options).before.policies) decided.add(ref);
  }
  return { replaced: changed.replaced.filter((r) => decided.has(r)), removed: changed.removed.filter((r) => decided.has(r)) };
}

function reportProblems(problems: readonly Problem[]): void {
  stderr.write(`${formatProblems(problems)}\n`);
}

/**
 * Buffered stdout that honours backpressure. A write error (EPIPE when the reader, e.g.
 * `head`, has gone) is recorded instead of thrown, and the run stops reading.
 */
class Output {
  #buffer: string[] = [];
  #size = 0;
  #error: Error | null = null;

  constructor() {
    stdout.on('error', (e: Error) => {
      this.#error ??= e;
    });
  }

  get error(): Error | null {
    return this.#error;
  }

  async write(line: string): Promise<void> {
    this.#buffer.push(line);
    this.#size += line.length + 1;
    if (this.#size >= WRITE_CHUNK_CHARS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#buffer.length === 0) return;
    const text = `${this.#buffer.join('\n')}\n`;
    this.#buffer = [];
    this.#size = 0;
    if (this.#error !== null) return;
    if (!stdout.write(text)) {
      try {
        await once(stdout, 'drain');
      } catch (e) {
        this.#error ??= e instanceof Error ? e : new Error(String(e));
      }
    }
  }
}

export async function run(args: readonly string[]): Promise<number> {
  const parsed = parseOptions(args);
  if (!parsed.ok) {
    stderr.write(formatFlagProblems('rampart evaluate', parsed.error, USAGE));
    return 2;
  }
  const options = parsed.value;
  if (options === null) {
    stdout.write(USAGE);
    return 0;
  }

  const loaded = await loadPolicyManifests(options.policies, options.load);
  if (!loaded.ok) {
    reportProblems(loaded.error);
    return 2;
  }
  for (const w of loaded.value.warnings) stderr.write(`rampart evaluate: warning: ${w.path}: ${w.message}\n`);
  const evaluateOptions: { namedPorts?: EvaluateOptions['namedPorts']; clusterNamedPorts?: EvaluateOptions['clusterNamedPorts'] } = {};
  if (options.pods !== null) {
    const pods = await loadPodPorts(options.pods);
    if (!pods.ok) {
      reportProblems(pods.error);
      return 2;
    }
    evaluateOptions.namedPorts = pods.value.lookup;
    // Cilium resolves egress named ports over every pod (netpol.md 4.3): the pods file is the cluster.
    evaluateOptions.clusterNamedPorts = pods.value.cluster;
  }
  let brownfield: ChangeEvaluator | null = null;
  let judgedChange: FileChange | null = null;
  if (options.baseline !== null) {
    const base = await loadPolicyManifests(options.baseline, options.load);
    if (!base.ok) {
      reportProblems(base.error);
      return 2;
    }
    for (const w of base.value.warnings) stderr.write(`rampart evaluate: warning: --baseline ${w.path}: ${w.message}\n`);
    judgedChange = changeFromFiles(loaded.value.policies, loaded.value.replaces, loaded.value.removes, base.value.policies);
    if (judgedChange.problems.length > 0) {
      reportProblems(judgedChange.problems);
      return 2;
    }
    for (const ref of judgedChange.implicit) stderr.write(`rampart evaluate: warning: --baseline policy ${ref} is replaced by the proposed policy of that name\n`);
    brownfield = createChangeEvaluator(judgedChange.change);
  }
  const source = await openLineSource(options.flows);
  if (!source.ok) {
    stderr.write(`${source.error}\n`);
    return 2;
  }

  const evaluator: PolicyEvaluator | null = brownfield === null ? createEvaluator(loaded.value.policies) : null;
  const tracker = new ConnectionTracker();
  const table = options.format === 'table' ? new TableReport(brownfield !== null, judgedChange ?? undefined) : null;
  // Lines name the replaced and removed policies only when there are some (else byte-identical).
  const changed = judgedChange !== null && judgedChange.replaced.length + judgedChange.removed.length > 0 ? judgedChange : null;
  const withBaseline = brownfield !== null;
  const out = new Output();
  let index = 0;
  let denied = 0;
  let newlyDenied = 0;
  let badLines = 0;
  let internalErrors = 0;

  const emit = async (result: LineResult, flow: Flow | null, skipCategory?: string): Promise<void> => {
    if (table !== null) table.add(result, flow, skipCategory);
    else await out.write(formatJsonl(result, withBaseline, changed !== null));
  };

  try {
    for await (const line of source.value.lines) {
      const lineNumber = index + 1;
      const parsed = parseHubbleLine(line);
      if (!parsed.ok) {
        badLines++;
        if (badLines <= MAX_REPORTED_BAD_LINES) stderr.write(`${source.value.name}:${lineNumber}: ${parsed.error}\n`);
        await emit(skipResult(index, null, `malformed line: ${parsed.error}`), null, 'malformed line');
      } else {
        const record = parsed.value;
        switch (record.kind) {
          case 'lost':
            table?.addLostEvents(record.count);
            await emit(skipResult(index, null, `lost_events: ${record.count} events lost (${record.source})`), null, 'lost_events');
            break;
          case 'other':
            await emit(skipResult(index, null, record.what), null, record.what);
            break;
          case 'flow': {
            const flow = record.flow;
            const c = tracker.classify(flow);
            if (c.kind === 'skip') {
              await emit(skipResult(index, flow.uuid, c.reason), flow, c.reason);
              break;
            }
            let e;
            let judged;
            let touched = {};
            try {
              if (brownfield !== null) {
                judged = brownfield.evaluate(flow, c, evaluateOptions);
                e = judged.after;
                if (changed !== null) touched = takenOutOf(changed, brownfield, flow, c, evaluateOptions);
              } else e = evaluator!.evaluate(flow, c, evaluateOptions);
            } catch (error) {
              // The engine returns values for every expected outcome; a throw is a bug. Report
              // it against the line, count it as bad, and keep going rather than crash.
              internalErrors++;
              stderr.write(`${source.value.name}:${lineNumber}: internal error evaluating this flow: ${error instanceof Error ? error.message : String(error)}\n`);
              await emit(skipResult(index, flow.uuid, 'internal error'), flow);
              break;
            }
            if (e.verdict === 'deny') denied++;
            const result: LineResult = { index, uuid: flow.uuid, verdict: e.verdict, egress: e.egress, ingress: e.ingress, policies: e.policies, reason: e.reason };
            if (judged === undefined) await emit(result, flow);
            else {
              if (judged.change === 'newly-denied') newlyDenied++;
              const before = judged.before;
              await emit({ ...result, change: judged.change, baseline: { egress: before.egress, ingress: before.ingress }, egressChange: judged.egress, ingressChange: judged.ingress, ...touched }, flow);
            }
            break;
          }
        }
      }
      index++;
      if (out.error !== null) break;
    }
  } catch (e) {
    await out.flush();
    stderr.write(`${source.value.name}:${index + 1}: cannot read: ${e instanceof Error ? e.message : String(e)}\n`);
    return 2;
  }
  await out.flush();
  if (out.error !== null) {
    // The reader went away (EPIPE from `| head`): nothing left to tell it.
    if ((out.error as NodeJS.ErrnoException).code !== 'EPIPE') stderr.write(`rampart evaluate: cannot write output: ${out.error.message}\n`);
    return 2;
  }

  if (table !== null) {
    const files = loaded.value.files.length;
    const against = brownfield === null ? '' : ` on top of a baseline from ${options.baseline}`;
    const title = `rampart evaluate: ${loaded.value.policies.length} policies from ${files} file${files === 1 ? '' : 's'}${against} against ${source.value.name}`;
    stdout.write(table.render(title));
  }
  if (badLines > 0) {
    const more = badLines > MAX_REPORTED_BAD_LINES ? ` (first ${MAX_REPORTED_BAD_LINES} shown)` : '';
    stderr.write(`rampart evaluate: ${badLines} malformed line${badLines === 1 ? '' : 's'} in ${source.value.name}${more}\n`);
    return 2;
  }
  if (internalErrors > 0) {
    stderr.write(`rampart evaluate: ${internalErrors} flow${internalErrors === 1 ? '' : 's'} could not be evaluated (internal error)\n`);
    return 2;
  }
  if (brownfield !== null) return newlyDenied > 0 ? 1 : 0;
  return denied > 0 ? 1 : 0;
}
