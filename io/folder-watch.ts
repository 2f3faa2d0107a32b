/**
 * Keeps a folder's contents current for the file-backed sources (contracts, baseline): a scan
 * at start, a debounced scan on every fs.watch event, and a periodic rescan, because fs.watch
 * misses events on some filesystems (network mounts, some container volumes).
 */
import * as fs from 'node:fs';

export const DEFAULT_RESCAN_MS = 2000;
const WATCH_DEBOUNCE_MS = 50;

export interface FolderWatchOptions {
  readonly dir: string;
  readonly rescanMs?: number;
  /** fs.watch failed or is unavailable; the periodic rescan carries on regardless. */
  readonly onWatchError?: (e: Error) => void;
  /** Reads the folder again; called synchronously once before watchFolder returns. */
  readonly rescan: () => void;
}

/** Scans now, then on change and periodically until the signal aborts. */
export function watchFolder(o: FolderWatchOptions, signal: AbortSignal): void {
  o.rescan();
  const timer = setInterval(o.rescan, o.rescanMs ?? DEFAULT_RESCAN_MS);
  timer.unref();
  let debounce: NodeJS.Timeout | null = null;
  const scheduleRescan = (): void => {
    if (debounce) clearTimeout(debounce);
    debounce = setTimeout(() => {
      debounce = null;
      o.rescan();
    }, WATCH_DEBOUNCE_MS);
  };
  let watcher: fs.FSWatcher | null = null;
  try {
    watcher = fs.watch(o.dir, scheduleRescan);
    watcher.on('error', (e) => {
      o.onWatchError?.(e);
    });
  } catch (e) {
    o.onWatchError?.(e instanceof Error ? e : new Error(String(e)));
  }
  signal.addEventListener(
    'abort',
    () => {
      clearInterval(timer);
      if (debounce) clearTimeout(debounce);
      watcher?.close();
    },
    { once: true },
  );
}
