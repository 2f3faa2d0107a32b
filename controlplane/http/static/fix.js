// The smallest fix on a Blocked contract: GET /api/v1/contracts/{name}/fix (new
// NetworkPolicies (CiliumNetworkPolicies for a contract of Cilium policies) that admit exactly the would-deny edges, verified by the control plane),
// shown under the contract with the YAML and a copy button. Loaded by app.js, one call per render.

const REFRESH_MS = 5000;
const fixes = new Map(); // contract name -> { key, at, body, pending }

const make = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};

async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // No clipboard permission (plain http, an iframe): fall back to a selected textarea.
    const t = make('textarea');
    t.value = text;
    document.body.append(t);
    t.select();
    const done = document.execCommand('copy');
    t.remove();
    return done;
  }
}

function box(root) {
  let b = root.querySelector('.fix-box');
  if (b) return b;
  b = make('section', 'fix-box');
  b.setAttribute('aria-label', 'smallest fix');
  const head = make('div', 'fix-head');
  head.append(make('h3', '', 'Smallest fix'), make('span', 'fix-message muted'));
  const copy = make('button', 'btn fix-copy', 'Copy YAML');
  copy.type = 'button';
  copy.addEventListener('click', async () => {
    const yaml = b.querySelector('.fix-yaml').textContent;
    copy.textContent = (await copyText(yaml)) ? 'Copied' : 'Copy failed';
    setTimeout(() => { copy.textContent = 'Copy YAML'; }, 2000);
  });
  head.append(copy);
  b.append(head, make('ul', 'fix-edges'), make('pre', 'fix-yaml'));
  const anchor = root.querySelector('.evidence');
  if (anchor) anchor.before(b);
  else root.append(b);
  return b;
}

function fill(b, body) {
  b.querySelector('.fix-message').textContent = body.message ?? '';
  const list = b.querySelector('.fix-edges');
  list.replaceChildren(
    ...(body.edges ?? []).map((e) => make('li', '', `${e.side} ${e.from} → ${e.to}:${e.port}/${e.protocol} (${e.policy})`)),
    ...(body.unfixable ?? []).map((u) => make('li', 'unfixable', `cannot fix ${u.edge}: ${u.reason}`)),
  );
  b.querySelector('.fix-yaml').textContent = body.yaml ?? '';
  b.querySelector('.fix-copy').hidden = !body.yaml;
}

/** Shows (and refreshes) the fix while the contract is Blocked; hides it otherwise. */
export function renderFix(root, c, api) {
  const existing = root.querySelector('.fix-box');
  if (c.phase !== 'Blocked') {
    if (existing) existing.hidden = true;
    return;
  }
  const b = box(root);
  b.hidden = false;
  const key = `${c.revision}|${c.evidence?.deny ?? 0}`;
  let f = fixes.get(c.name);
  if (f && (f.pending || (f.key === key && Date.now() - f.at < REFRESH_MS) || Date.now() - f.at < 1000)) return;
  f = { key, at: Date.now(), body: f?.body ?? null, pending: true };
  fixes.set(c.name, f);
  api(`/api/v1/contracts/${encodeURIComponent(c.name)}/fix`).then(
    (body) => {
      f.pending = false;
      f.body = body;
      fill(b, body);
    },
    (e) => {
      f.pending = false;
      b.querySelector('.fix-message').textContent = `fix unavailable: ${e.message}`;
    },
  );
}
