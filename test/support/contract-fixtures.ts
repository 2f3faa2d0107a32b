/**
 * Loads the contract fixtures shared by the parser's unit tests and the API-server agreement
 * test: deploy/examples/*.yaml and test/fixtures/contracts/valid/*.yaml must be accepted,
 * test/fixtures/contracts/invalid/*.yaml rejected. An invalid fixture names the problems it
 * must produce in header lines: `# expect: <field path> :: <message substring>`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

export interface ExpectedProblem {
  readonly path: string;
  readonly messageIncludes: string;
}

export interface ContractFixture {
  /** Repo-relative file name, for test names and messages. */
  readonly file: string;
  readonly doc: unknown;
  readonly expected: readonly ExpectedProblem[];
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

function load(dir: string): ContractFixture[] {
  return readdirSync(repoRoot + dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((f) => {
      const text = readFileSync(`${repoRoot}${dir}/${f}`, 'utf8');
      const expected = [...text.matchAll(/^# expect: (\S+) :: ?(.*)$/gm)].map((m) => ({
        path: m[1]!,
        messageIncludes: m[2]!.trim(),
      }));
      return { file: `${dir}/${f}`, doc: parse(text) as unknown, expected };
    });
}

export const validContracts = (): ContractFixture[] => [...load('deploy/examples'), ...load('test/fixtures/contracts/valid')];
export const invalidContracts = (): ContractFixture[] => load('test/fixtures/contracts/invalid');
