/**
 * `npm run bench`: runs every compiled `bench/*.bench.js` in its own child process (so one
 * benchmark's heap and JIT state never colour another's) and lets each print its figures.
 * `npm run bench -- policy` runs only the benchmarks whose file name contains "policy".
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(here)
  .filter((f) => f.endsWith('.bench.js') && f.includes(filter))
  .sort();
let failed = 0;
for (const file of files) {
  process.stdout.write(`\n=== ${file.replace(/\.bench\.js$/, '')} ===\n`);
  const r = spawnSync(process.execPath, ['--expose-gc', join(here, file)], { stdio: 'inherit' });
  if (r.status !== 0) failed++;
}
process.exit(failed === 0 ? 0 : 1);
