import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const SCRIPT = fileURLToPath(new URL('../../../tools/check-cycles.mjs', import.meta.url));
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'rampart-cycles-'));
  dirs.push(root);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    writeFileSync(join(root, name), text);
  }
  return root;
}

const check = (root: string): { status: number | null; out: string } => {
  const r = spawnSync(process.execPath, [SCRIPT, root], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
};

describe('tools/check-cycles.mjs', () => {
  it('finds a cycle of type-only imports, a multi-line import, a re-export and a dynamic import', () => {
    const root = tree({
      'p/a.ts': "import type { B } from './b.js';\nexport interface A { b: B }\n",
      'p/b.ts': "import {\n  type A,\n} from './a.js';\nexport interface B { a?: A }\n",
      'q/c.ts': "export const load = () => import('../r/index.js');\n",
      'r/index.ts': "export * from '../q/c.js';\n",
    });
    const r = check(root);
    expect(r.status).toBe(1);
    expect(r.out).toMatch(/p\/a\.ts → .*p\/b\.ts → .*p\/a\.ts/);
    expect(r.out).toMatch(/q\/c\.ts → .*r\/index\.ts → .*q\/c\.ts/);
    expect(r.out).toContain('2 cycle(s) in 4 files');
  });

  it('passes a tree without cycles (comments and package imports do not count)', () => {
    const root = tree({
      'a.ts': "import { b } from './b.js';\nimport fs from 'node:fs';\n// import { a } from './a.js';\nexport const a = b + String(fs);\n",
      'b.ts': "/* import { a } from './a.js'; */\nexport const b = 1;\n",
    });
    expect(check(root)).toMatchObject({ status: 0, out: expect.stringContaining('no import cycles in 2 files') });
  });

  it('finds a folder cycle with no file cycle: the files directly in a folder are that folder, type imports count', () => {
    const root = tree({
      'app/main.ts': "import { run } from './part/run.js';\nexport const main = run;\n",
      'app/config.ts': 'export interface Config { a: number }\n',
      'app/part/run.ts': "import type { Config } from '../config.js';\nexport const run = (c?: Config) => c;\n",
      'lib/util.ts': "import { main } from '../app/main.js';\nexport const util = main;\n",
    });
    const r = check(root);
    expect(r.status).toBe(1);
    expect(r.out).not.toContain('import cycle (');
    expect(r.out).toMatch(/folder cycle \(2 folders\): \S*app → \S*app\/part → \S*app \(\S*app\/main\.ts → \S*app\/part\/run\.ts; \S*app\/part\/run\.ts → \S*app\/config\.ts\)/);
    expect(r.out).toContain('1 folder cycle(s) in 3 folders');
  });

  it('passes folders that import each other one way only', () => {
    const root = tree({
      'app/main.ts': "import { run } from './part/run.js';\nimport { util } from '../lib/util.js';\nexport const main = run + util;\n",
      'app/part/run.ts': "import { util } from '../../lib/util.js';\nexport const run = util;\n",
      'lib/util.ts': 'export const util = 1;\n',
    });
    expect(check(root)).toMatchObject({ status: 0, out: expect.stringContaining('no import cycles in 3 files, 3 folders') });
  });

  it('the project has none', () => {
    const r = spawnSync(process.execPath, [SCRIPT], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
