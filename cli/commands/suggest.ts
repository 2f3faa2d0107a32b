/**
 * `rampart suggest --flows <file|-> [--pods <file>] [--manifests <file|dir>] [--namespaces a,b] [-o <file>]`
 * (product.md "Authoring"): a RampContract (YAML) from recorded traffic, from the live traffic
 * map (`--controlplane`), or from manifests when nothing was recorded yet. The contract is
 * re-evaluated over the connections it came from before it is written (core/authoring).
 * A summary goes to stderr; the contract to stdout or `-o`.
 *
 * Exit: 0 written; 2 bad input (with file and line) or a suggestion that failed its own check.
 */
import { writeFile } from 'node:fs/promises';
import { stderr, env } from 'node:process';
import { stringify } from 'yaml';
import { formatProblems } from '../../core/common/index.js';
import { addMapEdges, asCiliumPolicies, BOTH_SIDES, dnsNamesByIp, evaluatorFor, inferFromManifests, ObservationSet, type TrafficMap, podFacts, suggestFromObservations, type Labels, type SuggestOptions } from '../../core/authoring/index.js';
import type { Flow } from '../../core/flow/index.js';
import { parsePolicy } from '../../core/policy/index.js';
import { readFlows } from '../../io/flow-reader.js';
import { writeOut } from '../../io/write-out.js';
import { loadKubeObjects } from '../../io/kube-objects.js';
import { fetchMap } from '../../io/traffic-map.js';
import { ApiError, resolveTarget } from '../../io/api-client.js';
import { readInteger, readOneOf } from '../../io/flags.js';
import { commandFlags } from './command-flags.js';

const USAGE = `usage: rampart suggest --flows <file|-> [--pods <file>] [--manifests <file|dir>] [--namespaces a,b] [-o <file>]
       rampart suggest --controlplane <url> [--since <dur>] [--token-file <file>] [--pods <file>] [--manifests <file|dir>] ...
       rampart suggest --manifests <file|dir> [--namespace <ns>] [--namespaces a,b] [--format contract|networkpolicies|cilium] [-o <file>]

  --flows         hubble observe -o json lines; - reads stdin
  --controlplane  read the live traffic map (GET /api/v1/map) of this control plane instead
  --since         with --controlplane: how far back the map goes (default: all it keeps)
  --pods          kubectl get pods -A -o json: more pods per workload, so selectors fit all of them
  --manifests     a file, a folder or a kustomization of rendered YAML (helm template first):
                  Deployments, StatefulSets, DaemonSets, Jobs, CronJobs, Services, Ingresses,
                  ConfigMaps: controller selectors, and connections inferred from Service names
  --namespace     the namespace of manifests that name none (as kubectl apply -n; default: default)
  --namespaces    write policies for these namespaces only (default: every observed one)
  --lock-system-namespaces
                  also write policies for kube-system, kube-public and kube-node-lease when in
                  scope (left out otherwise: their DNS serves every namespace)
  --format        contract (default: a RampContract of NetworkPolicies), networkpolicies (plain
                  manifests) or cilium (a RampContract of CiliumNetworkPolicies, with toFQDNs for
                  external peers whose DNS names Hubble attached: destination_names)
  --name          the contract's name (default: suggested)
  --monitor       the monitor stage's minimum duration (default: 24h)
  --external-prefix <n>
                  fold external peers of a workload that share a /n network (two or more
                  addresses) into one ipBlock (default: one /32 per address seen)
  -o, --output    write the contract here instead of stdout

exit: 0 written, 2 bad input
`;

function writeNotes(notes: readonly string[]): void {
  for (const n of new Set(notes)) stderr.write(`  note: ${n}\n`);
}

function fail(message: string): number {
  stderr.write(`rampart suggest: ${message}\n`);
  return 2;
}

export async function run(args: readonly string[]): Promise<number> {
  const parsed = commandFlags('rampart suggest', USAGE, args, {
    flows: { type: 'string' },
    controlplane: { type: 'string' },
    since: { type: 'string' },
    'token-file': { type: 'string' },
    pods: { type: 'string' },
    manifests: { type: 'string' },
    namespace: { type: 'string' },
    namespaces: { type: 'string' },
    'lock-system-namespaces': { type: 'boolean' },
    format: { type: 'string', default: 'contract' },
    name: { type: 'string' },
    monitor: { type: 'string' },
    'external-prefix': { type: 'string' },
    output: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  });
  if ('exit' in parsed) return parsed.exit;
  const { values } = parsed;
  if (values.flows === undefined && values.controlplane === undefined && values.manifests === undefined) {
    stderr.write(`rampart suggest: one of --flows, --controlplane or --manifests is required\n\n${USAGE}`);
    return 2;
  }
  if (values.flows !== undefined && values.controlplane !== undefined) return fail('--flows and --controlplane are exclusive');
  const format = readOneOf(values.format, '--format', ['contract', 'networkpolicies', 'cilium']);
  if (!format.ok) return fail(formatProblems([format.error]));
  const namespaces = values.namespaces === undefined ? null : values.namespaces.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (namespaces !== null && namespaces.length === 0) return fail('--namespaces: expected a comma-separated list of namespaces');

  const obs = new ObservationSet();
  const sources: string[] = [];
  let trafficMap: TrafficMap | null = null;
  if (values.flows !== undefined) {
    const r = await readFlows(values.flows, (f) => obs.addFlow(f));
    if (r.badLines > 0) {
      stderr.write(`${formatProblems(r.problems)}\n`);
      return fail(`${r.badLines} malformed line${r.badLines === 1 ? '' : 's'} in ${r.name}: a suggestion from part of a capture would be wrong`);
    }
    sources.push(`${r.name}: ${r.lines} lines, ${obs.connections} connection starts${r.lostEvents > 0 ? `, ${r.lostEvents} Hubble events lost (the capture is incomplete)` : ''}`);
  }
  if (values.controlplane !== undefined) {
    let map;
    try {
      map = await fetchMap(resolveTarget({ server: values.controlplane, ...(values['token-file'] !== undefined ? { tokenFile: values['token-file'] } : {}) }, env), values.since ?? null);
    } catch (e) {
      return fail(e instanceof ApiError || e instanceof Error ? e.message : String(e));
    }
    if (typeof map === 'string') return fail(map);
    sources.push(`${values.controlplane}/api/v1/map: ${map.edges.length} edges`);
    // Labels come from --pods/--manifests below; the map names workloads only.
    trafficMap = map;
  }

  const options: { -readonly [K in keyof SuggestOptions]: SuggestOptions[K] } = {
    namespaces,
    lockSystemNamespaces: values['lock-system-namespaces'] === true,
    ...(values.name !== undefined ? { name: values.name } : {}),
    ...(values.monitor !== undefined ? { monitor: values.monitor } : {}),
  };
  if (values['external-prefix'] !== undefined) {
    const n = readInteger(values['external-prefix'], '--external-prefix', { min: 8, max: 31 });
    if (!n.ok) return fail(formatProblems([n.error]));
    options.externalPrefix = n.value;
  }
  const notes: string[] = [];
  let manifestObjects: Record<string, unknown>[] = [];
  if (values.manifests !== undefined) {
    const loaded = await loadKubeObjects(values.manifests, { namespace: values.namespace ?? null });
    if (!loaded.ok) {
      stderr.write(`${formatProblems(loaded.error)}\n`);
      return 2;
    }
    for (const w of loaded.value.warnings) stderr.write(`rampart suggest: warning: ${w.path}: ${w.message}\n`);
    manifestObjects = loaded.value.objects.map((o) => o.value);
  }
  let podObjects: Record<string, unknown>[] = [];
  if (values.pods !== undefined) {
    const loaded = await loadKubeObjects(values.pods);
    if (!loaded.ok) {
      stderr.write(`${formatProblems(loaded.error)}\n`);
      return 2;
    }
    podObjects = loaded.value.objects.filter((o) => o.kind === 'Pod').map((o) => o.value);
    if (podObjects.length === 0) return fail(`${values.pods}: no Pod objects found`);
  }
  if (trafficMap !== null) notes.push(...addMapEdges(trafficMap, obs, podObjects, manifestObjects).notes);
  if (manifestObjects.length > 0) {
    // With traffic, the manifests give selectors; without any, they give the connections too.
    const scratch = obs.connections === 0 ? obs : new ObservationSet();
    const inferred = inferFromManifests(manifestObjects, scratch);
    options.controllerSelectors = inferred.controllerSelectors;
    options.publicEntryPoints = inferred.publicEntryPoints;
    if (scratch === obs) {
      sources.push(`${values.manifests}: ${inferred.workloads} workloads, ${inferred.services} Services, ${inferred.edges.length} connections inferred`);
      notes.push(...inferred.notes);
      if (inferred.workloads === 0 && values.flows === undefined && trafficMap === null) {
        // Say it about the manifests: nothing here is about flows.
        writeNotes(notes);
        return fail(`${values.manifests}: no workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob) in the manifests: nothing to suggest`);
      }
    }
  }
  if (podObjects.length > 0) {
    const byWorkload = new Map<string, Labels[]>();
    const byPodName = new Map<string, string>();
    for (const w of obs.workloads.values()) for (const p of w.podNames) byPodName.set(`${w.namespace}/${p}`, w.key);
    let matched = 0;
    for (const o of podObjects) {
      const p = podFacts(o);
      if (p === null) continue;
      const k = byPodName.get(`${p.namespace}/${p.name}`) ?? (obs.workloads.has(`${p.namespace}/${p.workload}`) ? `${p.namespace}/${p.workload}` : null);
      if (k === null) continue;
      matched++;
      const list = byWorkload.get(k) ?? [];
      list.push(p.labels);
      byWorkload.set(k, list);
    }
    options.podLabelSets = byWorkload;
    // Ports: rules name the port the CNI enforces, the container port. A destination port that
    // no pod of the workload declares may be a Service port seen before DNAT: say so.
    const portsByWorkload = new Map<string, Set<string>>();
    for (const o of podObjects) {
      const p = podFacts(o);
      if (p === null) continue;
      const k = byPodName.get(`${p.namespace}/${p.name}`) ?? `${p.namespace}/${p.workload}`;
      const set = portsByWorkload.get(k) ?? new Set<string>();
      for (const cp of p.ports) set.add(`${cp.protocol}/${cp.port}`);
      portsByWorkload.set(k, set);
    }
    const flagged = new Set<string>();
    for (const e of obs.edges.values()) {
      if (e.direction !== 'ingress' || e.protocol === null) continue;
      const declared = portsByWorkload.get(e.self);
      const key = `${e.self} ${e.protocol}/${e.port}`;
      if (declared === undefined || declared.size === 0 || declared.has(`${e.protocol}/${e.port}`) || flagged.has(key)) continue;
      flagged.add(key);
      notes.push(`${e.self}: connections arrive on ${e.protocol}/${e.port}, which none of its pods declares as a container port (a Service port seen before DNAT?)`);
    }
    sources.push(`${values.pods}: ${podObjects.length} pods, ${matched} of them in observed workloads`);
  }
  if (obs.connections === 0) notes.push('no connection was observed or inferred: the contract only denies');

  const r = suggestFromObservations(obs, options);
  if (!r.ok) {
    stderr.write(`${formatProblems(r.error)}\n`);
    writeNotes(notes);
    return fail('no contract written');
  }
  let contract = r.value.contract;
  if (format.value === 'cilium') {
    const converted = ciliumContract(r.value.contract, r.value.policies, [...obs.representatives.values()]);
    if (!converted.ok) {
      stderr.write(`${converted.error}\n`);
      return fail('no contract written');
    }
    contract = converted.value;
  }
  const header = [
    `# Suggested by rampart suggest from ${sources.join('; ') || 'nothing'}.`,
    `# ${r.value.report.policies} policies, ${r.value.report.rules} rules for ${r.value.report.namespaces.join(', ') || 'no namespace'};`,
    `# re-evaluated over ${r.value.report.verification.flows} distinct connections: ${r.value.report.verification.deny} denied, ${r.value.report.verification.indeterminate} indeterminate.`,
    '# Review it before use: only the traffic shown is allowed, and rare traffic may be missing.',
  ].join('\n');
  const yaml = (v: unknown): string => stringify(v, { lineWidth: 0, aliasDuplicateObjects: false });
  // Plain NetworkPolicies (kubectl apply -f) or the RampContract that rolls them out.
  const body = format.value === 'networkpolicies' ? r.value.policies.map(yaml).join('---\n') : yaml(contract);
  const text = `${header}\n${body}`;
  if (values.output !== undefined) {
    try {
      await writeFile(values.output, text);
    } catch (e) {
      return fail(`cannot write ${values.output}: ${e instanceof Error ? e.message : String(e)}`);
    }
  } else await writeOut(text);
  const rep = r.value.report;
  const lines = [
    `rampart suggest: ${rep.policies} policies, ${rep.rules} rules for ${rep.namespaces.length} namespace${rep.namespaces.length === 1 ? '' : 's'} from ${rep.connections} connections`,
    ...sources.map((x) => `  from ${x}`),
    `  round trip over ${rep.verification.flows} distinct connections: ${rep.verification.allow} allowed, ${rep.verification.deny} denied, ${rep.verification.indeterminate} indeterminate`,
    ...rep.selectors.map((s) => `  selector ${s.workload}: ${Object.entries(s.matchLabels).map(([k, v]) => `${k}=${v}`).join(',') || '(every pod of the namespace)'}`),
    ...[...new Set([...notes, ...rep.notes])].map((n) => `  note: ${n}`),
  ];
  stderr.write(`${lines.join('\n')}\n`);
  return 0;
}


/**
 * The suggested contract with its policies as CiliumNetworkPolicies (toFQDNs from the names
 * Hubble attached to external destinations), verified like the NetworkPolicy suggestion:
 * every observed connection it was built from must be allowed under it.
 */
function ciliumContract(contract: Record<string, unknown>, policies: readonly Record<string, unknown>[], flows: readonly Flow[]): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  const cilium = asCiliumPolicies(policies, dnsNamesByIp(flows));
  const parsed = cilium.map((m, i) => parsePolicy(m, `spec.policies[${i}]`));
  const bad = parsed.flatMap((p) => (p.ok ? [] : p.error));
  if (bad.length > 0) return { ok: false, error: `the Cilium form does not parse:\n${formatProblems(bad)}` };
  const ev = evaluatorFor(parsed.map((p) => (p.ok ? p.value : null)).filter((p) => p !== null));
  const denied = flows.filter((f) => ev.evaluate(f, BOTH_SIDES).verdict === 'deny').length;
  if (denied > 0) return { ok: false, error: `the Cilium form denies ${denied} of the ${flows.length} observed connections it should allow` };
  const spec = (contract['spec'] ?? {}) as Record<string, unknown>;
  return { ok: true, value: { ...contract, spec: { ...spec, policies: cilium } } };
}
