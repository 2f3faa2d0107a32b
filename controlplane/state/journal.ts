/**
 * The crash-safe history: an append-only JSON-lines log in the --state folder, one entry per
 * transition, each written and fsync'ed before its effects are applied. The ramp state of
 * every contract (revision counter, stage, phase) is the fold of this log, so kill -9 at any
 * moment loses nothing acknowledged and duplicates nothing: a torn last line (the write that
 * was in flight) is cut off at load; every complete line is replayed exactly once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DecisionKind } from '../../core/contract/index.js';
import type { ActionKind, EvidenceSnapshot, Phase, RampState } from '../../core/rollout/index.js';

export const JOURNAL_FILE = 'history.jsonl';

export interface StagePoint {
  readonly stageIndex: number;
  readonly stageName: string;
  readonly phase: Phase;
}

export interface HistoryEntry {
  /** Monotonic over the whole log, from 1. */
  readonly id: number;
  readonly atMs: number;
  readonly contract: string;
  readonly revision: number;
  readonly policiesHash: string;
  readonly kind: ActionKind;
  /** null for the first revision of a contract. */
  readonly from: StagePoint | null;
  readonly to: StagePoint;
  readonly stageEnteredAtMs: number;
  readonly pausedFrom: Phase | null;
  readonly decision: DecisionKind;
  readonly reasons: readonly string[];
  readonly evidence: EvidenceSnapshot | null;
  readonly actor: string;
}

export interface LoadReport {
  readonly entries: number;
  /** Bytes cut off the end: a write torn by a crash. */
  readonly truncatedBytes: number;
  /** Complete lines that could not be read (counted, skipped). */
  readonly badLines: readonly { readonly line: number; readonly message: string }[];
}

function isEntry(v: unknown): v is HistoryEntry {
  if (typeof v !== 'object' || v === null) return false;
  const o = v as Record<string, unknown>;
  return typeof o['id'] === 'number' && typeof o['contract'] === 'string' && typeof o['revision'] === 'number' && typeof o['to'] === 'object' && o['to'] !== null;
}

/** The history could not be written (a full disk, most often): the transition must not happen. */
export class JournalWriteError extends Error {
  readonly code: string | null;

  constructor(message: string, code: string | null, cause: unknown) {
    super(message, { cause });
    this.name = 'JournalWriteError';
    this.code = code;
  }
}

export class Journal {
  private readonly file: string;
  private fd: number | null = null;
  private readonly entries: HistoryEntry[] = [];
  private readonly byContract = new Map<string, HistoryEntry[]>();
  private nextId = 1;

  constructor(stateDir: string) {
    this.file = path.join(stateDir, JOURNAL_FILE);
  }

  /** Creates the folder if needed, replays the log, and opens it for appending. */
  open(): LoadReport {
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const created = !fs.existsSync(this.file);
    const text = created ? '' : fs.readFileSync(this.file, 'utf8');
    let truncatedBytes = 0;
    const badLines: { line: number; message: string }[] = [];
    let offset = 0;
    let lineNo = 0;
    while (offset < text.length) {
      const nl = text.indexOf('\n', offset);
      lineNo++;
      if (nl === -1) {
        // No newline: the append in flight when the process died. It was never acknowledged.
        truncatedBytes = Buffer.byteLength(text.slice(offset), 'utf8');
        break;
      }
      const line = text.slice(offset, nl);
      offset = nl + 1;
      if (line.trim() === '') continue;
      try {
        const v: unknown = JSON.parse(line);
        if (!isEntry(v)) throw new Error('not a history entry');
        if (v.id < this.nextId) throw new Error(`duplicate or out-of-order id ${v.id}`);
        this.remember(v);
      } catch (e) {
        badLines.push({ line: lineNo, message: e instanceof Error ? e.message : String(e) });
      }
    }
    if (truncatedBytes > 0) {
      fs.truncateSync(this.file, Buffer.byteLength(text, 'utf8') - truncatedBytes);
    }
    this.fd = fs.openSync(this.file, 'a');
    if (created) {
      fs.fsyncSync(this.fd);
      fsyncDir(path.dirname(this.file));
    }
    return { entries: this.entries.length, truncatedBytes, badLines };
  }

  private remember(e: HistoryEntry): void {
    this.entries.push(e);
    let list = this.byContract.get(e.contract);
    if (!list) {
      list = [];
      this.byContract.set(e.contract, list);
    }
    list.push(e);
    this.nextId = e.id + 1;
  }

  /**
   * Appends one entry durably (write + fsync) and returns it with its id. On a full disk (or
   * any write error) it throws and leaves the file as it was: a short write is cut back off,
   * so the next append does not glue a new entry onto half of this one.
   */
  append(entry: Omit<HistoryEntry, 'id'>): HistoryEntry {
    if (this.fd === null) throw new Error('journal is not open');
    const fd = this.fd;
    const full: HistoryEntry = { id: this.nextId, ...entry };
    const bytes = Buffer.from(`${JSON.stringify(full)}\n`, 'utf8');
    const sizeBefore = fs.fstatSync(fd).size;
    try {
      let written = 0;
      while (written < bytes.length) {
        const n = fs.writeSync(fd, bytes, written, bytes.length - written);
        if (n <= 0) throw new Error('write returned 0');
        written += n;
      }
      fs.fsyncSync(fd);
    } catch (e) {
      try {
        fs.ftruncateSync(fd, sizeBefore);
      } catch {
        // NOTE: deliberately ignored: the open() replay drops a trailing partial line anyway.
      }
      const code = (e as NodeJS.ErrnoException).code;
      throw new JournalWriteError(`history not written to ${this.file}${code ? ` (${code})` : ''}: ${e instanceof Error ? e.message : String(e)}; nothing was applied`, code ?? null, e);
    }
    this.remember(full);
    return full;
  }

  history(contract: string): readonly HistoryEntry[] {
    return this.byContract.get(contract) ?? [];
  }

  contracts(): string[] {
    return [...this.byContract.keys()];
  }

  /** The ramp state the log ends in for a contract (null: never seen). */
  rampState(contract: string): RampState | null {
    const last = this.byContract.get(contract)?.at(-1);
    if (!last) return null;
    return {
      contract,
      revision: last.revision,
      policiesHash: last.policiesHash,
      stageIndex: last.to.stageIndex,
      phase: last.to.phase,
      stageEnteredAtMs: last.stageEnteredAtMs,
      pausedFrom: last.pausedFrom,
    };
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}

function fsyncDir(dir: string): void {
  // Makes the new file's directory entry durable; not every platform allows it on a directory.
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // NOTE: deliberately ignored: fsync on a directory is unsupported on some filesystems.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}
