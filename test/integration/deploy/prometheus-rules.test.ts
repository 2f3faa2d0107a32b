/**
 * deploy/prometheus/rules.yaml: the PrometheusRule's groups must load in Prometheus
 * (`promtool check rules`) and the alerts must fire on the series they are about, and stay
 * quiet otherwise (`promtool test rules` with synthetic series).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const run = promisify(execFile);
const rulesFile = fileURLToPath(new URL('../../../deploy/prometheus/rules.yaml', import.meta.url));

async function promtoolPath(): Promise<string | undefined> {
  try {
    await run('promtool', ['--version']);
    return 'promtool';
  } catch {
    return undefined;
  }
}

const promtool = await promtoolPath();
// Outside CI a missing promtool skips these tests, loudly; under CI=true they fail instead
// (as the Chromium tests do), so CI never passes without having run them.
if (!promtool && !process.env.CI) {
  process.stderr.write('\n*** SKIPPING prometheus rule tests: promtool not found (Debian package "prometheus"; .ci/run installs it) ***\n\n');
}

interface Rule {
  alert: string;
  annotations?: Record<string, string>;
}
interface RuleDoc {
  kind: string;
  spec: { groups: { name: string; rules: Rule[] }[] };
}

describe.skipIf(!promtool && !process.env.CI)('Prometheus alert rules (deploy/prometheus/rules.yaml)', () => {
  let dir = '';
  let doc: RuleDoc;
  const groupsFile = () => join(dir, 'rampart-rules.yaml');

  /** The annotations an alert renders for `contract`, for rules templated on the contract label only. */
  const annotationsOf = (alert: string, contract = ''): Record<string, string> => {
    const rule = doc.spec.groups.flatMap((g) => g.rules).find((r) => r.alert === alert);
    if (!rule) throw new Error(`no alert ${alert}`);
    return Object.fromEntries(Object.entries(rule.annotations ?? {}).map(([k, v]) => [k, v.replaceAll('{{ $labels.contract }}', contract)]));
  };

  async function promtoolTest(tests: unknown[]): Promise<{ ok: boolean; output: string }> {
    const file = join(dir, `test-${Math.random().toString(36).slice(2)}.yaml`);
    await writeFile(file, stringify({ rule_files: [groupsFile()], evaluation_interval: '1m', tests }));
    try {
      const { stdout, stderr } = await run(promtool!, ['test', 'rules', file]);
      return { ok: true, output: stdout + stderr };
    } catch (e) {
      const { stdout = '', stderr = '' } = e as { stdout?: string; stderr?: string };
      return { ok: false, output: stdout + stderr };
    }
  }

  beforeAll(async () => {
    if (!promtool) throw new Error('promtool is missing: apt-get install prometheus (.ci/run does)');
    dir = await mkdtemp(join(tmpdir(), 'rampart-rules-'));
    doc = parse(await readFile(rulesFile, 'utf8')) as RuleDoc;
    await writeFile(groupsFile(), stringify({ groups: doc.spec.groups }));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is a PrometheusRule whose groups pass promtool check rules', async () => {
    expect(doc.kind).toBe('PrometheusRule');
    const total = doc.spec.groups.reduce((n, g) => n + g.rules.length, 0);
    const { stdout } = await run(promtool!, ['check', 'rules', groupsFile()]);
    expect(stdout).toContain(`SUCCESS: ${total} rules found`);
  });

  it('only uses rampart_ metrics and never labels by pod, node or IP', () => {
    const exprs = doc.spec.groups.flatMap((g) => g.rules.map((r) => (r as unknown as { expr: string }).expr));
    for (const expr of exprs) {
      expect(expr).toMatch(/rampart_controlplane_/);
      expect(expr).not.toMatch(/\b(pod|node|ip|port)\b/);
    }
  });

  it('fires RampartRampRolledBack after a rollback and not before', async () => {
    const result = await promtoolTest([
      {
        interval: '1m',
        input_series: [{ series: 'rampart_controlplane_transitions_total{contract="shop",decision="rollback"}', values: '0 0 0 1 1 1' }],
        alert_rule_test: [
          { eval_time: '2m', alertname: 'RampartRampRolledBack', exp_alerts: [] },
          {
            eval_time: '4m',
            alertname: 'RampartRampRolledBack',
            exp_alerts: [{ exp_labels: { severity: 'warning', contract: 'shop' }, exp_annotations: annotationsOf('RampartRampRolledBack', 'shop') }],
          },
        ],
      },
    ]);
    expect(result.ok, result.output).toBe(true);
  });

  it('fires RampartNoAgentsConnected after 5 minutes without agents, and RampartControlPlaneAbsent without metrics', async () => {
    const result = await promtoolTest([
      {
        interval: '1m',
        input_series: [{ series: 'rampart_controlplane_agents_connected', values: '3 3 0 0 0 0 0 0 0' }],
        alert_rule_test: [
          { eval_time: '4m', alertname: 'RampartNoAgentsConnected', exp_alerts: [] },
          { eval_time: '8m', alertname: 'RampartNoAgentsConnected', exp_alerts: [{ exp_labels: { severity: 'critical' }, exp_annotations: annotationsOf('RampartNoAgentsConnected') }] },
          { eval_time: '8m', alertname: 'RampartControlPlaneAbsent', exp_alerts: [] },
        ],
      },
      {
        interval: '1m',
        input_series: [{ series: 'up{job="other"}', values: '1x20' }],
        alert_rule_test: [{ eval_time: '15m', alertname: 'RampartControlPlaneAbsent', exp_alerts: [{ exp_labels: { severity: 'critical' }, exp_annotations: annotationsOf('RampartControlPlaneAbsent') }] }],
      },
    ]);
    expect(result.ok, result.output).toBe(true);
  });

  it('holds RampartWouldDenyRatioHigh back while a stage has too few flows to judge', async () => {
    const result = await promtoolTest([
      {
        interval: '1m',
        input_series: [
          { series: 'rampart_controlplane_would_deny_ratio{contract="shop"}', values: '0.5x30' },
          { series: 'rampart_controlplane_stage_evaluated_flows{contract="shop"}', values: '20x30' },
        ],
        alert_rule_test: [{ eval_time: '25m', alertname: 'RampartWouldDenyRatioHigh', exp_alerts: [] }],
      },
      {
        interval: '1m',
        input_series: [
          { series: 'rampart_controlplane_would_deny_ratio{contract="shop"}', values: '0.001x30' },
          { series: 'rampart_controlplane_stage_evaluated_flows{contract="shop"}', values: '5000x30' },
        ],
        alert_rule_test: [{ eval_time: '25m', alertname: 'RampartWouldDenyRatioHigh', exp_alerts: [] }],
      },
    ]);
    expect(result.ok, result.output).toBe(true);
  });

  it('fires RampartActualDeniesHigh on a sustained drop rate and RampartAgentsMissing on partial coverage', async () => {
    const render = (alert: string, value: string) =>
      Object.fromEntries(Object.entries(annotationsOf(alert, 'shop')).map(([k, v]) => [k, v.replace(/\{\{ \$value \| humanize(Percentage)? \}\}/, value)]));
    const result = await promtoolTest([
      {
        interval: '1m',
        input_series: [
          // 20 real drops a minute, then quiet.
          { series: 'rampart_controlplane_actual_denies_total{contract="shop"}', values: '0+20x15 300x15' },
          { series: 'rampart_controlplane_node_coverage_ratio{contract="shop"}', values: '1x5 0.5x20' },
        ],
        alert_rule_test: [
          { eval_time: '3m', alertname: 'RampartActualDeniesHigh', exp_alerts: [] },
          { eval_time: '12m', alertname: 'RampartActualDeniesHigh', exp_alerts: [{ exp_labels: { severity: 'critical', contract: 'shop' }, exp_annotations: render('RampartActualDeniesHigh', '20') }] },
          { eval_time: '28m', alertname: 'RampartActualDeniesHigh', exp_alerts: [] },
          { eval_time: '10m', alertname: 'RampartAgentsMissing', exp_alerts: [] },
          { eval_time: '20m', alertname: 'RampartAgentsMissing', exp_alerts: [{ exp_labels: { severity: 'warning', contract: 'shop' }, exp_annotations: render('RampartAgentsMissing', '50%') }] },
        ],
      },
    ]);
    expect(result.ok, result.output).toBe(true);
  });

  it('fails a promtool test whose expectation is wrong (the harness can fail)', async () => {
    const result = await promtoolTest([
      {
        interval: '1m',
        input_series: [{ series: 'rampart_controlplane_agents_connected', values: '3x10' }],
        alert_rule_test: [{ eval_time: '8m', alertname: 'RampartNoAgentsConnected', exp_alerts: [{ exp_labels: { severity: 'critical' } }] }],
      },
    ]);
    expect(result.ok).toBe(false);
    expect(result.output).toContain('RampartNoAgentsConnected');
  });
});
