// What a contract newly allows against the baseline (GET /api/v1/contracts/{name}/broadening):
// the edges it opens that the policies already in force deny, with the rules that admit
// them and how broad those are, broadest first. Loaded by app.js, one call per render; shown
// only when the contract opens something.

const REFRESH_MS = 5000;
const MAX_ROWS = 10;
const state = new Map(); // contract name -> { at, pending }

const make = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

function box(root) {
  let b = root.querySelector('.broadening-box');
  if (b) return b;
  b = make('section', 'broadening-box');
  b.setAttribute('aria-label', 'newly allowed');
  b.hidden = true;
  const table = make('table', 'broadening');
  const head = make('tr');
  for (const h of ['newly allowed edge', 'side', 'admitted by', 'breadth', 'count']) head.append(make('th', h === 'count' ? 'num' : '', h));
  table.append(make('thead'), make('tbody'));
  table.tHead.append(head);
  b.append(make('h3', '', 'Newly allowed against the baseline'), table);
  const anchor = root.querySelector('.evidence');
  if (anchor) anchor.before(b);
  else root.append(b);
  return b;
}

function fill(b, body) {
  const items = body.items ?? [];
  b.hidden = items.length === 0;
  b.querySelector('tbody').replaceChildren(
    ...items.slice(0, MAX_ROWS).map((i) => {
      const tr = make('tr', i.breadth.length > 0 ? 'broad' : '');
      tr.append(make('td', '', i.edge), make('td', '', i.side), make('td', '', i.rules.join(', ')), make('td', '', i.breadth.join(', ') || 'narrow'), make('td', 'num', String(i.count)));
      return tr;
    }),
  );
}

/** Refreshes the newly-allowed table of one contract card. */
export function renderBroadening(root, c, api) {
  const b = box(root);
  if (!c.evidence || !(c.evidence.newlyAllowed > 0)) {
    b.hidden = true;
    return;
  }
  const s = state.get(c.name) ?? { at: 0, pending: false };
  state.set(c.name, s);
  if (s.pending || Date.now() - s.at < REFRESH_MS) return;
  s.pending = true;
  s.at = Date.now();
  api(`/api/v1/contracts/${encodeURIComponent(c.name)}/broadening`).then(
    (body) => {
      s.pending = false;
      fill(b, body);
    },
    () => {
      s.pending = false;
    },
  );
}
