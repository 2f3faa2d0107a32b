import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileContractSource, entriesFromFile, mergeEntries } from '../../../controlplane/contracts/file-contract-source.js';
import { stringify } from 'yaml';
import { contractDoc } from '../../support/window-builders.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

describe('entriesFromFile', () => {
  it('parses each document of a multi-document file', () => {
    const text = `${stringify(contractDoc({ name: 'a' }))}---\n${stringify(contractDoc({ name: 'b' }))}`;
    const entries = entriesFromFile('two.yaml', text);
    expect(entries.map((e) => [e.name, e.contract?.name, e.problems.length])).toEqual([
      ['a', 'a', 0],
      ['b', 'b', 0],
    ]);
  });

  it('keeps every problem of an invalid document with the file and line', () => {
    const doc = contractDoc({ name: 'bad' }) as { spec: { gates: Record<string, unknown> } };
    doc.spec.gates['minFlows'] = -5;
    doc.spec.gates['maxWouldDenyRatio'] = 7;
    const [entry] = entriesFromFile('bad.yaml', stringify(doc));
    expect(entry?.name).toBe('bad');
    expect(entry?.contract).toBeNull();
    expect(entry?.problems.map((p) => p.path).sort()).toEqual(['spec.gates.maxWouldDenyRatio', 'spec.gates.minFlows']);
    expect(entry?.problems.every((p) => /\(bad\.yaml:\d+\)$/.test(p.message))).toBe(true);
  });

  it('turns a syntax error into an entry named after the file', () => {
    const [entry] = entriesFromFile('broken.yaml', 'spec: [unclosed\n');
    expect(entry?.name).toBe('broken');
    expect(entry?.problems[0]?.path).toMatch(/^broken\.yaml:\d+$/);
  });

  it('a name defined twice makes the contract invalid, naming both files', () => {
    const a = entriesFromFile('a.yaml', stringify(contractDoc({ name: 'x' })));
    const b = entriesFromFile('b.yaml', stringify(contractDoc({ name: 'x' })));
    const [merged] = mergeEntries([a, b]);
    expect(merged?.contract).toBeNull();
    expect(merged?.problems[0]?.message).toBe('contract "x" is defined in both a.yaml and b.yaml');
  });
});

describe('FileContractSource', () => {
  it('notifies on changes only, and picks up additions, edits and removals on rescan', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rampart-src-'));
    dirs.push(dir);
    fs.writeFileSync(path.join(dir, 'a.yaml'), stringify(contractDoc({ name: 'a' })));
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'ignored');
    const source = new FileContractSource({ dir, rescanMs: 60_000 });
    let changes = 0;
    source.onChange(() => changes++);
    const controller = new AbortController();
    await source.start(controller.signal);
    try {
      expect(source.snapshot().map((e) => e.name)).toEqual(['a']);
      source.rescan();
      const afterStart = changes;
      source.rescan();
      expect(changes).toBe(afterStart);
      fs.writeFileSync(path.join(dir, 'b.json'), JSON.stringify(contractDoc({ name: 'b' })));
      source.rescan();
      expect(source.snapshot().map((e) => e.name)).toEqual(['a', 'b']);
      fs.writeFileSync(path.join(dir, 'a.yaml'), stringify(contractDoc({ name: 'a', allowPorts: [1, 2] })));
      source.rescan();
      expect(source.snapshot()[0]?.contract?.spec.rawPolicies).toHaveLength(1);
      fs.rmSync(path.join(dir, 'b.json'));
      source.rescan();
      expect(source.snapshot().map((e) => e.name)).toEqual(['a']);
      expect(changes).toBe(afterStart + 3);
    } finally {
      controller.abort();
    }
  });

  it('reports an unreadable folder as a problem instead of throwing', async () => {
    const source = new FileContractSource({ dir: path.join(os.tmpdir(), 'rampart-does-not-exist-xyz'), rescanMs: 60_000 });
    const controller = new AbortController();
    await source.start(controller.signal);
    controller.abort();
    expect(source.snapshot()[0]?.problems[0]?.message).toMatch(/cannot read the contracts folder/);
  });
});
