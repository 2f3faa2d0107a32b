/**
 * `rampart audit --policies <dir> [--flows <file>] [--pods <file>] [--format table|json] [--fail-on <severity>]`
 * (product.md "Authoring"): open namespaces, policies that select no pod, unused rules,
 * over-broad rules with their narrower replacement, redundant policies (core/authoring audit).
 *
 * Exit: 0 nothing at or above --fail-on (default high); 1 some finding is; 2 bad input.
 */
import { stderr, stdout } from 'node:process';
import { stringify } from 'yaml';
import { formatProblems } from '../../core/common/index.js';
import { atLeast, audit, ObservationSet, podFacts, SEVERITIES, type AuditPod, type Severity } from '../../core/authoring/index.js';
import type { Flow } from '../../core/flow/index.js';
import { readFlows } from '../../io/flow-reader.js';
import { writeOut } from '../../io/write-out.js';
import { loadKubeObjects } from '../../io/kube-objects.js';
import { loadPolicyManifests, onlyNetworkPolicies } from '../../io/manifest-files.js';
import { formatFlagProblems, parseFlags, readOneOf, readRequired } from '../../io/flags.js';

const USAGE = `usage: rampart audit --policies <file|dir> [--flows <file|->] [--pods <file>] [--format table|json] [--fail-on low|medium|high]

  --policies  the NetworkPolicies in force (YAML/JSON, Lists, RampContracts, or a folder)
  --flows     hubble observe -o json lines: finds unused rules and narrows over-broad ones
  --pods      kubectl get pods -A -o json: open namespaces and policies that select no pod
              (without it, the pods seen in --flows are used)
  --format    table (default) or json
  --fail-on   exit 1 when a finding is at or above this severity (default: high)

exit: 0 nothing at or above --fail-on, 1 some finding is, 2 bad input
`;

export async function run(args: readonly string[]): Promise<number> {
  const { values, problems } = parseFlags(args, {
    policies: { type: 'string' },
    flows: { type: 'string' },
    pods: { type: 'string' },
    format: { type: 'string', default: 'table' },
    'fail-on': { type: 'string', default: 'high' },
    help: { type: 'boolean', short: 'h' },
  });
  if (problems.length > 0) {
    stderr.write(formatFlagProblems('rampart audit', problems, USAGE));
    return 2;
  }
  if (values.help === true) {
    stdout.write(USAGE);
    return 0;
  }
  const policies = readRequired(values.policies, '--policies');
  const format = readOneOf(values.format, '--format', ['table', 'json']);
  const failOnRead = readOneOf(values['fail-on'], '--fail-on', SEVERITIES);
  if (!policies.ok || !format.ok || !failOnRead.ok) {
    stderr.write(formatFlagProblems('rampart audit', [policies, format, failOnRead].flatMap((r) => (r.ok ? [] : [r.error])), USAGE));
    return 2;
  }
  const failOn = failOnRead.value;
  const loaded = await loadPolicyManifests(policies.value);
  if (!loaded.ok) {
    stderr.write(`${formatProblems(loaded.error)}\n`);
    return 2;
  }
  let pods: AuditPod[] | null = null;
  if (values.pods !== undefined) {
    const objects = await loadKubeObjects(values.pods);
    if (!objects.ok) {
      stderr.write(`${formatProblems(objects.error)}\n`);
      return 2;
    }
    pods = objects.value.map((o) => podFacts(o.value)).filter((p) => p !== null).map((p) => ({ namespace: p.namespace, name: p.name, labels: p.labels }));
  }
  let flows: Flow[] | null = null;
  if (values.flows !== undefined) {
    const obs = new ObservationSet();
    const r = await readFlows(values.flows, (f) => obs.addFlow(f));
    if (r.badLines > 0) {
      stderr.write(`${formatProblems(r.problems)}\nrampart audit: ${r.badLines} malformed line${r.badLines === 1 ? '' : 's'} in ${r.name}\n`);
      return 2;
    }
    flows = [...obs.representatives.values()];
  }
  // audit reads NetworkPolicies: Cilium policies are named, not silently dropped.
  const nps = onlyNetworkPolicies(loaded.value.policies);
  if (nps.skipped.length > 0) stderr.write(`rampart audit: not audited (audit reads NetworkPolicies only): ${nps.skipped.join(', ')}\n`);
  const report = audit({ policies: nps.policies, pods, flows });
  if (values.format === 'json') await writeOut(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const lines = [`rampart audit: ${report.policies} policies, ${report.namespaces} namespaces, ${report.pods} pods${pods === null ? ' (seen in the flows)' : ''}, ${report.flows} distinct connections`, ''];
    if (report.findings.length === 0) lines.push('no findings');
    const w = Math.max(0, ...report.findings.map((f) => f.kind.length));
    for (const f of report.findings) {
      const where = f.policy === null ? `namespace ${f.namespace}` : `${f.policy}${f.rule === null ? '' : ` ${f.rule}`}`;
      lines.push(`${f.severity.toUpperCase().padEnd(6)}  ${f.kind.padEnd(w)}  ${where}: ${f.message}`);
      if (f.narrower !== undefined && f.narrower.length > 0) {
        lines.push(`        narrower rule${f.narrower.length === 1 ? '' : 's'}:`);
        for (const l of stringify(f.narrower, { lineWidth: 0, aliasDuplicateObjects: false }).trimEnd().split('\n')) lines.push(`          ${l}`);
      }
    }
    await writeOut(`${lines.join('\n')}\n`);
  }
  return report.findings.some((f) => atLeast(f.severity, failOn as Severity)) ? 1 : 0;
}
