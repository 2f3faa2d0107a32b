/**
 * vitest setupFiles of every project: every fast-check property runs from the one seed
 * vitest.config.ts chose for this run (FC_SEED: fixed under CI, else random and printed at
 * the start of the run), so a failure found locally is repeated with `FC_SEED=<seed>`.
 * Properties that pass their own `seed` keep it.
 */
import fc from 'fast-check';

const seed = Number(process.env['FC_SEED']);
if (!Number.isInteger(seed)) throw new Error(`FC_SEED must be an integer (vitest.config.ts sets it), got ${JSON.stringify(process.env['FC_SEED'])}`);
fc.configureGlobal({ seed });
