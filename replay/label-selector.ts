/**
 * Label selectors over Cilium identity labels, as Hubble's `source_label` /
 * `destination_label` filters read them: Kubernetes selector syntax (`a=b`, `a!=b`, `a`,
 * `!a`, `a in (x,y)`, `a notin (x)`, comma = AND), where a key may carry a label source
 * (`k8s:app=web`, `reserved:world`) and a key without one matches any source.
 */
import { err, ok, type Result } from '../core/common/index.js';

interface ParsedLabel {
  readonly source: string;
  readonly key: string;
  readonly value: string;
}

type Requirement =
  | { readonly op: 'exists' | 'absent'; readonly source: string | null; readonly key: string }
  | { readonly op: 'in' | 'notin'; readonly source: string | null; readonly key: string; readonly values: readonly string[] };

export type LabelSelector = (labels: readonly string[]) => boolean;

/** `k8s:app=web` → { source: 'k8s', key: 'app', value: 'web' }; no source means `unspec`. */
export function parseIdentityLabel(label: string): ParsedLabel {
  const colon = label.indexOf(':');
  const eq = label.indexOf('=');
  const hasSource = colon >= 0 && (eq < 0 || colon < eq);
  const source = hasSource ? label.slice(0, colon) : 'unspec';
  const rest = hasSource ? label.slice(colon + 1) : label;
  const e = rest.indexOf('=');
  return e < 0 ? { source, key: rest, value: '' } : { source, key: rest.slice(0, e), value: rest.slice(e + 1) };
}

function splitKey(raw: string): { source: string | null; key: string } {
  const k = raw.trim();
  const colon = k.indexOf(':');
  if (colon < 0) return { source: null, key: k };
  const source = k.slice(0, colon);
  return { source: source === 'any' ? null : source, key: k.slice(colon + 1) };
}

/** Splits on commas that are not inside `( … )`. */
function splitTerms(selector: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      out.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  out.push(selector.slice(start));
  return out.map((t) => t.trim()).filter((t) => t !== '');
}

function parseTerm(term: string): Requirement | string {
  const setMatch = /^(\S+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (setMatch) {
    const [, key, op, list] = setMatch;
    const values = list!.split(',').map((v) => v.trim()).filter((v) => v !== '');
    return { op: op as 'in' | 'notin', ...splitKey(key!), values };
  }
  if (term.startsWith('!')) {
    if (/[=\s]/.test(term.slice(1))) return `bad requirement ${JSON.stringify(term)}`;
    return { op: 'absent', ...splitKey(term.slice(1)) };
  }
  const ne = term.indexOf('!=');
  if (ne > 0) return { op: 'notin', ...splitKey(term.slice(0, ne)), values: [term.slice(ne + 2).trim()] };
  const eq = term.indexOf('=');
  if (eq > 0) {
    const value = term.slice(term.startsWith('==', eq) ? eq + 2 : eq + 1).trim();
    return { op: 'in', ...splitKey(term.slice(0, eq)), values: [value] };
  }
  if (eq === 0) return `bad requirement ${JSON.stringify(term)}`;
  return { op: 'exists', ...splitKey(term) };
}

/** Compiles a selector; an error names what could not be read. */
export function compileLabelSelector(selector: string): Result<LabelSelector, string> {
  const reqs: Requirement[] = [];
  for (const term of splitTerms(selector)) {
    const r = parseTerm(term);
    if (typeof r === 'string') return err(`label selector ${JSON.stringify(selector)}: ${r}`);
    if (r.key === '') return err(`label selector ${JSON.stringify(selector)}: empty key`);
    reqs.push(r);
  }
  return ok((labels) => {
    const parsed = labels.map(parseIdentityLabel);
    return reqs.every((req) => {
      const found = parsed.filter((l) => l.key === req.key && (req.source === null || l.source === req.source));
      switch (req.op) {
        case 'exists':
          return found.length > 0;
        case 'absent':
          return found.length === 0;
        case 'in':
          return found.some((l) => req.values.includes(l.value));
        case 'notin':
          return !found.some((l) => req.values.includes(l.value));
      }
    });
  });
}
