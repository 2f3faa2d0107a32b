/**
 * Lines of a text file or of stdin (`-`), read as a stream so captures of any size work in
 * bounded memory. Line numbers are 1-based, as editors and `file:line` messages count them.
 */
import { createReadStream } from 'node:fs';
import { access, constants, stat } from 'node:fs/promises';
import { stdin } from 'node:process';
import { createInterface } from 'node:readline';
import { err, ok, type Result } from '../core/common/index.js';

export const STDIN_NAME = '<stdin>';

export interface LineSource {
  /** How errors name this source: the path, or `<stdin>`. */
  readonly name: string;
  readonly lines: AsyncIterable<string>;
}

/** Opens `path` (or stdin for `-`); fails with a one-line message when it cannot be read. */
export async function openLineSource(path: string): Promise<Result<LineSource, string>> {
  if (path === '-') return ok({ name: STDIN_NAME, lines: createInterface({ input: stdin, crlfDelay: Infinity }) });
  try {
    await access(path, constants.R_OK);
    if ((await stat(path)).isDirectory()) return err(`${path}: expected a file of flows, got a folder`);
  } catch (e) {
    return err(`${path}: cannot read: ${e instanceof Error ? e.message : String(e)}`);
  }
  return ok({ name: path, lines: createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity }) });
}
