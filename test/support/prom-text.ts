/**
 * A small parser for the Prometheus text exposition format (version 0.0.4), enough for tests
 * to assert on specific series: `# HELP`/`# TYPE` lines, samples with labels (escaped \\, \",
 * \n), optional timestamps. Not a validator of the whole format.
 */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  readonly types: Readonly<Record<string, string>>;
  readonly help: Readonly<Record<string, string>>;
  /** The value of the one sample matching name and (a subset of) labels; undefined if none. */
  value(name: string, labels?: Readonly<Record<string, string>>): number | undefined;
  /** Every sample of a metric. */
  series(name: string): Sample[];
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  // Prometheus parses floats like Go's strconv.ParseFloat (case-insensitive NaN); prom-client writes `Nan`.
  if (text.toLowerCase() === 'nan') return NaN;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Error(`bad sample value ${JSON.stringify(text)}`);
  return n;
}

function parseLabels(text: string, lineNo: number): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === ',') i++;
    if (i >= text.length) break;
    const eq = text.indexOf('=', i);
    if (eq === -1 || text[eq + 1] !== '"') throw new Error(`line ${lineNo}: bad label at ${JSON.stringify(text.slice(i))}`);
    const name = text.slice(i, eq).trim();
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        value += next === 'n' ? '\n' : (next ?? '');
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`line ${lineNo}: unterminated label value`);
    labels[name] = value;
    i = j + 1;
  }
  return labels;
}

export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types: Record<string, string> = {};
  const help: Record<string, string> = {};
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const lineNo = index + 1;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^#\s+(HELP|TYPE)\s+(\S+)\s*(.*)$/.exec(line);
      if (m?.[1] === 'TYPE') types[m[2]!] = m[3]!;
      else if (m?.[1] === 'HELP') help[m[2]!] = m[3]!;
      return;
    }
    const brace = line.indexOf('{');
    let name: string;
    let labels: Record<string, string> = {};
    let rest: string;
    if (brace !== -1 && brace < (line.indexOf(' ') === -1 ? Infinity : line.indexOf(' '))) {
      name = line.slice(0, brace);
      const close = line.lastIndexOf('}');
      if (close === -1) throw new Error(`line ${lineNo}: unterminated labels`);
      labels = parseLabels(line.slice(brace + 1, close), lineNo);
      rest = line.slice(close + 1).trim();
    } else {
      const sp = line.indexOf(' ');
      if (sp === -1) throw new Error(`line ${lineNo}: sample without value`);
      name = line.slice(0, sp);
      rest = line.slice(sp + 1).trim();
    }
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`line ${lineNo}: bad metric name ${JSON.stringify(name)}`);
    samples.push({ name, labels, value: parseValue(rest.split(/\s+/)[0] ?? '') });
  });
  const matches = (s: Sample, name: string, labels: Readonly<Record<string, string>>): boolean =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v);
  return {
    samples,
    types,
    help,
    value(name, labels = {}) {
      const found = samples.filter((s) => matches(s, name, labels));
      if (found.length > 1) throw new Error(`${found.length} series of ${name} match ${JSON.stringify(labels)}`);
      return found[0]?.value;
    },
    series: (name) => samples.filter((s) => s.name === name),
  };
}
