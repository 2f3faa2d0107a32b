/**
 * `rampart demo` (what `npm start` runs): the whole loop on one machine. A simulated cluster
 * (one Hubble server per node, in this process), one `rampart agent` child process per node
 * and a `rampart controlplane` child process serving the API, the stream and the dashboard.
 * Child processes because that is how the pieces run for real: separate processes talking
 * gRPC and HTTP over loopback. The simulated datapath follows what the control plane applies.
 *
 * The bundled scenario (demo/): payments-lockdown forgets a rarely used allow rule and is held
 * in monitor with that edge named; shop-lockdown is right and ramps to 100 %; after it
 * completes, a new caller appears whose connections are really dropped; data-lockdown is right
 * only against the baseline; kafka-narrow narrows an over-broad allow in force (replaces),
 * is Blocked on the producer it forgot, and the fix added as a revision ramps to Complete.
 */
import { once } from 'node:events';
import { rmSync } from 'node:fs';
import * as path from 'node:path';
import process, { stderr, stdout } from 'node:process';
import { formatProblems, isObject } from '../../core/common/index.js';
import { narrate } from '../../sim/demo/console.js';
import { Narrator } from '../../sim/demo/narrator.js';
import { Supervisor } from '../../sim/demo/supervisor.js';
import { compressSpec, createWorkdir, pinFirstRuns } from '../../sim/demo/workdir.js';
import { writeHistorySeed } from '../../sim/demo/history-seed.js';
import { workloadManifests } from '../../sim/demo/workload-manifests.js';
import { demoDir, loadClusterSpec, repoRoot } from '../../sim/load-spec.js';
import { RunningCluster } from '../../sim/running-cluster.js';
import { formatFlagProblems, parseFlags, readDuration } from '../../io/flags.js';
import { createContracts, createCronJobs, ensureCrd, ensureNamespace } from '../../sim/demo/kube-setup.js';
import { addFixAsRevision } from '../../sim/demo/fix-revision.js';
import { silentLogger } from '../../io/json-logger.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../../io/kube/kubeconfig.js';
import { LEASE_NAME } from '../../controlplane/kubernetes/lease-elector.js';

const USAGE = `usage: rampart demo [--fast] [--headless] [--duration <dur>] [--http-listen <host:port>]
       [--late-after <dur>] [--first-run-after <dur>] [--keep]
       [--kubernetes [--kubeconfig <file>] [--namespace <ns>]
       [--drop-identity-labels <prefix>]]

  --fast         compress every duration about six times (the end-to-end test uses it)
  --headless     no guide, just progress lines (for CI)
  --duration     stop by itself after this long (default: run until Ctrl-C)
  --http-listen  the dashboard and API address (default 127.0.0.1:9968; port 0 picks one)
  --late-after   how long after shop-lockdown completes the new caller appears
  --first-run-after  the invoicing CronJob's first run comes at the first whole minute at
                 least this long after the start (default 40s; at least 5s, so the control
                 plane and agents are up to see it); until then payments-lockdown waits for it
  --keep         keep the working folder (contracts, state, logs) after stopping
  --kubernetes   against a real API server (--kubeconfig, else KUBECONFIG): the simulated
                 namespaces and pods become real objects, the contracts RampContracts, the
                 datapath enforces the real NetworkPolicies and pod labels, and the control
                 plane runs in Kubernetes mode (Lease in --namespace, default rampart-system)
  --drop-identity-labels  with --kubernetes: pod label keys with this prefix never reach the
                 simulated Cilium identities (an identity-label filter), e.g. enroll.rampart.dev/
`;

const FAST_FACTOR = 6;
/** The scheduled job's first run comes at least this long after the start (then every period). */
const FIRST_RUN_AFTER = '40s';
const MIN_FIRST_RUN_AFTER_MS = 5_000;
const TRIGGER_CONTRACT = 'shop-lockdown';
/** The contract whose block the demo fixes by adding `rampart fix`'s answer as a revision. */
const FIX_CONTRACT = 'kafka-narrow';



export async function run(args: readonly string[]): Promise<number> {
  const { values, problems } = parseFlags(args, {
    fast: { type: 'boolean', default: false },
    headless: { type: 'boolean', default: false },
    duration: { type: 'string' },
    'http-listen': { type: 'string', default: '127.0.0.1:9968' },
    'late-after': { type: 'string' },
    'first-run-after': { type: 'string' },
    keep: { type: 'boolean', default: false },
    kubernetes: { type: 'boolean', default: false },
    kubeconfig: { type: 'string' },
    namespace: { type: 'string', default: 'rampart-system' },
    'drop-identity-labels': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  });
  const durationMs = values.duration === undefined ? null : readDuration(values.duration, '--duration');
  const lateAfter = readDuration(values['late-after'] ?? (values.fast ? '3s' : '20s'), '--late-after');
  // Any sooner and the run could come before the control plane and the agents are up to see it.
  const firstRunAfter = readDuration(values['first-run-after'] ?? FIRST_RUN_AFTER, '--first-run-after', MIN_FIRST_RUN_AFTER_MS);
  const bad = [...problems, ...[durationMs, lateAfter, firstRunAfter].flatMap((r) => (r === null || r.ok ? [] : [r.error]))];
  if (bad.length > 0 || !lateAfter.ok || !firstRunAfter.ok) {
    stderr.write(formatFlagProblems('rampart demo', bad, USAGE));
    return 2;
  }
  if (values.help) {
    stdout.write(USAGE);
    return 0;
  }
  const factor = values.fast ? FAST_FACTOR : 1;
  const kubeconfig = values.kubeconfig ?? process.env.KUBECONFIG ?? '';
  const dropPrefix = values['drop-identity-labels'];
  const kubeProblem =
    values.kubernetes && kubeconfig === ''
      ? '--kubernetes needs --kubeconfig <file> (or KUBECONFIG)'
      : !values.kubernetes && values.kubeconfig !== undefined
        ? '--kubeconfig only with --kubernetes'
        : dropPrefix !== undefined && (!values.kubernetes || dropPrefix === '')
          ? '--drop-identity-labels needs --kubernetes and a label key prefix'
          : null;
  if (kubeProblem !== null) {
    stderr.write(`rampart demo: ${kubeProblem}\n${USAGE}`);
    return 2;
  }
  // Agents wait this long for an enrolled pod's label to reach its identity (Cilium's grace
  // period is 5 s); the fast demo's stages are shorter than the 10 s default.
  if (values.fast) process.env.RAMPART_ENROLL_SETTLE_MS ??= '2000';
  const say = narrate(values.headless);

  const specResult = loadClusterSpec(path.join(demoDir(), 'cluster.yaml'));
  if (!specResult.ok) {
    stderr.write(`rampart demo: the bundled cluster is invalid\n${formatProblems(specResult.error)}\n`);
    return 2;
  }
  const startedMs = Date.now();
  // The invoicing job keeps its every-3-minutes schedule; its first run comes at the first whole
  // minute after --first-run-after (by default 40-100 s in).
  const spec = pinFirstRuns(compressSpec(specResult.value, factor), startedMs, firstRunAfter.value);
  const work = createWorkdir({ contractsFrom: path.join(demoDir(), 'contracts'), factor, baseline: spec.policies, workloads: workloadManifests(spec, startedMs) });
  // A week of this cluster's traffic in the map: contracts are judged on history from their first second.
  writeHistorySeed(work.stateDir, spec, startedMs);
  const nodeNames = Array.from({ length: spec.nodes }, (_, i) => `sim-worker-${i + 1}`);

  const stop = new AbortController();
  let exitCode = 0;
  const supervisor = new Supervisor({
    bin: path.join(repoRoot(), 'bin', 'rampart.js'),
    logDir: work.logDir,
    onUnexpectedExit: (child, code) => {
      // Let the last words arrive (stdout is read asynchronously) before quoting them.
      say.error(`${child.name} exited unexpectedly (${code}); its log: ${child.logFile}\n  ${child.tail.join('\n  ')}`);
      if (child.name === 'controlplane') say.error(`if the address is taken, try: rampart demo --http-listen 127.0.0.1:0`);
      exitCode = 1;
      stop.abort();
    },
  });
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // Whatever happens to this process, its children do not outlive it.
  const onExit = (): void => supervisor.killAllNow();
  process.once('exit', onExit);

  // Kubernetes mode: the CRD, the control plane's namespace and the contracts go in first,
  // and the simulated cluster's objects (its policies, and the Cilium policy kinds they need)
  // exist before the control plane starts, as a real cluster's do: its first baseline holds them.
  let kc: KubeConfig | null = null;
  let cluster: RunningCluster | null = null;
  if (values.kubernetes) {
    try {
      kc = loadKubeConfig(kubeconfig)?.kc ?? null;
      if (kc === null) throw new Error('no kubeconfig');
      await ensureCrd(kc);
      await ensureNamespace(kc, values.namespace);
      const names = await createContracts(kc, work.contractsDir, LEASE_NAME);
      await createCronJobs(kc, workloadManifests(spec, startedMs));
      cluster = new RunningCluster({ spec, kube: { kc, log: silentLogger, dropIdentityLabel: dropPrefix === undefined ? undefined : (key) => key.startsWith(dropPrefix) }, token: work.token, seed: 42 });
      await cluster.provision();
      say.info(`kubernetes: ${kc.getCurrentCluster()?.server ?? '?'}; RampContracts ${names.join(', ')} created`);
    } catch (e) {
      process.removeListener('exit', onExit);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      stderr.write(`rampart demo: the API server at ${kubeconfig} could not be prepared: ${e instanceof Error ? e.message : String(e)}\n`);
      rmSync(work.root, { recursive: true, force: true });
      return 1;
    }
  }
  const modeArgs = values.kubernetes
    ? ['--kubernetes', '--kubeconfig', kubeconfig, '--namespace', values.namespace, '--state', work.stateDir]
    : ['--contracts', work.contractsDir, '--baseline', work.baselineDir, '--state', work.stateDir, ...(work.workloadsFile === null ? [] : ['--workloads', work.workloadsFile])];

  // The control plane first: it announces its ports in its `listening` log line.
  const listening = new Promise<{ grpcPort: number; httpPort: number }>((resolve) => {
    supervisor.start(
      'controlplane',
      [
        'controlplane', ...modeArgs, '--token-file', work.tokenFile,
        '--grpc-listen', '127.0.0.1:0', '--http-listen', values['http-listen'],
        '--expected-nodes', nodeNames.join(','), '--reconcile-interval', values.fast ? '500ms' : '1s',
      ],
      (line) => {
        if (!line.startsWith('{')) return;
        try {
          const rec: unknown = JSON.parse(line);
          if (isObject(rec) && rec.msg === 'listening' && typeof rec.grpcPort === 'number' && typeof rec.httpPort === 'number') {
            resolve({ grpcPort: rec.grpcPort, httpPort: rec.httpPort });
          }
        } catch {
          // not a log record: kept in the log file only
        }
      },
    );
  });
  const ports = await Promise.race([listening, once(stop.signal, 'abort').then(() => null)]);
  // Kubernetes mode's cluster exists already: its datapath follows the API server, not the control plane's records.
  cluster ??= new RunningCluster({ spec, controlplaneHttp: ports ? `http://127.0.0.1:${ports.httpPort}` : undefined, token: work.token, seed: 42 });
  let narrator: Narrator | null = null;
  let fixed = false;
  if (ports) {
    const baseUrl = `http://127.0.0.1:${ports.httpPort}`;
    const hubbles = await cluster.start();
    for (const h of hubbles) {
      supervisor.start(`agent-${h.node}`, [
        'agent', '--hubble', h.address, '--controlplane', `127.0.0.1:${ports.grpcPort}`, '--node', h.node,
        '--window', values.fast ? '1s' : '2s', '--token-file', work.tokenFile, '--metrics-listen', '127.0.0.1:0',
      ]);
    }
    const c = cluster.simulator.cluster;
    say.intro({
      dashboard: `${baseUrl}/?token=${work.token}`,
      api: baseUrl,
      token: work.token,
      tokenFile: work.tokenFile,
      logs: work.logDir,
      cluster: `${c.nodes.length} nodes, ${c.workloads.size} workloads in ${c.namespaceLabels.size} namespaces, ${c.pods.length} pods`,
      hubbles: hubbles.map((h) => `${h.node}=${h.address}`).join(' '),
      fast: values.fast,
      pids: supervisor.pids(),
    });
    narrator = new Narrator({
      baseUrl,
      token: work.token,
      intervalMs: 1000,
      triggerContract: TRIGGER_CONTRACT,
      lateAfterMs: lateAfter.value,
      signal: stop.signal,
      onChange: (now, before) => {
        say.transition(now, before);
        if (now.name === FIX_CONTRACT && now.phase === 'Blocked' && !fixed) {
          fixed = true;
          addFixAsRevision({ baseUrl, token: work.token, contract: FIX_CONTRACT, contractsDir: kc ? null : work.contractsDir, kc })
            .then((done) => say.info(`${FIX_CONTRACT.padEnd(18)} ${done}`))
            .catch((e: unknown) => say.error(`adding the fix to ${FIX_CONTRACT} failed: ${e instanceof Error ? e.message : String(e)}`));
        }
      },
      onLateCaller: () => {
        cluster.activateLate();
        say.lateCaller();
      },
    });
    void narrator.run();
  }
  const timer = durationMs?.ok ? setTimeout(() => stop.abort(), durationMs.value) : null;
  if (!stop.signal.aborted) await once(stop.signal, 'abort');
  if (timer) clearTimeout(timer);

  say.stopping();
  await cluster.stop();
  await supervisor.stopAll();
  process.removeListener('exit', onExit);
  process.removeListener('SIGINT', onSignal);
  process.removeListener('SIGTERM', onSignal);
  const s = cluster.simulator.stats();
  say.summary({ flows: s.flows, connections: s.connections, droppedAttempts: s.droppedAttempts, contracts: narrator?.snapshots() ?? [], lateCaller: narrator?.lateStarted ?? false });
  if (values.keep || exitCode !== 0) say.info(`working folder kept: ${work.root}`);
  else rmSync(work.root, { recursive: true, force: true });
  return exitCode;
}
