/**
 * A validation problem: where (a field path such as `spec.rollout.stages[2].percent`, or
 * `file.jsonl:12`) and what was expected. Validators collect every problem, not just the first.
 */
export interface Problem {
  readonly path: string;
  readonly message: string;
  /** What kind of problem, for a caller that acts on it (never match the message text). */
  readonly code?: ProblemCode;
}

/** `over-limit`: a list or map longer than its bound (core/contract/limits.ts, the CRD's). */
export type ProblemCode = 'over-limit';

export const problem = (path: string, message: string, code?: ProblemCode): Problem => (code === undefined ? { path, message } : { path, message, code });

/** Joins a parent path and a child key the way the API server prints field paths. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('\n');
}
