/**
 * `rampart audit --policies <dir> [--flows <file>] [--pods <file>] [--manifests <file|dir>] [--format table|json] [--fail-on <severity>]`
 * (product.md "Authoring"): open namespaces, policies that select no pod, unused rules,
 * over-broad rules with their narrower replacement, redundant policies, public entry points
 * kept open (core/authoring audit); over-broad and unused rules of Cilium policies
 * (core/authoring cilium-audit.ts).
 *
 * `--contract <name>`: instead of the report on stdout, a RampContract that narrows every
 * over-broad rule it reports and `replaces` the policies it edits (core/authoring
 * narrowing-contract.ts), on stdout or `-o`; the report then goes to stderr.
 *
 * Exit: 0 nothing at or above --fail-on (default high); 1 some finding is; 2 bad input.
 */
import { writeFile } from 'node:fs/promises';
import { stderr } from 'node:process';
import { stringify } from 'yaml';
import { formatProblems } from '../../core/common/index.js';
import {
  atLeast,
  audit,
  auditCiliumPolicies,
  ciliumNarrowingContract,
  inferFromManifests,
  narrowingContract,
  ObservationSet,
  podFacts,
  SEVERITIES,
  sortFindings,
  SYSTEM_NAMESPACES,
  workloadFacts,
  type AuditPod,
  type PublicEntryPoint,
  type Severity,
} from '../../core/authoring/index.js';
import { splitByKind } from '../../core/policy/index.js';
import type { Flow } from '../../core/flow/index.js';
import { readFlows } from '../../io/flow-reader.js';
import { writeOut } from '../../io/write-out.js';
import { loadKubeObjects } from '../../io/kube-objects.js';
import { loadPolicyManifests } from '../../io/manifest-files.js';
import { readOneOf, readRequired } from '../../io/flags.js';
import { commandFlags, usageError } from './command-flags.js';

const USAGE = `usage: rampart audit --policies <file|dir> [--flows <file|->] [--pods <file>] [--manifests <file|dir>] [--namespaces a,b]
                     [--format table|json] [--fail-on low|medium|high] [--namespace <ns>] [--strict] [--contract <name> [-o <file>]]

  --policies   the policies in force (YAML/JSON, Lists, RampContracts, a folder or a kustomization):
               NetworkPolicies get every check, CiliumNetworkPolicies and CiliumClusterwideNetworkPolicies
               their over-broad and unused rules (narrowed, and --contract written, in their own kind)
  --flows      hubble observe -o json lines: finds unused rules and narrows over-broad ones
  --pods       kubectl get pods -A -o json: open namespaces and policies that select no pod
  --manifests  the app's rendered manifests: its workloads stand for pods (without --pods), and
               its LoadBalancer/NodePort Services and Ingresses name the public entry points
               (without either, the pods seen in --flows are used)
  --namespaces audit these namespaces (default: every one but kube-system, kube-public, kube-node-lease)
  --namespace  the namespace of policies and manifests that name none (default: default)
  --strict     unknown fields in the policies are errors, not warnings
  --format     table (default) or json
  --fail-on    exit 1 when a finding is at or above this severity (default: high); info never fails
  --contract   write a RampContract of this name that narrows every over-broad rule (replacing the
               policies it edits; needs --flows) instead of the report, which goes to stderr
  -o           with --contract: write the contract here instead of stdout

exit: 0 nothing at or above --fail-on, 1 some finding is, 2 bad input
`;

export async function run(args: readonly string[]): Promise<number> {
  const parsed = commandFlags('rampart audit', USAGE, args, {
    policies: { type: 'string' },
    flows: { type: 'string' },
    pods: { type: 'string' },
    manifests: { type: 'string' },
    namespaces: { type: 'string' },
    namespace: { type: 'string' },
    strict: { type: 'boolean' },
    format: { type: 'string', default: 'table' },
    'fail-on': { type: 'string', default: 'high' },
    contract: { type: 'string' },
    output: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  const policies = readRequired(values.policies, '--policies');
  const format = readOneOf(values.format, '--format', ['table', 'json']);
  const failOnRead = readOneOf(values['fail-on'], '--fail-on', SEVERITIES);
  if (!policies.ok || !format.ok || !failOnRead.ok) {
    return usageError('rampart audit', [policies, format, failOnRead].flatMap((r) => (r.ok ? [] : [r.error])), USAGE);
  }
  const failOn = failOnRead.value;
  const namespaces = values.namespaces === undefined ? null : values.namespaces.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (namespaces !== null && namespaces.length === 0) {
    return usageError('rampart audit', [{ path: '--namespaces', message: 'expected a comma-separated list of namespaces' }], USAGE);
  }
  const loaded = await loadPolicyManifests(policies.value, { namespace: values.namespace ?? null, strict: values.strict === true });
  if (!loaded.ok) {
    stderr.write(`${formatProblems(loaded.error)}\n`);
    return 2;
  }
  for (const w of loaded.value.warnings) stderr.write(`rampart audit: warning: ${w.path}: ${w.message}\n`);
  let pods: AuditPod[] | null = null;
  let podSource: 'pods' | 'manifests' = 'pods';
  if (values.pods !== undefined) {
    const objects = await loadKubeObjects(values.pods);
    if (!objects.ok) {
      stderr.write(`${formatProblems(objects.error)}\n`);
      return 2;
    }
    pods = objects.value.objects.map((o) => podFacts(o.value)).filter((p) => p !== null).map((p) => ({ namespace: p.namespace, name: p.name, labels: p.labels }));
    // A file of something else would silently skip every pod check.
    if (pods.length === 0) {
      stderr.write(`rampart audit: ${values.pods}: no Pod objects found (expected kubectl get pods -A -o json)\n`);
      return 2;
    }
  }
  let publicEntryPoints: PublicEntryPoint[] = [];
  if (values.manifests !== undefined) {
    const objects = await loadKubeObjects(values.manifests, { namespace: values.namespace ?? null });
    if (!objects.ok) {
      stderr.write(`${formatProblems(objects.error)}\n`);
      return 2;
    }
    for (const w of objects.value.warnings) stderr.write(`rampart audit: warning: ${w.path}: ${w.message}\n`);
    const manifestObjects = objects.value.objects.map((o) => o.value);
    publicEntryPoints = [...inferFromManifests(manifestObjects, new ObservationSet()).publicEntryPoints];
    if (pods === null) {
      const workloads = manifestObjects.map((o) => workloadFacts(o)).filter((w) => w !== null);
      if (workloads.length === 0) {
        stderr.write(`rampart audit: ${values.manifests}: no workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob) in the manifests\n`);
        return 2;
      }
      pods = workloads.map((w) => ({ namespace: w.namespace, name: w.name, labels: w.templateLabels }));
      podSource = 'manifests';
    }
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
  // NetworkPolicies get every check; Cilium policies their over-broad and unused rules.
  const { network, cilium: ciliumAll } = splitByKind(loaded.value.policies);
  const cilium = ciliumAll.filter((p) => p.namespace === '' || (namespaces !== null ? namespaces.includes(p.namespace) : !SYSTEM_NAMESPACES.includes(p.namespace)));
  const npReport = audit({ policies: network, pods, podSource, flows, namespaces, publicEntryPoints, cilium: ciliumAll });
  const report = { ...npReport, policies: npReport.policies + cilium.length, findings: sortFindings([...npReport.findings, ...auditCiliumPolicies(cilium, flows)]) };
  let emit = writeOut;
  if (values.contract !== undefined) {
    const contract = mergeContracts(narrowingContract(values.contract, network, report.findings), ciliumNarrowingContract(values.contract, cilium, report.findings));
    if (contract === null) {
      stderr.write(`rampart audit: no over-broad rule to narrow${flows === null ? ' (pass --flows: the narrower rules are built from the traffic)' : ''}; no contract written\n`);
      return 2;
    }
    await writeContract(contract, values.output);
    emit = (text: string) => Promise.resolve(void stderr.write(text));
  }
  if (values.format === 'json') await emit(`${JSON.stringify(report, null, 2)}\n`);
  else {
    const what = { pods: 'pods', manifests: 'workloads (from the manifests)', flows: 'pods (seen in the flows)', none: 'pods' }[report.podSource];
    const lines = [`rampart audit: ${report.policies} policies, ${report.namespaces} namespaces, ${report.pods} ${what}, ${report.flows} distinct connections`, ...report.notes.map((x) => `note: ${x}`), ''];
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
    await emit(`${lines.join('\n')}\n`);
  }
  return report.findings.some((f) => atLeast(f.severity, failOn as Severity)) ? 1 : 0;
}

/** One contract of both kinds' narrowed policies (each written in its own kind), or null when neither has one. */
function mergeContracts(a: Record<string, unknown> | null, b: Record<string, unknown> | null): Record<string, unknown> | null {
  if (a === null || b === null) return a ?? b;
  const sa = a['spec'] as Record<string, unknown[]>;
  const sb = b['spec'] as Record<string, unknown[]>;
  return { ...a, spec: { ...sa, policies: [...sa['policies']!, ...sb['policies']!], replaces: [...sa['replaces']!, ...sb['replaces']!] } };
}

async function writeContract(contract: Record<string, unknown>, output: string | undefined): Promise<void> {
  const text = `# rampart audit --contract: narrows every over-broad rule; each edited policy is named in spec.replaces\n${stringify(contract, { lineWidth: 0, aliasDuplicateObjects: false })}`;
  if (output === undefined) await writeOut(text);
  else await writeFile(output, text);
}
