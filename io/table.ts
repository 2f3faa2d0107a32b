/** Plain-text tables for the CLI: left-aligned columns, numbers right-aligned, no colours. */
export type Cell = string | number;

export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[], maxWidth: readonly (number | null)[] = []): string {
  const cells = rows.map((r) => r.map((c, i) => clip(String(c), maxWidth[i] ?? null)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number'));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

function clip(text: string, max: number | null): string {
  if (max === null || text.length <= max) return text;
  return `${text.slice(0, Math.max(0, max - 1))}…`;
}
