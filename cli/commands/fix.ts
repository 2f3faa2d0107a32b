/**
 * `rampart fix --policies <file> --flows <file>` (product.md "Authoring"): the NetworkPolicies
 * to add so that the flows the policies deny are admitted, and nothing else (core/authoring
 * smallestFix, verified by re-evaluation). `--policies` may be a RampContract; with
 * `--contract-out` the contract is written again with the fix appended to spec.policies.
 *
 * Exit: 0 every denied flow is fixed (or nothing was denied); 1 some denial cannot be fixed
 * by a rule (unknown identities); 2 bad input.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { stderr } from 'node:process';
import { parse as parseYaml, stringify } from 'yaml';
import { formatProblems } from '../../core/common/index.js';
import { asCiliumPolicies, BOTH_SIDES, evaluatorFor, ObservationSet, smallestFix } from '../../core/authoring/index.js';
import type { Flow } from '../../core/flow/index.js';
import { changeFromFiles } from '../../core/contract/index.js';
import { parsePolicy, policiesAfter, splitByKind, type Policy } from '../../core/policy/index.js';
import { readFlows } from '../../io/flow-reader.js';
import { writeOut } from '../../io/write-out.js';
import { loadPolicyManifests } from '../../io/manifest-files.js';
import { readOneOf, readRequired } from '../../io/flags.js';
import { commandFlags, usageError } from './command-flags.js';

const USAGE = `usage: rampart fix --policies <file|dir> --flows <file|-> [--baseline <file|dir>] [-o <file>] [--format yaml|json] [--contract-out <file>]

  --policies      NetworkPolicies or a RampContract (as for rampart evaluate)
  --flows         hubble observe -o json lines with the denied traffic; - reads stdin
  --baseline      NetworkPolicies already in force: only sides the policies newly deny are opened
  -o, --output    write the new policies here instead of stdout
  --format        yaml (default: multi-document) or json
  --contract-out  when --policies is one RampContract: write it with the fix appended
  --namespace     the namespace of policies that name none (default: default)
  --strict        unknown fields in the policies are errors, not warnings

exit: 0 fixed (or nothing denied), 1 some denial cannot be fixed by a rule, 2 bad input
`;

export async function run(args: readonly string[]): Promise<number> {
  const parsed = commandFlags('rampart fix', USAGE, args, {
    policies: { type: 'string' },
    flows: { type: 'string' },
    baseline: { type: 'string' },
    output: { type: 'string', short: 'o' },
    format: { type: 'string', default: 'yaml' },
    'contract-out': { type: 'string' },
    namespace: { type: 'string' },
    strict: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const policiesRead = readRequired(values.policies, '--policies');
  const flowsRead = readRequired(values.flows, '--flows');
  const formatRead = readOneOf(values.format, '--format', ['yaml', 'json']);
  if (!policiesRead.ok || !flowsRead.ok || !formatRead.ok) {
    return usageError('rampart fix', [policiesRead, flowsRead, formatRead].flatMap((r) => (r.ok ? [] : [r.error])), USAGE);
  }
  const policiesPath = policiesRead.value;
  const flowsPath = flowsRead.value;
  const load = { namespace: values.namespace ?? null, strict: values.strict === true };
  const loaded = await loadPolicyManifests(policiesPath, load);
  if (!loaded.ok) {
    stderr.write(`${formatProblems(loaded.error)}\n`);
    return 2;
  }
  for (const w of loaded.value.warnings) stderr.write(`rampart fix: warning: ${w.path}: ${w.message}\n`);
  let baseline: readonly Policy[] = [];
  let all: readonly Policy[] = loaded.value.policies;
  if (values.baseline !== undefined) {
    const b = await loadPolicyManifests(values.baseline, load);
    if (!b.ok) {
      stderr.write(`${formatProblems(b.error)}\n`);
      return 2;
    }
    // The change from the baseline (all of it) to the baseline less what the policies replace
    // or remove (a same-named policy replaces the baseline's), plus the policies.
    const change = changeFromFiles(loaded.value.policies, loaded.value.replaces, loaded.value.removes, b.value.policies);
    if (change.problems.length > 0) {
      stderr.write(`${formatProblems(change.problems)}\n`);
      return 2;
    }
    baseline = b.value.policies;
    all = policiesAfter(change.change);
  }
  const npBaseline = baseline;
  // The fix is written in the kind of the policies it fixes: CNPs when they are all Cilium ones.
  const kinds = splitByKind(loaded.value.policies);
  const asCilium = kinds.network.length === 0 && kinds.cilium.length > 0;
  const obs = new ObservationSet();
  const r = await readFlows(flowsPath, (f) => obs.addFlow(f));
  if (r.badLines > 0) {
    stderr.write(`${formatProblems(r.problems)}\nrampart fix: ${r.badLines} malformed line${r.badLines === 1 ? '' : 's'} in ${r.name}\n`);
    return 2;
  }
  const ev = evaluatorFor(all);
  const denied: Flow[] = [];
  const others: Flow[] = [];
  for (const f of obs.representatives.values()) (ev.evaluate(f, BOTH_SIDES).verdict === 'deny' ? denied : others).push(f);
  const fix = smallestFix(all, denied, others, npBaseline.length > 0 ? { baseline: npBaseline } : {});
  if (!fix.ok) {
    stderr.write(`${formatProblems(fix.error)}\nrampart fix: no fix written\n`);
    return 2;
  }
  const f = fix.value;
  let fixPolicies: readonly Record<string, unknown>[] = f.policies;
  if (asCilium) {
    // The same rules as CiliumNetworkPolicies (toFQDNs where the flows carry DNS names), verified again.
    const names = new Map<string, string[]>();
    for (const d of denied) if (d.ip !== null && d.destinationNames !== undefined) names.set(d.ip.destination, [...d.destinationNames]);
    fixPolicies = asCiliumPolicies(f.policies, names);
    const parsed = fixPolicies.map((m, i) => parsePolicy(m, `fix[${i}]`));
    const after = evaluatorFor([...all, ...parsed.flatMap((p) => (p.ok ? [p.value] : []))]);
    const still = denied.filter((d) => after.evaluate(d, BOTH_SIDES).verdict === 'deny').length;
    if (parsed.some((p) => !p.ok) || still > 0) {
      stderr.write(`rampart fix: the CiliumNetworkPolicy form of the fix does not verify (${still} connections still denied)\n`);
      return 2;
    }
  }
  const kindName = asCilium ? 'CiliumNetworkPolic' : 'NetworkPolic';
  const header = [
    `# rampart fix: ${fixPolicies.length} ${kindName}${fixPolicies.length === 1 ? 'y' : 'ies'} to add to ${policiesPath}, admitting exactly:`,
    ...f.edges.map((e) => `#   ${e.side === 'egress' ? 'egress ' : 'ingress'} ${e.from} → ${e.to}:${e.port}/${e.protocol}  (${e.policy})`),
    `# verified: ${f.verification.allowedAfter} of ${f.verification.denied} denied connections allowed after it; ${f.verification.othersChecked} other connections unchanged`,
  ].join('\n');
  const body = values.format === 'json' ? `${JSON.stringify({ items: fixPolicies, edges: f.edges, unfixable: f.unfixable, verification: f.verification }, null, 2)}\n` : `${header}\n${fixPolicies.map((p) => `---\n${stringify(p, { lineWidth: 0, aliasDuplicateObjects: false })}`).join('')}`;
  if (values.output !== undefined) await writeFile(values.output, body);
  else await writeOut(fixPolicies.length === 0 && values.format === 'yaml' ? `${header}\n` : body);
  if (values['contract-out'] !== undefined) {
    const doc: unknown = parseYaml(await readFile(policiesPath, 'utf8'));
    if (typeof doc !== 'object' || doc === null || (doc as { kind?: unknown }).kind !== 'RampContract') {
      stderr.write('rampart fix: --contract-out needs --policies to be one RampContract file\n');
      return 2;
    }
    const spec = (doc as { spec: { policies: unknown[] } }).spec;
    spec.policies = [...spec.policies, ...fixPolicies];
    await writeFile(values['contract-out'], stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }));
  }
  stderr.write(`rampart fix: ${f.verification.denied} denied connection${f.verification.denied === 1 ? '' : 's'} (distinct), ${f.edges.length} edge${f.edges.length === 1 ? '' : 's'} opened by ${f.policies.length} new polic${f.policies.length === 1 ? 'y' : 'ies'}\n`);
  for (const u of f.unfixable) stderr.write(`  cannot fix ${u.edge}: ${u.reason}\n`);
  return f.unfixable.length > 0 ? 1 : 0;
}
