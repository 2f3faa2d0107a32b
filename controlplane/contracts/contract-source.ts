/**
 * Where contracts come from. The embedded mode reads a folder of files
 * (file-contract-source.ts); a Kubernetes source (RampContract CRDs through an informer)
 * implements the same interface later.
 */
import type { Problem } from '../../core/common/index.js';
import type { Contract } from '../../core/contract/index.js';

/** One contract document as the source holds it: parsed, or with every problem found. */
export interface ContractEntry {
  /** metadata.name, or (when the document has none) a name derived from where it came from. */
  readonly name: string;
  /** Where it came from: a file path relative to the folder, or a Kubernetes object reference. */
  readonly origin: string;
  /** null when the document is invalid. */
  readonly contract: Contract | null;
  /** Every problem, with field paths (or file:line for syntax errors). Empty when valid. */
  readonly problems: readonly Problem[];
}

export interface ContractSource {
  /** Loads the initial set, then keeps watching until the signal aborts. */
  start(signal: AbortSignal): Promise<void>;
  /** The current entries, sorted by name. */
  snapshot(): readonly ContractEntry[];
  /** Called after the set of entries (or any entry's content) changed. */
  onChange(listener: () => void): void;
}
