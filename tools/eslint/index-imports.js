// ESLint rule `rampart/index-imports`: a folder with an index.ts is imported through it.
// From outside the folder, `core/flow/flow.js` is an error and `core/flow/index.js` is the
// way in; files inside the folder import each other directly. Tests may import anything
// (style.md 2.2), so the config leaves them out.
import { existsSync } from 'node:fs';
import path from 'node:path';

const indexCache = new Map();
const hasIndex = (dir) => {
  let v = indexCache.get(dir);
  if (v === undefined) {
    v = existsSync(path.join(dir, 'index.ts'));
    indexCache.set(dir, v);
  }
  return v;
};

/** The nearest folder at or above `dir` (up to `root`) that has an index.ts, or null. */
function moduleFolder(dir, root) {
  for (let d = dir; d.startsWith(root) && d !== root; d = path.dirname(d)) if (hasIndex(d)) return d;
  return null;
}

export default {
  meta: {
    type: 'problem',
    docs: { description: 'import a folder that has an index.ts through that index only' },
    schema: [],
    messages: { deep: "import {{folder}} through its index.ts ('{{suggest}}'), not {{file}}" },
  },
  create(context) {
    const file = context.filename;
    const root = context.cwd;
    const check = (node) => {
      const source = node.source?.value;
      if (typeof source !== 'string' || !source.startsWith('.')) return;
      const target = path.resolve(path.dirname(file), source);
      const folder = moduleFolder(path.dirname(target), root);
      if (folder === null) return;
      if (file.startsWith(folder + path.sep)) return; // inside the folder: direct imports are fine
      if (path.basename(target) === 'index.js' && path.dirname(target) === folder) return;
      const rel = path.relative(path.dirname(file), path.join(folder, 'index.js'));
      context.report({
        node: node.source,
        messageId: 'deep',
        data: { folder: path.relative(root, folder), file: source, suggest: rel.startsWith('.') ? rel : `./${rel}` },
      });
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check, ImportExpression: check };
  },
};
