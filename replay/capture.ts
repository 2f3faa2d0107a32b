/**
 * Reads a capture (`hubble observe -o json` lines) into GetFlowsResponse records. Every bad
 * line is reported with its file and line number; blank lines are skipped.
 */
import { readFile } from 'node:fs/promises';
import { err, ok, problem, type Problem, type Result } from '../core/common/index.js';
import { parseResponseLine } from '../proto/codec/hubble-json.js';
import type { PbRecord } from '../proto/codec/hubble-types.js';

export function parseCapture(text: string, file: string): Result<PbRecord[], Problem[]> {
  const records: PbRecord[] = [];
  const problems: Problem[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    const r = parseResponseLine(line, `${file}:${i + 1}`);
    if (r.ok) records.push(r.value);
    else problems.push(...r.error);
  }
  return problems.length === 0 ? ok(records) : err(problems);
}

export async function loadCapture(file: string): Promise<Result<PbRecord[], Problem[]>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return err([problem(file, `cannot read: ${e instanceof Error ? e.message : String(e)}`)]);
  }
  return parseCapture(text, file);
}
