import { RuleTester } from 'eslint';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';
import rule from '../../../tools/eslint/index-imports.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url)).replace(/\/$/, '');
RuleTester.describe = describe;
RuleTester.it = it;
const tester = new RuleTester({ languageOptions: { ecmaVersion: 2022, sourceType: 'module' } });

tester.run('rampart/index-imports', rule, {
  valid: [
    { filename: `${ROOT}/agent/main.ts`, code: "import { x } from '../core/flow/index.js';" },
    { filename: `${ROOT}/core/flow/flow.ts`, code: "import { x } from './endpoint.js';" }, // inside the folder
    { filename: `${ROOT}/core/policy/match.ts`, code: "import { x } from '../common/index.js';" },
    { filename: `${ROOT}/agent/main.ts`, code: "import { x } from './config.js'; import y from 'node:fs';" }, // no index.ts there
  ],
  invalid: [
    {
      filename: `${ROOT}/agent/main.ts`,
      code: "import { x } from '../core/flow/flow.js';",
      errors: [{ message: "import core/flow through its index.ts ('../core/flow/index.js'), not ../core/flow/flow.js" }],
    },
    {
      filename: `${ROOT}/core/policy/parse.ts`,
      code: "export { problem } from '../common/problem.js'; const m = import('../summary/aggregator.js');",
      errors: [{ messageId: 'deep' }, { messageId: 'deep' }],
    },
  ],
});
