/**
 * Reads `hubble observe -o json` lines into domain Flows for the authoring commands
 * (suggest, audit, fix): each flow is handed to `onFlow` in order; malformed lines are
 * collected as `file:line` problems (the first few are kept) and counted, never thrown.
 */
import type { Problem } from '../core/common/index.js';
import { parseHubbleLine, type Flow } from '../core/flow/index.js';
import { openLineSource } from './line-source.js';

export interface FlowReadResult {
  readonly name: string;
  readonly lines: number;
  readonly flows: number;
  readonly lostEvents: number;
  readonly badLines: number;
  /** The first malformed lines (or the read error), with file and line. */
  readonly problems: readonly Problem[];
}

const MAX_PROBLEMS = 20;

export async function readFlows(path: string, onFlow: (flow: Flow) => void): Promise<FlowReadResult> {
  const source = await openLineSource(path);
  if (!source.ok) return { name: path, lines: 0, flows: 0, lostEvents: 0, badLines: 1, problems: [{ path, message: source.error }] };
  const problems: Problem[] = [];
  let lines = 0;
  let flows = 0;
  let lost = 0;
  let bad = 0;
  try {
    for await (const line of source.value.lines) {
      lines++;
      const parsed = parseHubbleLine(line);
      if (!parsed.ok) {
        bad++;
        if (problems.length < MAX_PROBLEMS) problems.push({ path: `${source.value.name}:${lines}`, message: parsed.error });
        continue;
      }
      if (parsed.value.kind === 'lost') lost += parsed.value.count;
      else if (parsed.value.kind === 'flow') {
        flows++;
        onFlow(parsed.value.flow);
      }
    }
  } catch (e) {
    bad++;
    problems.push({ path: `${source.value.name}:${lines + 1}`, message: `cannot read: ${e instanceof Error ? e.message : String(e)}` });
  }
  return { name: source.value.name, lines, flows, lostEvents: lost, badLines: bad, problems };
}
