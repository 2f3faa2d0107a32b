/**
 * Crash-safe small files: write to a temporary name, fsync it, rename it over the target,
 * fsync the folder. A reader (or a restart after kill -9) sees the old content or the new,
 * never a mix.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export function writeFileAtomic(file: string, content: string): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  let dfd: number | null = null;
  try {
    dfd = fs.openSync(dir, 'r');
    fs.fsyncSync(dfd);
  } catch {
    // NOTE: some filesystems refuse fsync on a directory; the rename itself is still atomic.
  } finally {
    if (dfd !== null) fs.closeSync(dfd);
  }
}
