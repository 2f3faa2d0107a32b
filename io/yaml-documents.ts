/**
 * Reads a YAML or JSON file (JSON is YAML) as its documents, keeping enough of the syntax tree
 * to say on which line any field path of a document sits, so every error names file and line.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isNode, isScalar, isSeq, LineCounter, parseAllDocuments, type Document } from 'yaml';
import { err, ok, type Problem, type Result } from '../core/common/index.js';

export interface YamlDocument {
  /** 1-based position of the document in its file. */
  readonly index: number;
  /** 1-based line where the document's content starts. */
  readonly line: number;
  readonly value: unknown;
  /** The line of the node at a field path (`spec.policies[2].spec`), or of its nearest existing ancestor. */
  lineOf(fieldPath: string): number;
}

/** `spec.ingress[0].ports[1].port` → ['spec', 'ingress', 0, 'ports', 1, 'port']. */
export function splitFieldPath(fieldPath: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const part of fieldPath.split('.')) {
    if (part === '') continue;
    const bracket = part.indexOf('[');
    const name = bracket < 0 ? part : part.slice(0, bracket);
    if (name !== '') out.push(name);
    if (bracket >= 0) {
      for (const m of part.slice(bracket).matchAll(/\[(\d+)\]/g)) out.push(Number(m[1]));
    }
  }
  return out;
}

function documentAt(doc: Document, index: number, lines: LineCounter): YamlDocument {
  const lineAt = (offset: number): number => lines.linePos(offset).line;
  const contents = doc.contents;
  const start = isNode(contents) && contents.range ? contents.range[0] : (doc.range?.[0] ?? 0);
  return {
    index,
    line: lineAt(start),
    value: doc.toJS({ maxAliasCount: 100 }) as unknown,
    lineOf(fieldPath: string): number {
      // Walk the tree: a map entry answers with its key's line (where a person looks for
      // `metadata:`), a list item with its own; a missing segment stops at the nearest ancestor.
      let node: unknown = contents;
      let line = lineAt(start);
      for (const segment of splitFieldPath(fieldPath)) {
        if (isMap(node)) {
          const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === segment);
          if (pair === undefined) break;
          const keyRange = isNode(pair.key) ? pair.key.range : undefined;
          if (keyRange) line = lineAt(keyRange[0]);
          node = pair.value;
        } else if (isSeq(node) && typeof segment === 'number') {
          const item: unknown = node.items[segment];
          if (!isNode(item) || !item.range) break;
          line = lineAt(item.range[0]);
          node = item;
        } else break;
      }
      return line;
    },
  };
}

/**
 * Parses every document of `text`; syntax errors become problems at `file:line`. Empty
 * documents (`---` alone) are dropped.
 */
export function parseYamlDocuments(text: string, file: string): Result<YamlDocument[], Problem[]> {
  const lines = new LineCounter();
  const parsed = parseAllDocuments(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const docs: Document[] = Array.isArray(parsed) ? parsed : [];
  const problems: Problem[] = [];
  // A Helm (Go) template is not YAML until rendered: one line for the file, not one per
  // syntax error its {{ … }} actions cause.
  const action = /\{\{-?\s*[-.$a-zA-Z/(]/.exec(text);
  if (action !== null && docs.some((d) => d.errors.length > 0)) {
    return err([{ path: `${file}:${lines.linePos(action.index).line}`, message: 'looks like an unrendered Helm template: run `helm template` first and pass its output' }]);
  }
  const out: YamlDocument[] = [];
  docs.forEach((doc, i) => {
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const line = e.linePos?.[0].line ?? lines.linePos(e.pos[0]).line;
        problems.push({ path: `${file}:${line}`, message: `document ${i + 1}: expected valid YAML or JSON: ${e.message.split('\n')[0] ?? e.code}` });
      }
      return;
    }
    if (doc.contents === null) return;
    // Syntax can be fine and the value still not buildable: an alias to an anchor defined
    // nowhere (`*a`), or more aliases than the limit. yaml throws for those; they are input errors.
    try {
      out.push(documentAt(doc, i + 1, lines));
    } catch (e) {
      const contents = doc.contents;
      const line = lines.linePos(isNode(contents) && contents.range ? contents.range[0] : (doc.range?.[0] ?? 0)).line;
      problems.push({ path: `${file}:${line}`, message: `document ${i + 1}: expected valid YAML or JSON: ${e instanceof Error ? e.message : String(e)}` });
    }
  });
  return problems.length > 0 ? err(problems) : ok(out);
}

export async function readYamlDocuments(file: string): Promise<Result<YamlDocument[], Problem[]>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return err([{ path: file, message: `cannot read: ${e instanceof Error ? e.message : String(e)}` }]);
  }
  return parseYamlDocuments(text, file);
}
