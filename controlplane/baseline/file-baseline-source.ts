/**
 * The baseline in file mode (`rampart controlplane --baseline <dir>`): the NetworkPolicies
 * already in force, from a folder of YAML/JSON files (multi-document, or `List`s), watched
 * with fs.watch and rescanned on a timer (fs.watch misses events on some filesystems), like
 * the contracts folder. Each policy's owner is its `rampart.dev/contract` label, else null.
 * A manifest that does not parse is left out and reported through `problems()` (with file and
 * line); nothing here throws for bad input. The revision is a content hash of the policies,
 * so it changes exactly when one does.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { contentHash, isObject, problem, type Problem } from '../../core/common/index.js';
import { DEFAULT_NAMESPACE, parsePolicy, policyRef } from '../../core/policy/index.js';
import { parseYamlDocuments } from '../../io/yaml-documents.js';
import type { BaselinePolicy, BaselineSnapshot, BaselineSource } from './baseline-source.js';
import { watchFolder } from '../../io/folder-watch.js';

/** The label a contract's applied policies carry (product.md "Kubernetes mode"). */
export const CONTRACT_OWNER_LABEL = 'rampart.dev/contract';
const MANIFEST_FILE = /\.(ya?ml|json)$/i;

const byRef = (a: BaselinePolicy, b: BaselinePolicy): number => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0);

export interface BaselineFile {
  readonly policies: BaselinePolicy[];
  readonly problems: Problem[];
}

/** The policies of one file's text (pure apart from the name), every problem at `file:line`. */
export function baselineFromFile(relative: string, text: string): BaselineFile {
  const docs = parseYamlDocuments(text, relative);
  if (!docs.ok) return { policies: [], problems: docs.error };
  const out: BaselineFile = { policies: [], problems: [] };
  for (const doc of docs.value) {
    const add = (raw: unknown, at: string): void => {
      const where = (p: string): string => `${relative}:${doc.lineOf(p)}`;
      if (!isObject(raw)) {
        out.problems.push(problem(where(at), `document ${doc.index}${at ? `, ${at}` : ''}: expected a NetworkPolicy, CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or a List of them`));
        return;
      }
      if (typeof raw['kind'] === 'string' && raw['kind'].endsWith('List') && Array.isArray(raw['items'])) {
        raw['items'].forEach((item: unknown, i) => {
          add(item, `${at ? `${at}.` : ''}items[${i}]`);
        });
        return;
      }
      const parsed = parsePolicy(raw, at);
      if (!parsed.ok) {
        for (const p of parsed.error) out.problems.push(problem(where(p.path), `document ${doc.index}${p.path ? `, ${p.path}` : ''}: ${p.message}`));
        return;
      }
      const metadata = isObject(raw['metadata']) ? raw['metadata'] : {};
      const labels = isObject(metadata['labels']) ? metadata['labels'] : {};
      const owner = labels[CONTRACT_OWNER_LABEL];
      // A CCNP has no namespace; the others are judged in theirs, made explicit in the manifest.
      const clusterwide = parsed.value.kind === 'CiliumClusterwideNetworkPolicy';
      const namespace = clusterwide ? '' : parsed.value.namespace === '' ? DEFAULT_NAMESPACE : parsed.value.namespace;
      const manifest = clusterwide ? raw : { ...raw, metadata: { ...metadata, namespace } };
      out.policies.push({ ref: policyRef({ kind: parsed.value.kind, namespace, name: parsed.value.name }), manifest, owner: typeof owner === 'string' && owner !== '' ? owner : null });
    };
    add(doc.value, '');
  }
  return out;
}

/** Several files' policies as one snapshot: sorted by ref; a ref defined twice keeps the later (as `kubectl apply` would), with a problem. */
export function baselineSnapshotOf(files: readonly (readonly [string, BaselineFile])[]): { snapshot: BaselineSnapshot; problems: Problem[] } {
  const byRefMap = new Map<string, { policy: BaselinePolicy; file: string }>();
  const problems: Problem[] = [];
  for (const [file, f] of files) {
    problems.push(...f.problems);
    for (const p of f.policies) {
      const earlier = byRefMap.get(p.ref);
      if (earlier !== undefined) problems.push(problem(file, `${p.ref} is defined again (first in ${earlier.file}); the later definition is used`));
      byRefMap.set(p.ref, { policy: p, file });
    }
  }
  const policies = [...byRefMap.values()].map((e) => e.policy).sort(byRef);
  return { snapshot: { revision: contentHash(policies), policies }, problems };
}

/** No baseline (file mode without --baseline): every contract is judged on its own policies. */
export const EMPTY_BASELINE_SOURCE: BaselineSource = {
  start: () => Promise.resolve(),
  snapshot: () => ({ revision: '', policies: [] }),
  onChange: () => undefined,
};

export interface FileBaselineSourceOptions {
  readonly dir: string;
  readonly rescanMs?: number;
  /** Told about watcher failures (the periodic rescan carries on regardless). */
  readonly onWatchError?: (e: Error) => void;
  /** Told about the problems of each new snapshot (manifests left out, duplicates). */
  readonly onProblems?: (problems: readonly Problem[]) => void;
}

export class FileBaselineSource implements BaselineSource {
  private readonly o: FileBaselineSourceOptions;
  private current: BaselineSnapshot = { revision: contentHash([]), policies: [] };
  private currentProblems: readonly Problem[] = [];
  private signature = '';
  private readonly listeners: (() => void)[] = [];

  constructor(options: FileBaselineSourceOptions) {
    this.o = options;
  }

  snapshot(): BaselineSnapshot {
    return this.current;
  }

  /** What the last scan left out, with file and line. */
  problems(): readonly Problem[] {
    return this.currentProblems;
  }

  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  start(signal: AbortSignal): Promise<void> {
    watchFolder({ dir: this.o.dir, rescanMs: this.o.rescanMs, onWatchError: this.o.onWatchError, rescan: () => this.rescan() }, signal);
    return Promise.resolve();
  }

  /** Reads the folder again; notifies listeners only if the snapshot (or its problems) changed. */
  rescan(): void {
    const files: [string, BaselineFile][] = [];
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.o.dir).filter((f) => MANIFEST_FILE.test(f)).sort();
    } catch (e) {
      // An unreadable folder keeps the last good baseline: evidence judged against a guess is worse.
      const p = [problem(this.o.dir, `cannot read the baseline folder: ${e instanceof Error ? e.message : String(e)}`)];
      this.publish(this.current, p);
      return;
    }
    for (const f of names) {
      let text: string;
      try {
        text = fs.readFileSync(path.join(this.o.dir, f), 'utf8');
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
        files.push([f, { policies: [], problems: [problem(f, `cannot read: ${e instanceof Error ? e.message : String(e)}`)] }]);
        continue;
      }
      files.push([f, baselineFromFile(f, text)]);
    }
    const { snapshot, problems } = baselineSnapshotOf(files);
    this.publish(snapshot, problems);
  }

  private publish(snapshot: BaselineSnapshot, problems: readonly Problem[]): void {
    const signature = contentHash({ r: snapshot.revision, p: problems });
    if (signature === this.signature) return;
    this.signature = signature;
    const changed = snapshot.revision !== this.current.revision;
    this.current = snapshot;
    this.currentProblems = problems;
    if (problems.length > 0) this.o.onProblems?.(problems);
    if (changed) for (const l of this.listeners) l();
  }
}
