// Types for index-imports.js (an ESLint rule module), for the test that imports it.
import type { Rule } from 'eslint';

declare const rule: Rule.RuleModule;
export default rule;
