/**
 * A validation problem: where (a field path such as `spec.rollout.stages[2].percent`, or
 * `file.jsonl:12`) and what was expected. Validators collect every problem, not just the first.
 */
export interface Problem {
  readonly path: string;
  readonly message: string;
}

export const problem = (path: string, message: string): Problem => ({ path, message });

/** Joins a parent path and a child key the way the API server prints field paths. */
export function childPath(parent: string, key: string | number): string {
  if (typeof key === 'number') return `${parent}[${key}]`;
  return parent === '' ? key : `${parent}.${key}`;
}

export function formatProblems(problems: readonly Problem[]): string {
  return problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('\n');
}
