import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_FILE, Journal, type HistoryEntry } from '../../../controlplane/state/journal.js';

const dirs: string[] = [];
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-journal-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

const entry = (contract: string, stageIndex: number, phase: HistoryEntry['to']['phase'], revision = 1): Omit<HistoryEntry, 'id'> => ({
  atMs: 1000 + stageIndex,
  contract,
  revision,
  policiesHash: `h${revision}`,
  kind: 'reconcile',
  from: null,
  to: { stageIndex, stageName: `s${stageIndex}`, phase },
  stageEnteredAtMs: 500 + stageIndex,
  pausedFrom: null,
  decision: 'advance',
  reasons: ['all gates passed'],
  evidence: null,
  actor: 'auto',
});

describe('Journal', () => {
  it('replays the ramp state and history of every contract after a reopen', () => {
    const dir = tmp();
    const j = new Journal(dir);
    expect(j.open()).toEqual({ entries: 0, truncatedBytes: 0, badLines: [] });
    j.append(entry('a', 0, 'Observing'));
    j.append(entry('b', 0, 'Observing'));
    j.append(entry('a', 1, 'Observing'));
    j.append(entry('a', 1, 'Paused'));
    j.close();

    const again = new Journal(dir);
    expect(again.open().entries).toBe(4);
    expect(again.history('a').map((e) => e.id)).toEqual([1, 3, 4]);
    expect(again.rampState('a')).toEqual({ contract: 'a', revision: 1, policiesHash: 'h1', stageIndex: 1, phase: 'Paused', stageEnteredAtMs: 501, pausedFrom: null });
    expect(again.rampState('zzz')).toBeNull();
    // ids continue, never reused
    expect(again.append(entry('b', 1, 'Observing')).id).toBe(5);
    again.close();
  });

  it('cuts off a torn last line (a crash mid-append) and keeps every complete one', () => {
    const dir = tmp();
    const j = new Journal(dir);
    j.open();
    j.append(entry('a', 0, 'Observing'));
    j.append(entry('a', 1, 'Observing'));
    j.close();
    const file = path.join(dir, JOURNAL_FILE);
    fs.appendFileSync(file, '{"id":3,"contract":"a","revis');
    const again = new Journal(dir);
    const report = again.open();
    expect(report.entries).toBe(2);
    expect(report.truncatedBytes).toBe(Buffer.byteLength('{"id":3,"contract":"a","revis'));
    expect(again.append(entry('a', 2, 'Observing')).id).toBe(3);
    again.close();
    const lines = fs.readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => (JSON.parse(l) as HistoryEntry).id)).toEqual([1, 2, 3]);
  });

  it('skips and reports unreadable complete lines instead of failing', () => {
    const dir = tmp();
    fs.writeFileSync(path.join(dir, JOURNAL_FILE), `${JSON.stringify({ id: 1, ...entry('a', 0, 'Observing') })}\nnot json\n${JSON.stringify({ id: 1, ...entry('a', 1, 'Observing') })}\n`);
    const j = new Journal(dir);
    const report = j.open();
    expect(report.entries).toBe(1);
    expect(report.badLines.map((b) => b.line)).toEqual([2, 3]);
    expect(report.badLines[1]?.message).toMatch(/duplicate or out-of-order id 1/);
    j.close();
  });
});

describe('known nodes', () => {
  it('round-trips through an atomic write and tolerates a damaged file', async () => {
    const { loadKnownNodes, saveKnownNodes, KNOWN_NODES_FILE } = await import('../../../controlplane/state/known-nodes.js');
    const dir = tmp();
    expect(loadKnownNodes(dir).size).toBe(0);
    saveKnownNodes(dir, new Map([['node-b', 2], ['node-a', 1]]));
    expect([...loadKnownNodes(dir)]).toEqual([['node-a', 1], ['node-b', 2]]);
    expect(fs.readdirSync(dir)).toEqual([KNOWN_NODES_FILE]);
    fs.writeFileSync(path.join(dir, KNOWN_NODES_FILE), '{"nodes":{"x":');
    expect(loadKnownNodes(dir).size).toBe(0);
  });
});
