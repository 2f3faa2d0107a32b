// ESLint flat config: typescript-eslint strict plus the module boundaries of style.md 2.2.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import indexImports from './tools/eslint/index-imports.js';

const restrict = (patterns) => ({
  'no-restricted-imports': ['error', { patterns }],
});

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'proto/gen/**', 'tools/**/*.d.ts', '.cache/**', 'test-results/**', 'controlplane/http/static/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', URL: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', performance: 'readonly', fetch: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', setImmediate: 'readonly', queueMicrotask: 'readonly', structuredClone: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-extraneous-class': 'off',
      '@typescript-eslint/no-invalid-void-type': 'off',
      '@typescript-eslint/unified-signatures': 'off',
      '@typescript-eslint/no-dynamic-delete': 'off',
    },
  },
  {
    // Type-checked rules (style.md 2.11): stream code must not drop a promise or hand one to a
    // callback that ignores it, and every switch over a union names each member.
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': ['error', { considerDefaultExhaustiveForUnions: true }],
    },
  },
  {
    // style.md 2.2: a folder with an index.ts is imported through it (tests may import anything).
    files: ['**/*.ts'],
    ignores: ['test/**'],
    plugins: { rampart: { rules: { 'index-imports': indexImports } } },
    rules: { 'rampart/index-imports': 'error' },
  },
  // Module boundaries (style.md 2.2, issue 18): each top-level folder names what it may not
  // import. Layers, bottom up: core (pure) ← proto, io ← replay ← sim; agent and controlplane
  // sit on those and never import each other; cli (the commands) is on top and nothing
  // imports it. Folder-level cycles are tools/check-cycles.mjs's job.
  {
    files: ['core/**/*.ts'],
    rules: restrict([
      { group: ['node:*'], message: 'core/ is pure: no I/O.' },
      { group: ['@grpc/*', 'protobufjs', 'prom-client', 'ws', '@kubernetes/*', 'yaml'], message: 'core/ takes no npm imports.' },
      { group: ['**/agent/**', '**/controlplane/**', '**/proto/**', '**/cli/**', '**/sim/**', '**/replay/**', '**/io/**', '**/bench/**', '**/test/**'], message: 'core/ imports only core/.' },
    ]),
  },
  {
    files: ['proto/**/*.ts'],
    rules: restrict([{ group: ['**/agent/**', '**/controlplane/**', '**/cli/**', '**/sim/**', '**/replay/**', '**/io/**', '**/bench/**', '**/test/**'], message: 'proto/ is shared: it imports only core/.' }]),
  },
  {
    files: ['io/**/*.ts'],
    rules: restrict([{ group: ['**/agent/**', '**/controlplane/**', '**/cli/**', '**/sim/**', '**/replay/**', '**/proto/**', '**/bench/**', '**/test/**'], message: 'io/ is the process-side toolkit under every command: it imports only core/.' }]),
  },
  {
    files: ['replay/**/*.ts'],
    rules: restrict([{ group: ['**/agent/**', '**/controlplane/**', '**/cli/**', '**/sim/**', '**/bench/**', '**/test/**'], message: 'replay/ serves captures: it imports only core/, proto/ and io/.' }]),
  },
  {
    files: ['sim/**/*.ts'],
    rules: restrict([{ group: ['**/agent/**', '**/controlplane/**', '**/cli/**', '**/bench/**', '**/test/**'], message: 'sim/ is the simulated cluster: it imports only core/, proto/, io/ and replay/ (the real agents and control plane are started as processes).' }]),
  },
  {
    files: ['agent/**/*.ts'],
    rules: restrict([{ group: ['**/controlplane/**', '**/sim/**', '**/cli/**', '**/replay/**', '**/bench/**', '**/test/**'], message: 'agent/ never imports the control plane, the simulator or the commands.' }]),
  },
  {
    files: ['controlplane/**/*.ts'],
    rules: restrict([{ group: ['**/agent/**', '**/sim/**', '**/cli/**', '**/replay/**', '**/bench/**', '**/test/**'], message: 'controlplane/ never imports the agent, the simulator or the commands.' }]),
  },
  {
    files: ['cli/**/*.ts'],
    rules: restrict([{ group: ['**/bench/**', '**/test/**'], message: 'cli/ ships: it never imports benchmarks or tests.' }]),
  },
);
