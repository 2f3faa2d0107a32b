/**
 * Contracts from a folder of YAML/JSON files (multi-document YAML allowed), watched with
 * fs.watch and, because fs.watch misses events on some filesystems and editors that save by
 * rename, rescanned on a timer as well. A file that fails to read or parse becomes an entry
 * with its problems; nothing here throws for bad input.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contentHash, problem } from '../../core/common/index.js';
import { parseContract } from '../../core/contract/index.js';
import { parseYamlDocuments } from '../../io/yaml-documents.js';
import type { ContractEntry, ContractSource } from './contract-source.js';
import { DEFAULT_RESCAN_MS, watchFolder } from '../../io/folder-watch.js';

const CONTRACT_FILE = /\.(ya?ml|json)$/i;

function nameOf(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const metadata = (value as Record<string, unknown>)['metadata'];
  if (typeof metadata !== 'object' || metadata === null) return null;
  const name = (metadata as Record<string, unknown>)['name'];
  return typeof name === 'string' && name !== '' ? name : null;
}

/**
 * Parses the text of one contract file into entries (pure apart from the file name). Each
 * problem keeps its field path and names the file and line in its message.
 */
export function entriesFromFile(relative: string, text: string): ContractEntry[] {
  const base = relative.replace(CONTRACT_FILE, '');
  const docs = parseYamlDocuments(text, relative);
  if (!docs.ok) return [{ name: base, origin: relative, contract: null, problems: docs.error }];
  return docs.value.map((doc) => {
    const fallback = docs.value.length > 1 ? `${base}#${doc.index}` : base;
    const parsed = parseContract(doc.value);
    if (parsed.ok) return { name: parsed.value.name, origin: relative, contract: parsed.value, problems: [] };
    return {
      name: nameOf(doc.value) ?? fallback,
      origin: relative,
      contract: null,
      problems: parsed.error.map((p) => ({ path: p.path, message: `${p.message} (${relative}:${doc.lineOf(p.path)})` })),
    };
  });
}

/** Entries of several files: names made unique (a second file with the same name is a problem). */
export function mergeEntries(files: readonly (readonly ContractEntry[])[]): ContractEntry[] {
  const byName = new Map<string, ContractEntry>();
  for (const entries of files) {
    for (const e of entries) {
      const first = byName.get(e.name);
      if (!first) {
        byName.set(e.name, e);
        continue;
      }
      // Keep the first, and mark the whole contract invalid: which file wins is not ours to guess.
      byName.set(e.name, {
        ...first,
        contract: null,
        problems: [...first.problems, problem('metadata.name', `contract ${JSON.stringify(e.name)} is defined in both ${first.origin} and ${e.origin}`)],
      });
    }
  }
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export interface FileContractSourceOptions {
  readonly dir: string;
  readonly rescanMs?: number;
  /** Told about watcher failures (the periodic rescan carries on regardless). */
  readonly onWatchError?: (e: Error) => void;
}

export class FileContractSource implements ContractSource {
  private readonly dir: string;
  private readonly rescanMs: number;
  private readonly onWatchError: (e: Error) => void;
  private entries: ContractEntry[] = [];
  private signature = '';
  private readonly listeners: (() => void)[] = [];

  constructor(options: FileContractSourceOptions) {
    this.dir = options.dir;
    this.rescanMs = options.rescanMs ?? DEFAULT_RESCAN_MS;
    this.onWatchError = options.onWatchError ?? (() => undefined);
  }

  snapshot(): readonly ContractEntry[] {
    return this.entries;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  start(signal: AbortSignal): Promise<void> {
    watchFolder({ dir: this.dir, rescanMs: this.rescanMs, onWatchError: this.onWatchError, rescan: () => this.rescan() }, signal);
    return Promise.resolve();
  }

  /** Reads the folder again; notifies listeners only if something changed. */
  rescan(): void {
    const files: ContractEntry[][] = [];
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.dir).filter((f) => CONTRACT_FILE.test(f)).sort();
    } catch (e) {
      files.push([{ name: '(contracts folder)', origin: this.dir, contract: null, problems: [problem(this.dir, `cannot read the contracts folder: ${e instanceof Error ? e.message : String(e)}`)] }]);
    }
    for (const f of names) {
      let text: string;
      try {
        text = fs.readFileSync(path.join(this.dir, f), 'utf8');
      } catch (e) {
        // Deleted between readdir and read, or unreadable: an entry with the problem.
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        files.push([{ name: f.replace(CONTRACT_FILE, ''), origin: f, contract: null, problems: [problem(f, `cannot read: ${e instanceof Error ? e.message : String(e)}`)] }]);
        continue;
      }
      files.push(entriesFromFile(f, text));
    }
    const entries = mergeEntries(files);
    const signature = contentHash(entries.map((e) => ({ n: e.name, o: e.origin, p: e.problems, h: e.contract ? contentHash(e.contract) : null })));
    if (signature === this.signature) return;
    this.signature = signature;
    this.entries = entries;
    for (const l of this.listeners) l();
  }
}
