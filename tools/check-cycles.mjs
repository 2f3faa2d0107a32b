#!/usr/bin/env node
// The import-cycle check of `npm run lint` (style.md 2.2): reads every .ts file of the
// project's source folders, resolves its relative imports (`./x.js` is `./x.ts`), and fails
// listing each cycle of the import graph. Type-only imports count too: a cycle of types is
// still two modules that cannot be understood (or split) one without the other.
// It checks folders too, as Go's compiler checks packages: a folder imports another when any
// file in it imports a file there, and the files directly in a folder are that folder (so a
// composition root that its subfolders import back is a cycle).
// Usage: node tools/check-cycles.mjs [folder ...]   (default: the source folders below)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const FOLDERS = process.argv.length > 2 ? process.argv.slice(2) : ['core', 'proto', 'io', 'agent', 'controlplane', 'cli', 'sim', 'bench', 'replay'];
const SKIP = new Set(['node_modules', 'dist', 'gen', 'static']);
// import … from '…' / export … from '…' / import('…') / import '…'
const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'";]*?from\s*['"]([^'"]+)['"]|import\s*\(\s*['"]([^'"]+)['"]\s*\)|^\s*import\s*['"]([^'"]+)['"]/gm;

function tsFiles(dir, out) {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) tsFiles(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

function resolve(from, spec) {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  for (const c of [base.replace(/\.js$/, '.ts'), `${base}.ts`, path.join(base, 'index.ts')]) if (existsSync(c)) return c;
  return null;
}

const files = FOLDERS.flatMap((f) => tsFiles(path.resolve(ROOT, f), []));
const graph = new Map();
for (const f of files) {
  const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const deps = new Set();
  for (const m of text.matchAll(IMPORT)) {
    const target = resolve(f, m[1] ?? m[2] ?? m[3]);
    if (target !== null && target !== f) deps.add(target);
  }
  graph.set(f, [...deps]);
}

// Tarjan's strongly connected components, iteratively (no recursion limit on deep graphs).
function components(graph) {
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const cycles = [];
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work = [[start, 0]];
    idx.set(start, index);
    low.set(start, index++);
    stack.push(start);
    onStack.add(start);
    while (work.length > 0) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      const deps = graph.get(v) ?? [];
      if (i < deps.length) {
        frame[1]++;
        const w = deps[i];
        if (!graph.has(w)) continue;
        if (!idx.has(w)) {
          idx.set(w, index);
          low.set(w, index++);
          stack.push(w);
          onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(v)));
      }
      if (low.get(v) === idx.get(v)) {
        const scc = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          scc.push(w);
        } while (w !== v);
        if (scc.length > 1) cycles.push(scc);
      }
    }
  }
  return cycles;
}

/** One concrete loop through a component, for the message: a → b → … → a. */
function loopIn(graph, scc) {
  const members = new Set(scc);
  const first = [...scc].sort()[0];
  const prev = new Map([[first, null]]);
  const queue = [first];
  while (queue.length > 0) {
    const v = queue.shift();
    for (const w of graph.get(v) ?? []) {
      if (w === first) {
        const chain = [];
        for (let x = v; x !== null; x = prev.get(x)) chain.unshift(x);
        return [...chain, first];
      }
      if (members.has(w) && !prev.has(w)) {
        prev.set(w, v);
        queue.push(w);
      }
    }
  }
  return scc;
}

const rel = (f) => path.relative(ROOT, f) || '.';

// The folder graph: one node per folder that holds files, an edge where a file imports across.
const folderGraph = new Map();
const via = new Map(); // "a\0b" → the first file import that makes folder a import folder b
for (const [f, deps] of graph) {
  const a = path.dirname(f);
  if (!folderGraph.has(a)) folderGraph.set(a, []);
  for (const t of deps) {
    const b = path.dirname(t);
    if (a === b || !graph.has(t)) continue;
    const key = `${a}\0${b}`;
    if (!via.has(key)) {
      via.set(key, `${rel(f)} → ${rel(t)}`);
      folderGraph.get(a).push(b);
    }
  }
}

const cycles = components(graph);
const folderCycles = components(folderGraph);
for (const scc of cycles) {
  process.stderr.write(`check-cycles: import cycle (${scc.length} modules): ${loopIn(graph, scc).map(rel).join(' → ')}\n`);
}
for (const scc of folderCycles) {
  const loop = loopIn(folderGraph, scc);
  const edges = loop.slice(1).map((b, i) => via.get(`${loop[i]}\0${b}`));
  process.stderr.write(`check-cycles: folder cycle (${scc.length} folders): ${loop.map(rel).join(' → ')} (${edges.join('; ')})\n`);
}
if (cycles.length === 0 && folderCycles.length === 0) {
  process.stdout.write(`check-cycles: no import cycles in ${files.length} files, ${folderGraph.size} folders\n`);
} else {
  if (cycles.length > 0) process.stderr.write(`check-cycles: ${cycles.length} cycle(s) in ${files.length} files\n`);
  if (folderCycles.length > 0) process.stderr.write(`check-cycles: ${folderCycles.length} folder cycle(s) in ${folderGraph.size} folders\n`);
  process.exitCode = 1;
}
