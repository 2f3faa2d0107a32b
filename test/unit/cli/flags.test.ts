/**
 * Every command's usage errors, in-process: an unknown flag, a flag without its value and a
 * bad value each exit 2 with the flag named on stderr (and nothing started: these paths
 * return before any I/O). `--help` prints the usage on stdout and exits 0.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

interface Case {
  readonly command: string;
  readonly load: () => Promise<{ run(args: readonly string[]): Promise<number> }>;
  /** A string flag, given last without its value. */
  readonly stringFlag: string;
  /** Arguments with one bad value, and the text stderr must show. */
  readonly badValue: readonly string[];
  readonly badMessage: string;
}

const CASES: readonly Case[] = [
  { command: 'evaluate', load: () => import('../../../cli/commands/evaluate.js'), stringFlag: '--flows', badValue: ['--policies', 'p', '--flows', 'f', '--format', 'xml'], badMessage: '--format: expected jsonl or table, got "xml"' },
  { command: 'replay', load: () => import('../../../cli/commands/replay.js'), stringFlag: '--flows', badValue: ['--flows', 'f', '--listen', ':0', '--rate', '0'], badMessage: '--rate: expected a positive number, got "0"' },
  { command: 'observe', load: () => import('../../../cli/commands/observe.js'), stringFlag: '--server', badValue: ['--last', 'many'], badMessage: '--last: expected an integer (0 or more), got "many"' },
  { command: 'agent', load: () => import('../../../cli/commands/agent.js'), stringFlag: '--node', badValue: ['--node', 'n', '--controlplane', 'h:1', '--window', 'soon'], badMessage: '--window: expected a duration' },
  { command: 'controlplane', load: () => import('../../../cli/commands/controlplane.js'), stringFlag: '--state', badValue: ['--contracts', 'c', '--state', 's', '--reconcile-interval', 'soon'], badMessage: '--reconcile-interval: expected a duration' },
  { command: 'simulate', load: () => import('../../../cli/commands/simulate.js'), stringFlag: '--cluster', badValue: ['--nodes', '0'], badMessage: '--nodes: expected an integer (positive), got "0"' },
  { command: 'demo', load: () => import('../../../cli/commands/demo.js'), stringFlag: '--duration', badValue: ['--duration', 'soon'], badMessage: '--duration: expected a duration' },
  { command: 'watch', load: () => import('../../../cli/commands/watch.js'), stringFlag: '--server', badValue: ['--count', '0'], badMessage: '--count: expected an integer (positive), got "0"' },
  { command: 'status', load: () => import('../../../cli/commands/status.js'), stringFlag: '--server', badValue: ['-o', 'xml'], badMessage: '-o: expected table or json, got "xml"' },
  { command: 'history', load: () => import('../../../cli/commands/history.js'), stringFlag: '--server', badValue: ['shop', '-o', 'xml'], badMessage: '-o: expected table or json, got "xml"' },
  { command: 'suggest', load: () => import('../../../cli/commands/suggest.js'), stringFlag: '--flows', badValue: ['--manifests', 'm', '--external-prefix', '40'], badMessage: '--external-prefix: expected an integer between 8 and 31, got "40"' },
  { command: 'audit', load: () => import('../../../cli/commands/audit.js'), stringFlag: '--policies', badValue: ['--policies', 'p', '--fail-on', 'severe'], badMessage: '--fail-on: expected one of low, medium, high, got "severe"' },
  { command: 'fix', load: () => import('../../../cli/commands/fix.js'), stringFlag: '--flows', badValue: ['--policies', 'p', '--flows', 'f', '--format', 'xml'], badMessage: '--format: expected yaml or json, got "xml"' },
];

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
});
afterEach(() => {
  vi.restoreAllMocks();
});

describe.each(CASES)('rampart $command', (c) => {
  it('an unknown flag: exit 2, named', async () => {
    const { run } = await c.load();
    expect(await run(['--no-such-flag', 'x'])).toBe(2);
    expect(err).toContain('--no-such-flag: unknown flag');
    expect(err).toContain(`usage: rampart ${c.command}`);
  });

  it('a flag without its value: exit 2, named', async () => {
    const { run } = await c.load();
    expect(await run([c.stringFlag])).toBe(2);
    expect(err).toContain(`${c.stringFlag}: expects a value`);
  });

  it('a bad value: exit 2, named', async () => {
    const { run } = await c.load();
    expect(await run(c.badValue)).toBe(2);
    expect(err).toContain(c.badMessage);
  });

  it('--help and -h: the usage on stdout, exit 0', async () => {
    const { run } = await c.load();
    expect(await run(['--help'])).toBe(0);
    expect(await run(['-h'])).toBe(0);
    expect(out).toContain(`usage: rampart ${c.command}`);
    expect(err).toBe('');
  });
});

describe('rampart demo --first-run-after', () => {
  it('sooner than 5s: exit 2, named (the control plane and agents would not be up to see the run)', async () => {
    const { run } = await import('../../../cli/commands/demo.js');
    expect(await run(['--first-run-after', '2s'])).toBe(2);
    expect(err).toContain('--first-run-after: must be at least 5000ms, got 2s');
    expect(await run(['--first-run-after', 'soon'])).toBe(2);
    expect(err).toContain('--first-run-after: expected a duration');
  });

  it('is in the usage', async () => {
    const { run } = await import('../../../cli/commands/demo.js');
    expect(await run(['--help'])).toBe(0);
    expect(out).toContain('--first-run-after <dur>');
  });
});
