/** Input the YAML parser accepts as syntax but cannot build a value from: a problem with file:line, never a throw (found by `npm run fuzz`). */
import { describe, expect, it } from 'vitest';
import { parseYamlDocuments } from '../../../io/yaml-documents.js';

describe('parseYamlDocuments', () => {
  it('reports an alias to an undefined anchor at its file and line', () => {
    const r = parseYamlDocuments('a: 1\n---\nspec:\n  x: *nowhere\n', 'c.yaml');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error).toHaveLength(1);
    expect(r.error[0]!.path).toBe('c.yaml:3');
    expect(r.error[0]!.message).toMatch(/^document 2: expected valid YAML or JSON: .*anchor/);
  });

  it('reports an alias bomb instead of expanding it', () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(', ')}]`)].join('\n');
    const r = parseYamlDocuments(bomb, 'bomb.yaml');
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error[0]!.path).toBe('bomb.yaml:1');
  });
});
